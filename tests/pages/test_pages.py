"""Every page under AppTest: the real app and its registered lessons, and the renderer on a sample
lesson (modes, stepping, deep links valid and malformed, widgets moved, a failing demo)."""
import importlib
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lessons import registry
from tests.sample_lesson import LESSON as SAMPLE

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
SAMPLE_APP = str(ROOT / "tests" / "sample_app.py")
TIMEOUT = 30
ENTRIES = registry.entries()
LESSON_PARAMS = [pytest.param(e, id=e.module) for e in ENTRIES] or [
    pytest.param(None, id="none", marks=pytest.mark.skip(reason="no lesson is registered yet"))]


def run(path=APP, query=None, page=None, mode=None):
    at = AppTest.from_file(path, default_timeout=TIMEOUT)
    at.run()
    if page:
        at.switch_page(page)
    if query is not None:
        at.query_params.clear()
        at.query_params.update(query)
    if mode:
        at.sidebar.radio(key="mode").set_value(mode)
    return at.run()


def open_lesson(page, query, timeout=90):
    """The app, switched to a lesson's page script, with `query` as the URL's parameters."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page(page)
    at.query_params.clear()
    at.query_params.update(query)
    return ok(at.run())


def choice(at, key: str):
    """A choice control by key: radio buttons, or a menu where a slide's narrow column has no room."""
    try:
        return at.radio(key=key)
    except KeyError:
        return at.selectbox(key=key)


def press_preset(at, lesson_id: str, step_id: str, j: int):
    """Apply preset `j` of a step as a user would: its button, or on a slide with many presets the
    preset menu (which applies the choice and empties itself)."""
    menu = [s for s in at.selectbox if s.key == f"{lesson_id}.{step_id}.__preset_menu"]
    if menu:
        ok(menu[0].set_value(j).run())
        assert [s for s in at.selectbox if s.key == menu[0].key][0].value is None  # an action, not a setting
        return at
    return ok(at.button(key=f"{lesson_id}.{step_id}.__preset{j}").click().run())


def open_step(page, lesson, step, params):
    """Open `lesson` at `step` (its id, as links carry it; a 1-based number works too) in Present
    mode with `params` in the URL, and check it rendered cleanly: its title, no ignored-link notice,
    no failed demo, a chart if it has a demo."""
    at = open_lesson(page, {"mode": "present", "step": str(step), **params})
    i = next(k for k, s in enumerate(lesson.steps) if s.id == step) if isinstance(step, str) else step - 1
    assert f"{i + 1}. {lesson.steps[i].title}" in texts(at)
    assert not warnings(at), warnings(at)
    assert not demo_errors(at), demo_errors(at)
    if lesson.steps[i].demo is not None:
        assert at.get("vega_lite_chart") or at.get("arrow_vega_lite_chart")
    return at


def demo_errors(at):
    """The renderer's notices for a demo that raised."""
    return [e.value for e in at.error if "could not run" in e.value]


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at):
    return [h.value for h in at.header] + [t.value for t in at.title]


def warnings(at):
    """The notice about a link's bad parameters (a demo's own warnings are not counted)."""
    return [w.value for w in at.warning if w.value.startswith("Ignored in the link")]


# ---------------------------------------------------------------- the real app


def test_home_and_references():
    at = ok(run())
    assert "Deep learning, step by step" in texts(at)
    sidebar = " ".join(str(getattr(c, "value", "")) for c in at.sidebar.children.values())
    assert "PyTorch" in sidebar and ("CPU" in sidebar or "CUDA" in sidebar or "MPS" in sidebar)
    at.switch_page("pages/references.py")
    ok(at.run())
    assert "References" in texts(at)
    assert any("Glorot" in m.value for m in at.markdown)


def test_a_misspelled_course_line_fails_loudly():
    with pytest.raises(registry.CourseError, match="lessons/no_such_lesson.py does not exist"):
        registry.entries(registry.COURSE + (("Extra", "no_such_lesson"),))
    with pytest.raises(registry.CourseError, match="no LESSON"):
        registry.entries((("Extra", "theme"),))  # a module that is not a lesson


def test_every_written_lesson_has_a_page_script():
    for _, module in registry.written():
        lesson_id = importlib.import_module(f"lessons.{module}").LESSON.id
        page = ROOT / registry.page_script(lesson_id)
        assert page.is_file(), f"lessons/{module}.py has no page: add {page.relative_to(ROOT)}"


def test_every_page_file_is_named_after_its_url_and_starts_with_the_first_run_guard():
    # On a server's first run Streamlit resolves the URL against the file names in pages/ (old-style
    # pages): a deep link must find its file there, and that file must hand over to app.py.
    at = ok(run())
    pages = {Path(info["script_path"]).stem: info.get("url_pathname") for info in at._registered_pages.values()}
    assert len(pages) == len(ENTRIES) + 6  # Home, Glossary, Field guide, References, Lecture plans, Presenter view
    for stem, url in pages.items():
        assert url in (stem, ""), (stem, url)  # "" is the default page (Home, served at /)
        assert "started_without_app()" in (ROOT / "pages" / f"{stem}.py").read_text()


def test_a_page_run_without_app_py_hands_over_to_it():
    # What a server's first run does with a deep link: run the page file itself, in old-style mode.
    # (Only a lesson here: under AppTest the page file becomes the entry point, so Home's and
    # References' links would resolve from pages/; tests/e2e checks those on a fresh server.)
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = True
    try:
        title = "Lesson 1: Vanishing gradients"
        at = AppTest.from_file(str(ROOT / "pages" / "vanishing_gradients.py"), default_timeout=TIMEOUT)
        ok(at.run())
        assert PagesManager.uses_pages_directory is False  # app.py's st.navigation took over
        assert title in texts(at)
        assert texts(at).count(title) == 1  # rendered once, by app.py's navigation
    finally:
        PagesManager.uses_pages_directory = False


def test_unknown_params_on_plain_page_give_one_notice():
    at = ok(run(query={"mode": "loud", "step": "3"}))
    assert len(warnings(at)) == 1
    assert "mode='loud'" in warnings(at)[0] and "step=" in warnings(at)[0]
    assert at.query_params == {}


@pytest.mark.parametrize("entry", LESSON_PARAMS)
@pytest.mark.parametrize("mode", ["Self-paced", "Present"])
def test_registered_lesson_renders(entry, mode):
    at = ok(run(page=entry.page, mode=mode))
    first = f"1. {entry.lesson.steps[0].title}"
    assert first in texts(at)


@pytest.mark.parametrize("entry", LESSON_PARAMS)
def test_registered_lesson_present_steps_forward_and_back(entry):
    steps = entry.lesson.steps
    at = ok(run(page=entry.page, query={"mode": "present"}))
    for i in range(1, len(steps)):
        ok(at.button(key=f"{entry.lesson.id}.__next_top").click().run())
        assert [h.value for h in at.header][:1] == [f"{i + 1}. {steps[i].title}"]
        assert at.query_params["step"] == steps[i].id  # links name steps by id
    if len(steps) > 1:
        ok(at.button(key=f"{entry.lesson.id}.__prev_top").click().run())
        assert f"{len(steps) - 1}. {steps[-2].title}" in texts(at)


@pytest.mark.parametrize("entry", LESSON_PARAMS)
def test_registered_lesson_deep_links(entry):
    lesson, n = entry.lesson, len(entry.lesson.steps)
    at = ok(run(page=entry.page, query={"mode": "present", "step": str(n)}))
    assert f"{n}. {lesson.steps[-1].title}" in texts(at) and not warnings(at)
    for bad in ("x", "0", str(n + 1)):
        at = ok(run(page=entry.page, query={"mode": "present", "step": bad}))
        assert f"1. {lesson.steps[0].title}" in texts(at) and len(warnings(at)) == 1
    for i, step in enumerate(lesson.steps):
        for c in step.controls[:2]:  # malformed values fall back to the (precomputed) defaults
            at = ok(run(page=entry.page, query={"mode": "present", "step": str(i + 1), c.name: "not-a-value"}))
            assert f"{i + 1}. {step.title}" in texts(at)
            assert len(warnings(at)) == 1 and c.name in warnings(at)[0]


# ---------------------------------------------------------------- the renderer, on the sample lesson


def title(i):
    return f"{i}. {SAMPLE.steps[i - 1].title}"


def test_self_paced_shows_every_step_and_survives_a_failing_demo():
    at = ok(run(SAMPLE_APP))
    # step 1 has no demo: the page opens on to the first step that has one (step 2), drawn
    assert [title(i) for i in (1, 2)] == [h.value for h in at.header]
    assert len(at.get("vega_lite_chart")) == 1 and not at.error
    ok(at.toggle(key="sample_lesson.__every_demo").set_value(True).run())
    assert [title(i) for i in (1, 2, 3)] == [h.value for h in at.header]
    assert any("could not run (RuntimeError" in e.value for e in at.error)
    assert len(at.get("vega_lite_chart")) == 1
    assert [m.label for m in at.metric] == ["Points", "Gain"]
    assert at.query_params == {}


def test_present_mode_steps_forward_and_back():
    at = ok(run(SAMPLE_APP, mode="Present"))
    assert [h.value for h in at.header] == [title(1)]
    assert at.query_params == {"mode": "present", "step": "intro"}
    ok(at.button(key="sample_lesson.__next_top").click().run())
    assert [h.value for h in at.header] == [title(2)]
    assert at.query_params["step"] == "curve"
    ok(at.button(key="sample_lesson.__next_top").click().run())
    assert [h.value for h in at.header] == [title(3)]
    assert at.button(key="sample_lesson.__next_top").disabled
    ok(at.button(key="sample_lesson.__prev_top").click().run())
    assert [h.value for h in at.header] == [title(2)]
    ok(at.selectbox(key="sample_lesson.__picker").set_value(0).run())
    assert [h.value for h in at.header] == [title(1)]
    ok(at.sidebar.radio(key="mode").set_value("Self-paced").run())  # on step 1: drawn on to the first demo
    assert len(at.header) == 2 and "mode" not in at.query_params


@pytest.mark.parametrize("query, step, notice", [
    ({"mode": "present", "step": "2"}, 2, None),
    ({"mode": "present", "step": " 3 "}, 3, None),
    ({"mode": "present", "step": "abc"}, 1, "step='abc'"),
    ({"mode": "present", "step": "0"}, 1, "step='0'"),
    ({"mode": "present", "step": "99"}, 1, "step='99'"),
    ({"mode": "present", "step": "2.5"}, 1, "step='2.5'"),
    ({"mode": "PRESENT", "step": "2"}, 2, None),
    ({"mode": "present", "step": "2", "points": "7", "activation": "tanh", "log": "1"}, 2, None),
    ({"mode": "present", "step": "2", "points": "many"}, 2, "points='many'"),
    ({"mode": "present", "step": "2", "points": "500"}, 2, "points='500'"),
    ({"mode": "present", "step": "2", "points": "3.5"}, 2, "points='3.5'"),
    ({"mode": "present", "step": "2", "activation": "swish"}, 2, "activation='swish'"),
    ({"mode": "present", "step": "2", "lr": "0.5"}, 2, "lr='0.5'"),
    ({"mode": "present", "step": "2", "log": "maybe"}, 2, "log='maybe'"),
    ({"mode": "present", "step": "2", "bogus": "1"}, 2, "bogus="),
    ({"mode": "present", "step": "1", "points": "7"}, 1, "points="),
])
def test_present_deep_links(query, step, notice):
    at = ok(run(SAMPLE_APP, query=query))
    assert [h.value for h in at.header] == [title(step)]
    if notice:
        assert len(warnings(at)) == 1 and notice in warnings(at)[0]
    else:
        assert not warnings(at)
    assert at.query_params.get("step") == SAMPLE.steps[step - 1].id  # links name steps by id


def test_deep_link_sets_controls_and_the_url_keeps_them():
    at = ok(run(SAMPLE_APP, query={"mode": "present", "step": "2", "points": "7", "activation": "tanh",
                                   "lr": "0.1", "log": "true"}))
    assert at.slider(key="sample_lesson.curve.points").value == 7
    assert choice(at, "sample_lesson.curve.activation").value == "tanh"
    assert at.select_slider(key="sample_lesson.curve.lr").value == 0.1
    assert at.toggle(key="sample_lesson.curve.log").value is True
    assert at.metric[0].value == "7"
    assert at.query_params == {"mode": "present", "step": "curve", "points": "7", "activation": "tanh",
                               "lr": "0.1", "log": "1"}
    # a later run with the URL we wrote is not a new link: no notice, same view
    ok(at.run())
    assert not warnings(at) and at.slider(key="sample_lesson.curve.points").value == 7


def test_bad_mode_falls_back_to_self_paced():
    at = ok(run(SAMPLE_APP, query={"mode": "loud", "step": "2"}))  # Self-paced, drawn on to the linked step
    assert len(at.header) == 2 and len(warnings(at)) == 1 and "mode='loud'" in warnings(at)[0]
    assert at.query_params == {"step": "curve"}


def test_moving_controls_updates_url_and_output():
    at = ok(run(SAMPLE_APP))
    ok(at.slider(key="sample_lesson.curve.points").set_value(9).run())
    assert at.metric[0].value == "9"
    assert at.query_params == {"step": "curve", "points": "9"}
    ok(at.slider(key="sample_lesson.curve.points").set_value(5).run())
    assert at.query_params == {"step": "curve"}
    ok(at.button(key="sample_lesson.curve.__preset0").click().run())
    assert choice(at, "sample_lesson.curve.activation").value == "tanh"
    assert at.query_params == {"step": "curve", "gain": "1.8", "activation": "tanh"}


def test_values_survive_stepping_in_present_mode():
    at = ok(run(SAMPLE_APP, query={"mode": "present", "step": "2"}))
    ok(at.slider(key="sample_lesson.curve.points").set_value(12).run())
    ok(at.button(key="sample_lesson.__next_top").click().run())
    ok(at.button(key="sample_lesson.__prev_top").click().run())
    assert at.slider(key="sample_lesson.curve.points").value == 12
    assert at.query_params["points"] == "12"


def test_check_question_feedback():
    at = ok(run(SAMPLE_APP, query={"mode": "present", "step": "1"}))
    q = at.radio(key="sample_lesson.intro.__check0")
    ok(q.set_value(1).run())
    assert any("Not quite" in e.value for e in at.error)
    ok(at.radio(key="sample_lesson.intro.__check0").set_value(0).run())
    assert any("Right" in s.value for s in at.success)


def test_progress_counts_done_steps():
    at = ok(run(SAMPLE_APP))
    ok(at.checkbox(key="sample_lesson.intro.__done").check().run())
    assert "1 of 3 steps done" in str(at.get("progress")[0].proto)


def test_notes_and_explanations_quote_the_claims_measured_over_seeds():
    at = ok(run(SAMPLE_APP, query={"mode": "present", "step": "1"}))
    notes = " ".join(m.value for m in at.markdown)
    assert "lowered the loss in 10 of 10 seeds (by 0." in notes and "{faster" not in notes
    ok(at.radio(key="sample_lesson.intro.__check0").set_value(1).run())
    assert any("and 10 of 10 seeds agree" in e.value for e in at.error)


def test_a_claim_that_cannot_be_measured_leaves_a_warning_not_a_traceback(monkeypatch):
    import lessons.claims

    def boom(*a, **k):
        raise RuntimeError("no runs today")

    monkeypatch.setattr(lessons.claims, "measure", boom)
    st.cache_resource.clear()  # an earlier test may have measured it already
    at = ok(run(SAMPLE_APP, query={"mode": "present", "step": "1"}))
    assert any("could not be made" in w.value for w in at.warning)


@pytest.mark.parametrize("raw, step", [("curve", 2), (" broken ", 3), ("2", 2), ("intro", 1)])
def test_steps_are_linked_by_id_and_old_numeric_links_still_work(raw, step):
    at = ok(run(SAMPLE_APP, query={"mode": "present", "step": raw}))
    assert [h.value for h in at.header] == [title(step)] and not warnings(at)
    assert at.query_params["step"] == SAMPLE.steps[step - 1].id


def test_a_repeated_key_in_a_link_is_reported_not_resolved_silently():
    at = AppTest.from_file(SAMPLE_APP, default_timeout=30)
    at.query_params["mode"] = "present"
    at.query_params["step"] = ["intro", "curve"]
    ok(at.run())
    (w,) = warnings(at)
    assert "step= is given 2 times: only the last (curve) is read" in w


def test_link_text_is_shown_literally_not_as_markdown():
    at = ok(run(SAMPLE_APP, query={"mode": "present", "step": "**bold** $x$ :red[hi]"}))
    (w,) = warnings(at)
    assert "`step='**bold** $x$ :red[hi]'" in w  # inside a code span: no Markdown, LaTeX or colour


def popovers(node, found=None) -> dict:
    """The popovers under `node`, by label (AppTest has no popover type of its own)."""
    found = {} if found is None else found
    for child in getattr(node, "children", {}).values():
        if getattr(child, "type", "") == "popover":
            found[child.proto.popover.label] = child
        popovers(child, found)
    return found


def test_present_mode_is_a_slide_with_speaker_notes_and_keys():
    at = ok(run(SAMPLE_APP, query={"mode": "present", "step": "curve"}))
    # the slide keeps its words and demo; what to notice and the check wait for the presenter in
    # popovers that open over the slide, and the notes (from the Markdown) are one click away
    pops = popovers(at.main)
    assert list(pops) == ["Details", "Notice", "Check", "Notes"]
    step = SAMPLE.step("curve")
    assert step.notes in [m.value for m in pops["Notes"].markdown]
    assert step.notice in [m.value for m in pops["Notice"].markdown]
    assert len(pops["Check"].radio) == len(step.checks())
    assert not at.main.expander  # nothing on the slide grows when the presenter opens it
    assert step.slide in [m.value for m in at.markdown] and step.slide != step.notes
    keys = {b.key: b.proto.shortcut for b in at.button if b.proto.shortcut}
    assert keys == {"sample_lesson.__prev_top": "left", "sample_lesson.__next_top": "right"}
    # a clicker's PageDown / Space / PageUp: one listener that presses these buttons (the browser tests press them)
    scripts = [e.proto.body for e in at.get("html") if e.proto.unsafe_allow_javascript]
    assert sum('PageDown: "next", " ": "next", PageUp: "prev"' in b for b in scripts) == 1


@pytest.mark.parametrize("title, label", [
    ("Gradient per layer", "Gradient per layer"),  # short titles stay whole
    ("Weight norm, 10 data sets", "Weight norm, 10 data sets"),
    ("How far each fit moves, 3 outliers and none", "How far each fit moves"),  # the part before the comma
    ("Fitting q to 100 rolls by maximum likelihood", "Fitting q to 100 rolls"),  # whole words, no dangling "by"
    ("Seed 0: every configuration tried on the grid", "Seed 0: every configuration"),
    ("Supercalifragilisticexpialidociousandmore", "Supercalifragilisticexpialidoc"),
])
def test_tab_names_are_whole_words(title, label):
    """A slide's tab is named by its charts' titles cut at whole words, never mid-word with "…"."""
    shared = importlib.import_module("pages._shared")
    assert shared._short_title(title) == label
    assert len(label) <= 30 and "…" not in label


def _headers(at) -> list[str]:
    return [h.value for h in at.header]


def test_self_paced_draws_later_demos_when_asked():
    """A Self-paced page draws its first step's demo at once and the rest when the reader presses a
    step's "Run this step's demo" (only that step reruns), or all at once with "Draw every step and demo now"."""
    shared = importlib.import_module("pages._shared")
    entry = registry.entries()[2]  # losses: every step after the first has a demo
    lesson = entry.lesson
    at = open_lesson(entry.page, {})
    first = len(at.get("vega_lite_chart"))
    later = [i for i, s in enumerate(lesson.steps) if s.demo is not None][shared.EAGER_DEMOS:]
    reach = max(shared.EAGER_STEPS, later[0] + 1)
    for _ in range(reach - shared.EAGER_STEPS):  # Continue draws the next step, not its demo
        ok(at.button(key=f"{lesson.id}.__read_on").click().run())
    assert len(_headers(at)) == reach and len(at.get("vega_lite_chart")) == first
    drawn = [i for i in later if i < reach]
    assert first > 0 and drawn
    buttons = {b.key for b in at.button}
    assert {f"{shared._shown_key(lesson, i)}.button" for i in drawn} <= buttons
    at.button(key=f"{shared._shown_key(lesson, drawn[0])}.button").click()
    ok(at.run())
    one_more = len(at.get("vega_lite_chart"))
    assert one_more > first
    assert f"{shared._shown_key(lesson, drawn[0])}.button" not in {b.key for b in at.button}
    at.toggle(key=f"{lesson.id}.__every_demo").set_value(True)
    ok(at.run())
    assert len(at.get("vega_lite_chart")) > one_more
    assert not any(b.key and b.key.endswith("__shown.button") for b in at.button)
    assert len(_headers(at)) == len(lesson.steps)
    at.toggle(key=f"{lesson.id}.__every_demo").set_value(False)  # off again: the steps reached, at once
    ok(at.run())
    assert len(_headers(at)) == reach


def test_self_paced_draws_each_step_as_the_reader_gets_to_it():
    """The first EAGER_STEPS steps are drawn at once; the rest are listed, and appear one by one as the
    reader ticks the step before or presses Continue, all at once with "Show the remaining steps", and
    up to the step a link opens."""
    shared = importlib.import_module("pages._shared")
    entry = registry.entries()[3]  # optimizers: 12 steps
    lesson, k = entry.lesson, shared.EAGER_STEPS
    n = len(lesson.steps)
    assert n > k + 2
    at = open_lesson(entry.page, {})
    assert _headers(at) == [f"{i + 1}. {s.title}" for i, s in enumerate(lesson.steps[:k])]
    ahead = " ".join(c.value for c in at.caption)
    assert all(f"{i + 1}. {s.title}" in ahead for i, s in enumerate(lesson.steps) if i >= k)
    contents = at.expander[0].markdown[0].value
    assert f"(#step-{k})" in contents and f"(#step-{k + 1})" not in contents
    ok(at.button(key=f"{lesson.id}.__read_on").click().run())
    assert len(_headers(at)) == k + 1
    ok(at.checkbox(key=f"{lesson.id}.{lesson.steps[k].id}.__done").check().run())  # ticking the last drawn step
    assert len(_headers(at)) == k + 2
    ok(at.checkbox(key=f"{lesson.id}.{lesson.steps[k].id}.__done").uncheck().run())  # what is drawn stays
    assert len(_headers(at)) == k + 2
    ok(at.button(key=f"{lesson.id}.__read_all").click().run())
    assert len(_headers(at)) == n
    assert not any("Still ahead" in c.value for c in at.caption)
    assert f"{lesson.id}.__read_on" not in {b.key for b in at.button}
    linked = open_lesson(entry.page, {"step": lesson.steps[n - 2].id})
    assert len(_headers(linked)) == n - 1
