"""Rooms: a class follows the presenter's slide. The store alone (codes, tokens, versions, expiry,
who is connected), then real sessions under AppTest: a presenter opens a room, a student joins by
link, follows a step change and a control change, breaks away and rejoins; a wrong or expired code
gets a message; the presenter view shows the notes. AppTest sessions of one process share
`st.cache_resource`, as the browser sessions of one server do."""
import pytest
from streamlit.testing.v1 import AppTest

from lessons.vanishing import LESSON
from pages import _rooms
from pages import _shared as ui
from tests.pages.test_pages import APP, ok

PAGE = "pages/vanishing_gradients.py"


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_codes_are_short_unambiguous_and_read_leniently():
    store = _rooms.RoomStore()
    codes = {store.open().code for _ in range(50)}
    assert len(codes) == 50 and all(len(c) == 5 and set(c) <= set(_rooms.ALPHABET) for c in codes)
    assert not set("01IO") & set("".join(codes))
    code = next(iter(codes))
    assert _rooms.normalise(f" {code[:2].lower()}-{code[2:]} ") == code
    for bad in ("", "ABC", "ABCDEF", "AB0CD", "**a**", "<b>x</b>", "A" * 10_000, None, 12345):
        assert _rooms.normalise(bad) is None


def test_only_the_presenter_moves_the_room_and_versions_count_changes():
    store = _rooms.RoomStore()
    room = store.open()
    assert store.publish(room.code, room.token, "vanishing_gradients", 1, {"depth": 8})
    assert room.version == 1
    assert store.publish(room.code, room.token, "vanishing_gradients", 1, {"depth": 8}) and room.version == 1
    assert not store.publish(room.code, "a follower's guess", "losses", 3, {})
    assert (room.lesson, room.step, room.values, room.version) == ("vanishing_gradients", 1, {"depth": 8}, 1)
    assert store.get(room.code).view() == {"code": room.code, "lesson": "vanishing_gradients", "step": 1,
                                           "values": {"depth": 8}, "version": 1}
    assert not store.close(room.code, "guess") and store.close(room.code, room.token)
    assert store.get(room.code) is None


def test_rooms_expire_when_idle_and_followers_time_out():
    clock = Clock()
    store = _rooms.RoomStore(clock=clock)
    room = store.open()
    store.seen(room.code, "a")
    store.seen(room.code, "b")
    assert store.connected(room.code) == 2
    clock.t += _rooms.FOLLOWER_SECONDS + 1
    store.seen(room.code, "b")
    assert store.connected(room.code) == 1
    clock.t += _rooms.IDLE_HOURS * 3600 - 10
    assert store.publish(room.code, room.token, "losses", 0, {})  # touching keeps it open
    clock.t += _rooms.IDLE_HOURS * 3600 + 1
    assert store.get(room.code) is None and len(store) == 0


def _presenter():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE)
    at.query_params.clear()
    at.query_params.update({"mode": "present", "step": "chain"})
    ok(at.run())
    ok(at.button(key="_room.open").click().run())
    code = at.session_state["_room.code"]
    assert _rooms.normalise(code) == code and at.session_state["_room.token"]
    return at, code


def _follower(code):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"room": code})  # the join link opens Home ...
    ok(at.run())
    ok(at.run())  # ... and the room sends the student to the presenter's lesson and step
    return at


def _step_shown(at) -> str:
    return [h.value for h in at.header][0]


def title(step_id):
    i = [s.id for s in LESSON.steps].index(step_id)
    return f"{i + 1}. {LESSON.step(step_id).title}"


@pytest.fixture(autouse=True)
def fresh_rooms():
    ui.rooms.clear()
    yield
    ui.rooms.clear()


def test_a_class_follows_breaks_away_and_rejoins():
    presenter, code = _presenter()
    student = _follower(code)
    assert _step_shown(student) == title("chain")
    assert student.session_state["mode"] == "Present"
    assert ui.rooms().connected(code) == 1

    ok(presenter.button(key=f"{LESSON.id}.__next_top").click().run())  # the presenter moves on
    ok(student.run())
    assert _step_shown(student) == title("saturation")
    median, worst, n = ui.rooms().follow_times(code)
    assert n >= 1 and 0 <= median <= worst  # the presenter view shows how fast the class follows

    ok(presenter.select_slider(key=f"{LESSON.id}.saturation.scale").set_value(2.0).run())  # a control
    ok(student.run())
    assert student.select_slider(key=f"{LESSON.id}.saturation.scale").value == 2.0
    assert student.query_params["room"] in (code, [code])  # a reload rejoins

    ok(student.button(key="_room.break").click().run())  # the student explores on their own
    ok(student.select_slider(key=f"{LESSON.id}.saturation.scale").set_value(0.1).run())
    assert ui.rooms().get(code).values == {"activation": "sigmoid", "scale": 2.0}  # the room did not move
    ok(presenter.button(key=f"{LESSON.id}.__next_top").click().run())
    ok(student.run())
    assert _step_shown(student) == title("saturation")

    ok(student.button(key="_room.rejoin").click().run())
    ok(student.run())
    assert _step_shown(student) == title("composition")


def test_a_wrong_or_expired_code_says_so_and_the_page_carries_on():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"room": "**bold** [x](http://e.com)"})
    ok(at.run())
    msgs = [w.value for w in at.sidebar.warning]
    assert any("No open room" in m and "`**bold** [x](http://e.com)`" in m for m in msgs), msgs

    presenter, code = _presenter()
    student = _follower(code)
    clock = Clock()
    clock.t = ui.rooms().clock() + _rooms.IDLE_HOURS * 3600 + 5
    ui.rooms().clock = clock
    ok(student.run())
    assert any("No open room" in w.value for w in student.sidebar.warning)
    assert student.session_state["_room.code"] is None
    ok(presenter.run())  # the presenter's room is gone too: they can open a new one
    assert presenter.session_state["_room.code"] is None


def test_the_presenter_view_shows_the_notes_and_the_next_step():
    presenter, code = _presenter()
    ok(presenter.button(key=f"{LESSON.id}.__next_top").click().run())
    view = AppTest.from_file(APP, default_timeout=60)
    view.run()
    view.switch_page("pages/presenter.py")
    view.query_params.update({"room": code})
    ok(view.run())
    md = " ".join(m.value for m in view.markdown)
    assert LESSON.step("saturation").notes[:60] in md
    assert any(LESSON.step("composition").title in c.value for c in view.caption)
    assert "_room.code" not in view.session_state or view.session_state["_room.code"] is None  # not a follower
    assert [m.value for m in view.metric][0] == code
    assert [m.label for m in view.metric][3:] == ["followed in (median)", "slowest"]


def test_a_student_joins_by_typing_the_code():
    presenter, code = _presenter()
    student = AppTest.from_file(APP, default_timeout=60)
    ok(student.run())
    student.sidebar.text_input(key="_room.typed").input(f" {code.lower()} ")
    submit = [b for b in student.sidebar.button if b.key and b.key.startswith("FormSubmitter:_room.join_form")]
    ok(submit[0].click().run())  # the mode switch is already drawn: joining happens in the callback
    ok(student.run())
    assert student.session_state["_room.code"] == code
    assert [h.value for h in student.header][0] == title("chain")


def test_the_presenter_view_page_does_not_loop_for_a_follower():
    presenter, code = _presenter()
    student = _follower(code)
    student.switch_page("pages/presenter.py")
    student.query_params.clear()
    student.query_params.update({"room": code})
    ok(student.run())  # AppTest would time out on a rerun loop
    assert [m.value for m in student.metric][0] == code


def test_a_flood_of_rooms_evicts_the_longest_idle_not_the_server():
    clock = Clock()
    store = _rooms.RoomStore(clock=clock)
    first = store.open()
    store.publish(first.code, first.token, "losses", 0, {})
    for _ in range(_rooms.MAX_ROOMS + 5):
        clock.t += 1
        store.open()
    assert len(store) <= _rooms.MAX_ROOMS and store.get(first.code) is None
    clock.t += _rooms.UNUSED_SECONDS + 1
    assert len(store) == 0  # rooms never presented in go after a quarter of an hour


def test_a_heartbeat_from_a_page_the_follower_left_redraws_the_page_it_is_on():
    drawn = ("hash-of-losses", "losses")
    assert ui.stale_page(drawn, "hash-of-losses") is None  # the usual tick
    assert ui.stale_page(drawn, "hash-of-vanishing") == "pages/losses.py"  # sent before the switch
    assert ui.stale_page(drawn, None) is None  # no script run (bare mode)
    assert ui.stale_page(None, "hash-of-vanishing") is None  # no full run yet
    assert ui.stale_page(("hash-of-home", ""), "hash-of-vanishing") is None  # Home's path is ""


def test_each_full_run_records_the_page_it_drew():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE)
    ok(at.run())
    page_hash, path = at.session_state["_room.drawn"]
    assert path == LESSON.id and page_hash
    assert ui.stale_page(at.session_state["_room.drawn"], page_hash) is None
