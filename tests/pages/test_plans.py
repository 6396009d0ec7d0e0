"""Lecture plans: the plan codec and its validation of untrusted plans, then a round trip under
AppTest: slides added from Present mode, the plan's link, and a fresh session that opens the link
and walks the plan across lessons with the keys' buttons."""
import json

from streamlit.testing.v1 import AppTest

from lessons import registry
from lessons.losses import LESSON as LOSSES
from lessons.vanishing import LESSON as VANISHING
from pages import _plan_codec as _plans
from tests.pages.test_pages import APP, ok

LESSONS = [e.lesson for e in registry.entries()]
PLAN = {"title": "Gradients, then losses", "items": [
    {"lesson": VANISHING.id, "step": "chain", "values": {"depth": 8}},
    {"lesson": LOSSES.id, "step": LOSSES.steps[0].id, "values": {}},
    {"lesson": VANISHING.id, "step": "composition", "values": {"k": 5}}]}


def test_a_plan_survives_its_link():
    code = _plans.encode(PLAN)
    assert _plans.decode(code) == PLAN
    assert len(code) < 200 and code.replace("-", "").replace("_", "").isalnum()


def test_untrusted_plans_are_cleaned_not_trusted():
    for bad in ("", "not base64 !!", "A" * 30_000, _plans.encode({"x": 1})[:-3]):
        try:
            plan, problems = _plans.validate(_plans.decode(bad), LESSONS)
        except ValueError:
            continue
        assert plan["items"] == [] and problems
    messy = {"title": "<b>x</b>" * 50, "items": [
        {"lesson": "nope", "step": "chain"}, {"lesson": VANISHING.id, "step": "nope"}, "a string",
        {"lesson": VANISHING.id, "step": "chain", "values": {"depth": 1e9, "weight": "2.5", "zz": 3}}]}
    plan, problems = _plans.validate(messy, LESSONS)
    assert plan["items"] == [{"lesson": VANISHING.id, "step": "chain", "values": {"weight": 2.5}}]
    assert len(problems) == 4 and len(plan["title"]) == 120
    plan, problems = _plans.validate({"items": [PLAN["items"][0]] * 500}, LESSONS)
    assert len(plan["items"]) == _plans.MAX_ITEMS and problems


def test_every_lesson_ships_its_walkthrough_as_a_plan():
    plans = _plans.default_plans(LESSONS)
    assert set(plans) == {lesson.id for lesson in LESSONS}
    for lesson in LESSONS:
        assert [i["step"] for i in plans[lesson.id]["items"]] == [s.id for s in lesson.steps]
        assert _plans.validate(plans[lesson.id], LESSONS) == (plans[lesson.id], [])


def _title(lesson, step_id):
    i = [s.id for s in lesson.steps].index(step_id)
    return f"{i + 1}. {lesson.step(step_id).title}"


def test_a_plan_round_trip_build_link_open_walk():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/vanishing_gradients.py")
    at.query_params.update({"mode": "present", "step": "chain", "depth": "8"})
    ok(at.run())
    ok(at.sidebar.button(key="_plan.add").click().run())
    ok(at.button(key=f"{VANISHING.id}.__next_top").click().run())
    ok(at.sidebar.button(key="_plan.add").click().run())
    assert at.session_state["_plan.draft"]["items"] == [
        {"lesson": VANISHING.id, "step": "chain", "values": {"depth": 8}},
        {"lesson": VANISHING.id, "step": "saturation", "values": {}}]
    at.switch_page("pages/plans.py")
    ok(at.run())
    link = [c.value for c in at.code if "plan=" in c.value][0]
    built = _plans.decode(link.split("plan=", 1)[1])
    assert [i["step"] for i in built["items"]] == ["chain", "saturation"]

    student = AppTest.from_file(APP, default_timeout=60)  # another session opens a cross-lesson plan
    student.query_params.update({"plan": _plans.encode(PLAN)})
    ok(student.run())
    ok(student.run())
    assert [h.value for h in student.header][0] == _title(VANISHING, "chain")
    assert student.slider(key=f"{VANISHING.id}.chain.depth").value == 8
    ok(student.button(key=f"{VANISHING.id}.__next_top").click().run())  # across to Lesson 3
    ok(student.run())
    assert [h.value for h in student.header][0] == _title(LOSSES, LOSSES.steps[0].id)
    assert student.query_params["at"] in ("2", ["2"])
    ok(student.button(key=f"{LOSSES.id}.__next_top").click().run())  # and back to Lesson 1
    ok(student.run())
    assert [h.value for h in student.header][0] == _title(VANISHING, "composition")
    assert student.slider(key=f"{VANISHING.id}.composition.k").value == 5
    assert student.button(key=f"{VANISHING.id}.__next_top").disabled  # the plan's last slide
    json.dumps(student.session_state["_plan"])  # plain data


def test_hostile_plan_links_and_files_give_a_notice_not_a_traceback():
    import base64
    import zlib

    nested = base64.urlsafe_b64encode(zlib.compress(b"[" * 200_000, 9)).decode().rstrip("=")
    huge = base64.urlsafe_b64encode(zlib.compress(json.dumps({"items": [1] * 2_000_000}).encode(), 9)).decode()
    for code in (nested, huge[:19_000]):
        try:
            _plans.decode(code)
            raise AssertionError("decoded a hostile plan")
        except ValueError:
            pass
    for raw in (b"[" * 200_000, b"\xff\xfe", b"{}" * 300_000):
        try:
            _plans.loads(raw)
            raise AssertionError("loaded a hostile file")
        except ValueError:
            pass
    odd = {"title": "\ud800<b>\x07", "items": [PLAN["items"][0]]}
    clean, _ = _plans.validate(odd, LESSONS)
    assert _plans.decode(_plans.encode(clean))["title"] == "?<b>"
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"plan": nested, "at": "²"})
    ok(at.run())
    assert any("plan" in w.value for w in at.warning)


def test_the_plans_page_presents_a_ready_made_plan():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/plans.py")
    ok(at.run())
    # a callback, then the lesson's first slide (no second run: AppTest would go back to the page it was told)
    ok(at.button(key=f"_plan.open.{LOSSES.id}").click().run())
    assert at.session_state["mode"] == "Present"
    assert [h.value for h in at.header][0] == _title(LOSSES, LOSSES.steps[0].id)
