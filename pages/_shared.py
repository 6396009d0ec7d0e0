"""Shared UI for every page: sidebar, mode switch, deep links and the lesson walkthrough renderer.

Not a page itself: app.py lists its pages explicitly. The renderer turns a `lessons.walkthrough`
Lesson into Streamlit calls in one of two modes:

- Self-paced: all steps on one scrolling page, with a progress bar and a contents list.
- Present: one step at a time as a slide (key equation, demo, what to notice; the narrative and the
  full derivation in speaker notes), previous / next buttons answering the arrow keys, PageUp /
  PageDown and Space (a presenter's clicker), and a step picker.

Deep links. The URL carries `mode=present`, `step=<step id>` (a 1-based number works too) and the
non-default control values of that step (`?step=chain&depth=8`). A URL that differs from the one
this session last wrote came from outside (a pasted link, a bookmark, the back button) and is
applied once, validated by
`Control.parse`; everything it got wrong is listed in one short notice and replaced by defaults.
After that the widgets lead and the URL follows, so the address bar is always a link that
reproduces the view.

Demos run through `st.cache_resource` keyed on (lesson id, step id, sorted control values); the
progress callback is left out of the key and, for heavy steps, drives an `st.progress` bar.
"""
from __future__ import annotations

import contextvars
import functools
import itertools
import re
import runpy
import time
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx

from engine.device import device_info
from lessons import (
    registry,
    theme,  # noqa: F401 - registers and enables the course's Altair theme
)
from lessons.walkthrough import (
    Chart,
    Code,
    Columns,
    Latex,
    Lesson,
    Markdown,
    Metric,
    Note,
    Table,
    flatten,
    no_progress,
)
from lessons.words import interface
from pages import _equations as equations
from pages import _flights, _rooms, _specs
from pages import _plan_codec as _plans

APP = Path(__file__).resolve().parent.parent / "app.py"
MODES = ("Self-paced", "Present")
MODE_KEY = "mode"
_LAST_URL = "_ui.last_url"  # the query parameters this session wrote last
_URL_IS_NEW = "_ui.url_is_new"  # this run's URL came from outside: apply it
_NOTICES = "_ui.notices"  # what this run's URL got wrong
_KEPT = "_ui.kept"  # widget values that outlive their widget (Present mode shows one step)
DEMO_CACHE_ENTRIES = 64

# Both modes, on a phone: content wider than the screen scrolls inside its own box, with a scrollbar
# that shows (the cue), instead of running off the page's right edge.
NARROW_CSS = """<style>
@media (max-width: 640px) {
  [data-testid="stVegaLiteChart"], [data-testid="stFullScreenFrame"], [data-testid="stHorizontalBlock"],
  .katex-display, [data-testid="stCode"] pre {
    overflow-x: auto !important; overflow-y: hidden; max-width: 100%;
    scrollbar-width: thin; scrollbar-color: #888888 #EEEEEE;}
  [data-testid="stMain"] {overflow-x: hidden;}  /* KaTeX's hidden MathML copy must not widen the page */
  /* a display equation: room below for its fractions (a Markdown block's negative bottom margin would let
     its column clip them), and a shadow at an edge while more of it lies beyond (the scroll cue on phones,
     whose scrollbars show only while scrolling) */
  .katex-display {margin-bottom: 1.1rem !important; padding: 0.2rem 0 0.6rem 0 !important;}
  [data-testid="stMarkdownContainer"] table {display: block; overflow-x: auto; max-width: 100%;}
}
/* on every screen: a chart drawn at its own size (a square map) wider than its column scrolls inside
   its box instead of spilling over its neighbour; a shadow marks the edge of a box that scrolls */
[class*="st-key-square-"] [data-testid="stVegaLiteChart"] {overflow-x: auto; overflow-y: hidden; max-width: 100%;}
/* a metric's value wraps instead of ending in "…" ("10 of 10 se…" in a narrow column) */
[data-testid="stMetricValue"] div {white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important;}
/* tab names that do not fit one line wrap to a second line, whole, instead of hiding behind an arrow */
[data-testid="stTabs"] [role="tablist"] {flex-wrap: wrap; overflow: visible;}
.katex-display, [data-testid="stVegaLiteChart"], [data-testid="stMarkdownContainer"] table {
  background: linear-gradient(to right, white 55%, rgba(255,255,255,0)) left / 24px 100% no-repeat local,
    linear-gradient(to left, white 55%, rgba(255,255,255,0)) right / 24px 100% no-repeat local,
    radial-gradient(farthest-side at 0 50%, rgba(0,0,0,.3), transparent) left / 12px 100% no-repeat scroll,
    radial-gradient(farthest-side at 100% 50%, rgba(0,0,0,.3), transparent) right / 12px 100% no-repeat scroll;}
</style>"""

PRESENT_CSS = """<style>
[data-testid="stMainBlockContainer"] {max-width: 1500px; padding-top: 3.8rem;}
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] li {font-size: 1.3rem; line-height: 1.5;}
[data-testid="stMainBlockContainer"] h1 {font-size: 1.35rem; padding: 0; color: #555555;}
[data-testid="stMainBlockContainer"] h2 {font-size: 2.0rem; padding: 0.2rem 0 0.4rem 0;}
[data-testid="stMainBlockContainer"] [data-testid="stWidgetLabel"] p {font-size: 1.15rem !important;}
[data-testid="stMainBlockContainer"] .katex {font-size: 1.1em;}
[data-testid="stMainBlockContainer"] .katex-display .katex {font-size: 1.6em;}
[data-testid="stMainBlockContainer"] .katex-display {overflow-x: auto; overflow-y: hidden; padding-bottom: 0.3rem;}
[data-testid="stMainBlockContainer"] [data-testid="stMetricValue"] {font-size: 2.6rem;}
</style>"""




def T(name: str, **values) -> str:  # noqa: N802 - the interface's words (lessons/text/<lang>/interface.md)
    return interface().text(f"interface.{name}", **values)


# ---------------------------------------------------------------- session helpers


def _kept() -> dict:
    return st.session_state.setdefault(_KEPT, {})


def _keep(key: str, default) -> None:
    """Before a widget is drawn: give it its remembered value (or the default)."""
    if key not in st.session_state:
        st.session_state[key] = _kept().get(key, default)


def _set(key: str, value) -> None:
    """Set a widget's value from code (a deep link or a preset) before it is drawn."""
    _kept()[key] = value
    st.session_state[key] = value


def notice(text: str) -> None:
    st.session_state.setdefault(_NOTICES, []).append(text)


def plain(text: str, limit: int = 120) -> str:
    """Untrusted text (from a URL) as a Markdown code span: shown literally, never as Markdown,
    LaTeX, emoji codes or HTML."""
    text = " ".join(str(text).split())[:limit]  # no newlines: a blank line would end the span
    run, longest = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def show_notices() -> None:
    items = st.session_state.get(_NOTICES) or []
    if items:
        st.warning(T("ignored_in_link", items="; ".join(plain(i) for i in items)), icon=":material/link_off:")
    st.session_state[_NOTICES] = []


def mode() -> str:
    return st.session_state.get(MODE_KEY, MODES[0])


def write_url(params: dict) -> None:
    """Make the address bar show `params` (plus the mode) and remember it as ours."""
    want = ({"mode": "present"} if mode() == "Present" else {}) | params
    if st.session_state.get(_ROOM) and not st.session_state.get(_OWN):
        want["room"] = st.session_state[_ROOM]  # a follower's reload rejoins
    want |= plan_params()  # a reload of a plan's slide goes on with the plan
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)
    st.session_state[_LAST_URL] = want


def _parse_mode(raw: str):
    s = str(raw).strip().lower().replace("_", "-")
    return {"present": "Present", "self-paced": "Self-paced", "selfpaced": "Self-paced",
            "self": "Self-paced"}.get(s)


# ---------------------------------------------------------------- first run of a server


def started_without_app() -> bool:
    """True (after running app.py) if Streamlit ran this page script on its own.

    On a server's first script run, Streamlit still treats a folder called pages/ as old-style
    pages: it resolves the URL against the file names there and runs the matching file directly,
    without app.py's navigation and sidebar (and shows "Page not found" for any other URL). Each
    page file is named after its URL, so a deep link is found, and its first line calls this: app.py
    then runs in its place (its `st.navigation` switches Streamlit to the pages it declares, for
    this and every later run, and renders this same page through them). Call it first and stop
    when it says True.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not PagesManager.uses_pages_directory:
        return False
    runpy.run_path(str(APP), run_name="__main__")
    return True


# ---------------------------------------------------------------- sidebar and plain pages


def sidebar(page: str = "") -> None:
    """Start a run: read the URL, draw the mode switch, the room box and the device badge. Call once
    per run, with the URL path of the page being run (the presenter view never joins as a follower)."""
    st.session_state[_URL_IS_NEW] = st.query_params.to_dict() != st.session_state.get(_LAST_URL)
    st.session_state[_NOTICES] = []
    if st.session_state[_URL_IS_NEW]:  # step=1&step=2: say which one counts, never pick silently
        for k in list(st.query_params.keys()):
            given = st.query_params.get_all(k)
            if len(given) > 1:
                notice(T("repeated_param", param=k, used=given[-1], n=len(given)))
    with st.sidebar:  # every page: wide content scrolls in its own box on a phone
        st.html(NARROW_CSS)
    if st.session_state[_URL_IS_NEW] and "mode" in st.query_params:
        raw = st.query_params["mode"]
        chosen = _parse_mode(raw)
        if chosen is None:
            notice(T("bad_mode", raw=repr(raw)))
        st.session_state[MODE_KEY] = chosen or MODES[0]
    st.session_state.setdefault(MODE_KEY, MODES[0])
    if st.session_state[_URL_IS_NEW] and "plan" in st.query_params:
        _plan_from_url(st.query_params["plan"], st.query_params.get("at"))
    st.session_state[_DRAWN] = (_page_hash(), page)
    if page != "presenter":
        if st.session_state[_URL_IS_NEW] and "room" in st.query_params:
            join(st.query_params["room"])
        _follow()
    if st.session_state.get(_PENDING):  # a room's or a plan's slide is about to be shown (maybe on
        st.session_state[MODE_KEY] = "Present"  # another page, whose run must not fall back to Self-paced)
    with st.sidebar:
        st.radio(T("mode"), MODES, key=MODE_KEY, horizontal=True, help=T("mode_help"),
                 format_func=lambda m: T("mode_present") if m == "Present" else T("mode_self_paced"))
        _room_panel(page)
        info = device_info()
        colour = "green" if info["device"] in ("cuda", "mps") else "gray"
        st.markdown(f":{colour}-badge[:material/memory: {info['device'].upper()}] {info['name']}  \n"
                    f"{T('device_torch', version=info['torch'])}")


def plain_page() -> None:
    """For pages without steps (Home, References): flag unknown parameters, keep only the mode."""
    _apply_room(None)
    if st.session_state.get(_URL_IS_NEW):
        for k in st.query_params:
            if k not in ("mode", "room", "plan", "at"):
                notice(T("unknown_param_page", param=k))
    show_notices()
    keep = st.query_params.get("room")
    write_url({"room": keep} if keep and not st.session_state.get(_ROOM) else {})


# ---------------------------------------------------------------- rooms: a class follows the slide

_ROOM = "_room.code"  # the room this session presents or follows
_OWN = "_room.token"  # set only in the presenter's session: the secret that may change the room
_FOLLOW = "_room.following"  # a follower applies the room's changes (False: broken away)
_SEEN = "_room.version"  # the room version this follower shows
_PENDING = "_room.pending"  # a room view to apply before the widgets are drawn
_ME = "_room.me"  # this follower's id, for the presenter's count
_ROOM_ERR = "_room.error"  # a code that named no open room, shown once
_DRAWN = "_room.drawn"  # (script hash, URL path) of the page this session's last full run drew


@st.cache_resource
def rooms() -> _rooms.RoomStore:
    """Every room of this server (one store shared by all sessions)."""
    return _rooms.RoomStore()


def join(raw) -> bool:
    """Follow the room `raw` names (a code from a link or typed). False, with a message, when no such
    room is open (mistyped, or expired after its idle hours)."""
    code = _rooms.normalise(raw)
    if code is None or rooms().get(code) is None:
        st.session_state[_ROOM_ERR] = str(raw)
        return False
    if st.session_state.get(_OWN) and st.session_state.get(_ROOM) == code:
        return True  # the presenter opened their own join link
    st.session_state.update({_ROOM: code, _OWN: None, _FOLLOW: True, _SEEN: -1})
    st.session_state.setdefault(_ME, _rooms.new_follower_id())
    st.session_state[MODE_KEY] = "Present"
    return True


def _leave() -> None:
    st.session_state.update({_ROOM: None, _OWN: None, _FOLLOW: False, _PENDING: None})


def _follow() -> None:
    """Each run of a follower: check in, and queue the room's view when it changed."""
    code = st.session_state.get(_ROOM)
    if not code or st.session_state.get(_OWN):
        return
    room = rooms().get(code)
    if room is None:
        st.session_state[_ROOM_ERR] = code
        _leave()
        return
    if st.session_state.get(_FOLLOW):  # broken-away students do not count as following
        rooms().seen(code, st.session_state.setdefault(_ME, _rooms.new_follower_id()))
    if _moved(room):
        st.session_state[_PENDING] = room.view()
        st.session_state[MODE_KEY] = "Present"  # before the mode switch is drawn


def _moved(room) -> bool:
    """The room shows something this follower has not applied yet."""
    return bool(st.session_state.get(_FOLLOW) and room.lesson and room.version != st.session_state.get(_SEEN))


def _apply_room(lesson_id) -> bool:
    """Show the room's view queued by `_follow`: go to its lesson page, then set its step and
    control values before any widget is drawn. True when this run follows the room."""
    view = st.session_state.get(_PENDING)
    if not view:
        return False
    known = {e.lesson.id: e for e in registry.entries()}
    if view["lesson"] not in known:
        st.session_state[_PENDING] = None
        return False
    if view["lesson"] != lesson_id:
        st.switch_page(known[view["lesson"]].page)
    lesson = known[lesson_id].lesson
    if isinstance(view["step"], str):
        idx = [s.id for s in lesson.steps].index(view["step"]) if view["step"] in {s.id for s in lesson.steps} else 0
    else:
        idx = max(0, min(len(lesson.steps) - 1, int(view["step"])))
    st.session_state[_step_key(lesson)] = idx
    st.session_state[f"{lesson.id}.__picker"] = idx
    step = lesson.steps[idx]
    for c in step.controls:
        value, _ = c.parse(view["values"].get(c.name, c.default))
        _set(_wkey(lesson, step, c.name), value)
    if view.get("version") is not None:
        if (st.session_state.get(_SEEN) or -1) >= 0:  # following a change (not joining): the presenter's
            rooms().applied(view["code"], view["version"])  # "followed in" counts it
        st.session_state[_SEEN] = view["version"]
    st.session_state[_PENDING] = None
    return True


def _publish(lesson: Lesson) -> None:
    """The presenter's view becomes the room's (only the session holding the token can do this)."""
    code, token = st.session_state.get(_ROOM), st.session_state.get(_OWN)
    if not (code and token):
        return
    idx = st.session_state.get(_step_key(lesson)) or 0
    step = lesson.steps[idx]
    values = {c.name: _kept().get(_wkey(lesson, step, c.name), c.default) for c in step.controls}
    if not rooms().publish(code, token, lesson.id, idx, values):
        _leave()  # the room expired under the presenter


def _open_room() -> None:
    room = rooms().open()
    st.session_state.update({_ROOM: room.code, _OWN: room.token, _FOLLOW: False})


def _join_typed() -> None:
    """The join form's callback (it runs before the page, so the mode switch may still change)."""
    join(st.session_state.get("_room.typed", ""))


def _close_room() -> None:
    rooms().close(st.session_state.get(_ROOM) or "", st.session_state.get(_OWN) or "")
    _leave()


def _rejoin() -> None:
    st.session_state.update({_FOLLOW: True, _SEEN: -1})


def app_link(query: str, page: str = "") -> str:
    """A link to one of this server's pages (`page`, "" for Home) with `query` (e.g. "room=ABCDE"),
    absolute when the browser's address is known."""
    try:
        url = str(st.context.url or "")
    except Exception:  # noqa: BLE001 - no browser context (tests): a relative link still works
        url = ""
    base = url.split("?")[0].rsplit("/", 1)[0] if url.startswith("http") else ""
    return f"{base}/{page}?{query}"


def step_linker(words, key: str):
    """A function that turns the `[[lesson_id:step_id]]` marks of a text into links to those steps, each
    named by the string `key` of `words` (filled with the lesson's number and the step's title)."""
    from lessons import guide

    index = guide.steps_by_lesson()
    return lambda text: guide.resolve(text, lambda **v: words(key, number=v["number"], title=v["title"]),
                                      href=lambda lid, sid: app_link(f"step={sid}", lid), index=index)


def join_link(code: str) -> str:
    """The link students open to join a room: the page the presenter is on, so a class joining at
    once lands on the lesson without a page switch (a timed fragment racing a switch can blank a page)."""
    try:
        url = str(st.context.url or "")
    except Exception:  # noqa: BLE001 - no browser context (tests)
        url = ""
    return f"{url.split('?')[0]}?room={code}" if url.startswith("http") else app_link(f"room={code}")


def _page_hash() -> str | None:
    """The script hash of the page this run is for (None outside a script run)."""
    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx else None


def stale_page(drawn, run_hash) -> str | None:
    """The page to draw again when a follower's heartbeat runs for a page the session has left, else None.

    `drawn` is (script hash, URL path) of the page the session's last full run drew; `run_hash` the
    page this run is for. When the room moves to another lesson, a full run switches the follower's
    page, but a tick the browser sent from the old page may still be on its way. Streamlit runs that
    tick as a run of the old page: the browser clears the new lesson and draws only the heartbeat
    again, a blank slide until the presenter moves on (seen with 8 followers: 9 blank slides in 64)."""
    if not drawn or not drawn[0] or not drawn[1] or run_hash in (None, drawn[0]):
        return None
    return f"pages/{drawn[1]}.py"


@st.fragment(run_every=1.0)
def _watch_room() -> None:
    """A follower's heartbeat: about once a second, rerun the page when the room moved on."""
    redraw = stale_page(st.session_state.get(_DRAWN), _page_hash())
    if redraw:
        st.switch_page(redraw)  # the page this session is on, in full
    code = st.session_state.get(_ROOM)
    st.markdown(T("room_following", code=code))
    room = rooms().get(code) if code else None
    if st.session_state.get(_PENDING):
        return  # inside a full run that is about to apply the room's view
    if room is None or _moved(room):
        st.rerun()
    rooms().seen(code, st.session_state.setdefault(_ME, _rooms.new_follower_id()))


@st.fragment(run_every=3.0)
def _room_count(code: str) -> None:
    st.metric(T("room_students"), rooms().connected(code))


def _room_panel(page: str = "") -> None:
    """The sidebar's room box: open one (presenter), join one (student), follow, break away, rejoin."""
    err = st.session_state.pop(_ROOM_ERR, None)
    if err:
        st.warning(T("room_unknown", code=plain(err, 40)), icon=":material/meeting_room:")
    plan = st.session_state.get(_PLAN)
    if plan:
        st.info(T("plan_presenting", title=plain(plan.get("title") or T("plan_untitled"), 60),
                  number=st.session_state.get(_PLAN_AT, 0) + 1, n=len(plan["items"])), icon=":material/list:")
        st.button(T("plan_leave"), key="_plan.leave", on_click=leave_plan, icon=":material/close:")
    code = st.session_state.get(_ROOM)
    with st.expander(T("room_title"), icon=":material/groups:", expanded=bool(code)):
        if code and st.session_state.get(_OWN):
            st.markdown(T("room_open", code=code))
            st.code(join_link(code), language=None)
            _room_count(code)
            st.markdown(T("room_presenter_view", link=app_link(f"room={code}", "presenter")))
            st.button(T("room_close"), key="_room.close", on_click=_close_room, icon=":material/close:")
        elif code:
            if st.session_state.get(_FOLLOW):
                if page != "presenter":  # the presenter view does not follow (and must not loop)
                    _watch_room()
                else:
                    st.markdown(T("room_following", code=code))
                st.button(T("room_break_away"), key="_room.break", icon=":material/explore:",
                          on_click=lambda: st.session_state.update({_FOLLOW: False}))
            else:
                st.markdown(T("room_broken_away", code=code))
                st.button(T("room_rejoin"), key="_room.rejoin", on_click=_rejoin, icon=":material/sync:")
            st.button(T("room_leave"), key="_room.leave", on_click=_leave, icon=":material/logout:")
        else:
            st.button(T("room_start"), key="_room.open", on_click=_open_room, icon=":material/co_present:",
                      help=T("room_start_help"))
            with st.form("_room.join_form", border=False):
                st.text_input(T("room_join"), key="_room.typed", max_chars=12, placeholder="ABC12")
                st.form_submit_button(T("room_join_button"), on_click=_join_typed)


# ---------------------------------------------------------------- lecture plans: slides across lessons

_PLAN = "_plan"  # the lecture plan being presented (validated plain data), or None
_PLAN_AT = "_plan.at"  # the place in it
_DRAFT = "_plan.draft"  # the plan the instructor is putting together (pages/plans.py)


def load_plan(plan: dict, at: int = 0) -> None:
    """Present `plan` (already validated) from its item `at`."""
    if not plan.get("items"):
        st.session_state[_PLAN] = None
        return
    st.session_state[_PLAN] = plan
    st.session_state[MODE_KEY] = "Present"
    _plan_go(max(0, min(len(plan["items"]) - 1, at)))


def _plan_from_url(raw_plan, raw_at) -> None:
    try:
        plan, problems = _plans.validate(_plans.decode(raw_plan), [e.lesson for e in registry.entries()])
    except ValueError as e:
        plan, problems = {"items": []}, [str(e)]
    for p in problems[:5]:
        notice(f"plan: {p}")
    text = str(raw_at or "").strip()
    at = int(text) - 1 if text.isdecimal() and len(text) <= 4 and text.isascii() else 0
    load_plan(plan, at)


def _plan_go(k: int) -> None:
    """Move to item k of the plan: its lesson (switching page if needed), step and values."""
    plan = st.session_state.get(_PLAN)
    if not plan:
        return
    k = max(0, min(len(plan["items"]) - 1, int(k)))
    st.session_state[_PLAN_AT] = k
    item = plan["items"][k]
    st.session_state[_PENDING] = {"lesson": item["lesson"], "step": item["step"], "values": dict(item["values"])}


def _plan_label(plan: dict, k: int) -> str:
    known = {e.lesson.id: e.lesson for e in registry.entries()}
    item = plan["items"][k]
    lesson = known[item["lesson"]]
    return T("plan_slide_of", number=k + 1, n=len(plan["items"]), lesson=lesson.number,
             title=lesson.step(item["step"]).title)


def leave_plan() -> None:
    st.session_state[_PLAN] = None


def plan_params() -> dict:
    """What a link needs to reopen the plan at this place (kept in the address bar while presenting it)."""
    plan = st.session_state.get(_PLAN)
    if not plan:
        return {}
    return {"plan": _plans.encode(plan), "at": str(st.session_state.get(_PLAN_AT, 0) + 1)}


def add_to_draft(lesson: Lesson) -> None:
    """Add the slide on screen (lesson, step, its control values) to the plan being put together."""
    idx = st.session_state.get(_step_key(lesson)) or 0
    step = lesson.steps[idx]
    values = {c.name: _kept().get(_wkey(lesson, step, c.name), c.default) for c in step.controls}
    values = {k: v for k, v in values.items() if v != step.control(k).default}
    draft = st.session_state.setdefault(_DRAFT, {"title": "", "items": []})
    draft["items"].append({"lesson": lesson.id, "step": step.id, "values": values})


# ---------------------------------------------------------------- deep links


def _wkey(lesson: Lesson, step, name: str) -> str:
    return f"{lesson.id}.{step.id}.{name}"


def _step_key(lesson: Lesson) -> str:
    return f"{lesson.id}.__step"


def step_index(lesson: Lesson, raw) -> int | None:
    """A step named in a link: by its id (`?step=dropout`, what the app writes: adding or moving a
    step breaks no link) or by its 1-based number (older links). None when it names no step."""
    text = str(raw).strip()
    for i, s in enumerate(lesson.steps):
        if text == s.id:
            return i
    if text.isascii() and text.isdecimal() and len(text) <= 4 and 1 <= int(text) <= len(lesson.steps):
        return int(text) - 1
    return None


def _apply_url(lesson: Lesson) -> bool:
    """Apply a URL that came from outside. Returns True when it named a step."""
    qp = st.query_params.to_dict()
    n = len(lesson.steps)
    idx = None
    if "step" in qp:
        raw = qp["step"]
        idx = step_index(lesson, raw)
        if idx is None:
            notice(T("unknown_step", raw=repr(raw), first=lesson.steps[0].id, n=n))
            idx = 0
        st.session_state[_step_key(lesson)] = idx
    here = idx if idx is not None else (st.session_state.get(_step_key(lesson)) or 0)
    step = lesson.steps[here]
    names = {c.name for c in step.controls}
    if idx is not None or names & set(qp):  # the link describes a view: unlisted controls are defaults
        st.session_state[_step_key(lesson)] = here
        for c in step.controls:
            value, why = c.parse(qp[c.name]) if c.name in qp else (c.default, None)
            if why:
                notice(why)
            _set(_wkey(lesson, step, c.name), value)
    for k in qp:
        if k not in names | {"mode", "step", "room", "plan", "at"}:
            notice(T("unknown_param_step", param=k, number=here + 1))
    return idx is not None


def _sync_url(lesson: Lesson) -> None:
    idx = st.session_state.get(_step_key(lesson))
    if idx is None and mode() == "Present":
        idx = 0
    params = {}
    if idx is not None:
        step = lesson.steps[idx]
        params["step"] = step.id
        for c in step.controls:
            value = _kept().get(_wkey(lesson, step, c.name), c.default)
            if value != c.default:
                params[c.name] = c.to_query(value)
    write_url(params)


# ---------------------------------------------------------------- the walkthrough


def render_lesson(lesson: Lesson) -> None:
    """Draw a lesson in the current mode. Call after `sidebar()`."""
    followed = _apply_room(lesson.id)
    linked = _apply_url(lesson) if st.session_state.get(_URL_IS_NEW) and not followed else False
    present = mode() == "Present"
    st.set_page_config(page_title=T("tab_title", number=lesson.number, title=lesson.title))
    if present:
        st.html(PRESENT_CSS)
        if not st.session_state.get("_ui.sidebar_folded"):  # the slide takes the full width; the
            st.session_state["_ui.sidebar_folded"] = True  # presenter can open the sidebar again
            st.set_page_config(initial_sidebar_state="collapsed")
    else:
        st.session_state["_ui.sidebar_folded"] = False
    if not present:  # on a slide the step picker names the lesson; the slide's height goes to the demo
        st.title(T("lesson_heading", number=lesson.number, title=lesson.title))
    if present:
        with st.sidebar:
            st.button(T("plan_add"), key="_plan.add", on_click=add_to_draft, args=(lesson,),
                      icon=":material/playlist_add:", help=T("plan_add_help"))
        st.html(SLIDE_CSS)
        if st.session_state.get(_PLAN):  # a plan's Next may go to another lesson's page: a full run
            _present(lesson)
        else:
            _present_alone(lesson)
        with st.container(key="present-keys-clicker"):  # hidden by SLIDE_CSS; last, so the first element shows
            st.html(SLIDE_KEYS, unsafe_allow_javascript=True)
        return
    show_notices()
    _self_paced(lesson, linked)
    _sync_url(lesson)
    _publish(lesson)


@st.fragment
def _present_alone(lesson: Lesson) -> None:
    """A lesson's slides (no lecture plan): a step change reruns only the slide, not the sidebar,
    navigation and style sheets around it (issue #12: the browser's time on a Next click)."""
    _present(lesson)


def _go(lesson: Lesson, idx: int) -> None:
    idx = max(0, min(len(lesson.steps) - 1, idx))
    _forget_widgets(lesson, st.session_state.get(_step_key(lesson)))
    st.session_state[_step_key(lesson)] = idx
    st.session_state[f"{lesson.id}.__picker"] = idx


def _forget_widgets(lesson: Lesson, i: int | None) -> None:
    """Before leaving step i: drop its widgets' states from `st.session_state` (their values stay in
    `_kept()`), so that the next time the step is drawn `_keep` gives them their values. A full run
    does this itself for the widgets it did not draw; a run of the slide's fragment does not for the
    widgets of a fragment inside it (the demo, a question), and those came back at their minimums."""
    if i is None or not 0 <= i < len(lesson.steps):
        return
    prefix = f"{lesson.id}.{lesson.steps[i].id}."
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix) and k in _kept()]:
        del st.session_state[key]


def _picked(lesson: Lesson) -> None:
    _go(lesson, st.session_state[f"{lesson.id}.__picker"])


def _step_buttons(lesson: Lesson, pos: int, n: int, go):
    """The slide's top row: Previous / next buttons (answering the arrow keys) around the title's
    column and the picker's, which are returned. `pos` of `n` is the place in the lesson (or in the
    lecture plan); `go(k)` moves to place k."""
    prev_col, title, pick, next_col = st.columns([1.3, 5.4, 2.3, 1.1], vertical_alignment="center")
    prev_col.button(T("previous"), key=f"{lesson.id}.__prev_top", icon=":material/arrow_back:",
                    on_click=go, args=(pos - 1,), disabled=pos == 0, width="stretch", shortcut="Left")
    next_col.button(T("next"), key=f"{lesson.id}.__next_top", icon=":material/arrow_forward:",
                    icon_position="right", on_click=go, args=(pos + 1,), disabled=pos == n - 1,
                    width="stretch", shortcut="Right")
    return title, pick


SLIDE_CSS = """<style>
[class*="st-key-present-keys"] {display: none;}
[data-testid="stMainBlockContainer"] {padding-top: 3.9rem; padding-bottom: 0.8rem;}
[data-testid="stMainBlockContainer"] h2 {padding: 0 0 0.2rem 0;}
[data-testid="stMainBlockContainer"] [data-testid="stProgress"] {margin-top: -0.6rem;}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {gap: 0.45rem;}
[data-testid="stMainBlockContainer"] .katex-display {margin: 0.2em 0;}
[data-testid="stMainBlockContainer"] button p {font-size: 1.05rem !important;}
[data-testid="stMainBlockContainer"] [data-testid="stPopover"] button {padding: 0.25rem 0.6rem; min-height: 2.2rem;}
[class*="__prev_top"], [class*="__next_top"] {container-type: inline-size;}
@container (max-width: 128px) {  /* the sidebar open: Previous and Next keep their arrows, not a cut word */
  [class*="__prev_top"] [data-testid="stMarkdownContainer"] {display: none;}
}
@container (max-width: 92px) {[class*="__next_top"] [data-testid="stMarkdownContainer"] {display: none;}}
[class*="st-key-reveals-"] {column-gap: 0.4rem;}
[class*="st-key-reveals-"] [data-testid="stPopoverButton"] {padding: 0.2rem 0.55rem;}
[class*="st-key-reveals-"] [data-testid="stPopoverButton"] div[aria-hidden="true"] {display: none;}
[data-testid="stMainBlockContainer"] [data-testid="stExpander"] summary p {font-size: 1.05rem; line-height: 1.3;}
[data-testid="stMainBlockContainer"] [data-testid="stExpander"] summary {padding: 0.35rem 0.7rem;}
[data-testid="stMainBlockContainer"] [data-testid="stMetricLabel"] p {font-size: 1.1rem;}
[data-testid="stMetricLabel"] div, [data-testid="stMetricLabel"] p {white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important;}
[data-testid="stMainBlockContainer"] [data-testid="stMetricValue"] {font-size: 2.2rem;}
</style>"""

# What a presenter's clicker sends besides the arrows (which the Previous / Next buttons answer themselves):
# PageDown and Space press Next, PageUp presses Previous, as Streamlit's own shortcuts would (not while a
# text field, a select or a slider has the keys, nor with a modifier). And a new step starts at the top of
# the slide (from the bottom of a slide that scrolls on a small screen). One script for the page, set once:
# three hidden shortcut buttons and an iframe that scrolled, drawn on every step change, cost the browser
# ~0.02-0.03 s a Next click (issue #12). Its text is fixed here; nothing in it comes from a visitor.
SLIDE_KEYS = """<script>(() => {
  if (window.__courseSlideKeys) return;
  window.__courseSlideKeys = true;
  const slideButton = (move) => document.querySelector(`[class*="__${move}_top"] button`);
  const moves = {PageDown: "next", " ": "next", PageUp: "prev"};
  const typing = (e) => e.composedPath().some((el) => el.tagName
    && (["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) || el.isContentEditable));
  document.addEventListener("keydown", (e) => {
    const move = moves[e.key];
    if (!move || e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.shiftKey || typing(e)) return;
    const button = slideButton(move);
    if (!button || button.disabled) return;  // not a slide, or its first / last step
    e.preventDefault();
    button.click();
  });
  let shown = null;  // the id of the slide's heading ("step-3") when the page last changed
  new MutationObserver(() => {
    const heading = slideButton("next") && document.querySelector('[data-testid="stMain"] h2');
    if (!heading || heading.id === shown) return;
    shown = heading.id;
    for (const el of [document.querySelector('[data-testid="stMain"]'), document.scrollingElement]) {
      if (el) el.scrollTo({top: 0});
    }
  }).observe(document.querySelector('[data-testid="stApp"]') || document.body, {childList: true, subtree: true});
})();</script>"""


def _present(lesson: Lesson) -> None:
    """One step as a slide under its Previous / Next row; then the address bar and the room follow it."""
    n = len(lesson.steps)
    idx = st.session_state.get(_step_key(lesson)) or 0
    st.session_state[_step_key(lesson)] = idx
    show_notices()
    plan = st.session_state.get(_PLAN)
    picker = f"{lesson.id}.__picker"
    if plan:  # the buttons, keys and picker walk the lecture plan, across lessons
        pos, count = st.session_state.get(_PLAN_AT, 0), len(plan["items"])
        go, label = _plan_go, lambda k: _plan_label(plan, k)
        st.session_state[picker] = pos
        on_pick = lambda: _plan_go(st.session_state[picker])  # noqa: E731
    else:
        pos, count = idx, n
        go = lambda k: _go(lesson, k)  # noqa: E731
        label = lambda i: T("slide_of", lesson=lesson.number, number=i + 1, n=n, title=lesson.steps[i].title)  # noqa: E731
        st.session_state[picker] = idx
        on_pick = lambda: _picked(lesson)  # noqa: E731
    title, pick = _step_buttons(lesson, pos, count, go)
    pick.selectbox(T("step_picker"), range(count), key=picker, on_change=on_pick, format_func=label,
                   label_visibility="collapsed")
    _slide(lesson, idx, title)
    _sync_url(lesson)
    _publish(lesson)


def _self_paced(lesson: Lesson, linked: bool) -> None:
    n = len(lesson.steps)
    keys = [f"{lesson.id}.{s.id}.__done" for s in lesson.steps]
    ticked = [bool(st.session_state.get(k, _kept().get(k))) for k in keys]
    st.progress(sum(ticked) / n, text=T("steps_done", done=sum(ticked), n=n))
    if lesson.intro:
        st.markdown(lesson.intro)
    every = f"{lesson.id}.__every_demo"
    _keep(every, False)
    reach = _reach(lesson, ticked)
    with st.expander(T("contents"), expanded=False):
        st.markdown("\n".join(f"{i + 1}. [{s.title}](#step-{i + 1})" if i < reach else f"{i + 1}. {s.title}"
                               for i, s in enumerate(lesson.steps)))
        if reach < n:
            st.caption(T("contents_ahead", first=reach + 1))
        _kept()[every] = st.toggle(T("every_demo"), key=every, help=T("every_demo_help"))
    idx = st.session_state.get(_step_key(lesson))
    if linked and idx:
        st.info(T("link_opens", number=idx + 1, title=lesson.steps[idx].title),
                icon=":material/link:")
    for i, step in enumerate(lesson.steps[:reach]):
        _step(lesson, i)
        key = keys[i]
        _keep(key, False)
        _kept()[key] = st.checkbox(T("worked_through"), key=key)
        st.divider()
    if reach < n:
        _ahead(lesson, reach)


# A Self-paced page draws its first step at once, each later one as the reader gets to it (ticks the one
# before or presses Continue). Against three first steps, side by side on 2 cores (tools/bench_ab.py):
# every lesson's warm page in 1.07-1.49 s instead of 1.22-1.69 s in the page, 7-19% less browser CPU.
EAGER_STEPS = 1


def _reach(lesson: Lesson, ticked: list) -> int:
    """How many steps a Self-paced page draws in full: the first EAGER_STEPS (on to the first with a
    demo), and on to one past the last step the reader ticked as worked through, the step a link or
    the learner is on, as far as the reader asked (Continue), or every step ("Draw every step and demo
    now" in the contents).
    Laying out 120-180 elements took the browser 2-3 s on 2 cores before the first could be read (issue #12)."""
    n = len(lesson.steps)
    if st.session_state.get(f"{lesson.id}.__every_demo"):  # the switch (given its kept value before this)
        return n
    done = [i for i, t in enumerate(ticked) if t]
    idx = st.session_state.get(_step_key(lesson))
    demos = [k for k, s in enumerate(lesson.steps) if s.demo is not None or s.controls]
    eager = max(EAGER_STEPS, demos[0] + 1 if demos else 0)  # a page never opens without a demo in sight
    key = f"{lesson.id}.__reach"  # what is drawn stays drawn (unticking a step does not hide the next)
    _kept()[key] = min(n, max(eager, max(done, default=-2) + 2, -1 if idx is None else idx + 1,
                              _kept().get(key) or 0))
    return _kept()[key]


def _read_on(lesson: Lesson, reach: int) -> None:
    _kept()[f"{lesson.id}.__reach"] = reach


def _ahead(lesson: Lesson, reach: int) -> None:
    """Under the last step drawn: what is still ahead, and the buttons that draw it."""
    nxt = lesson.steps[reach]
    with st.container(horizontal=True, gap="small"):
        st.button(T("read_on", number=reach + 1, title=nxt.title), key=f"{lesson.id}.__read_on", type="primary",
                  icon=":material/arrow_downward:", on_click=_read_on, args=(lesson, reach + 1))
        if reach + 1 < len(lesson.steps):
            st.button(T("read_all", n=len(lesson.steps) - reach), key=f"{lesson.id}.__read_all",
                      icon=":material/unfold_more:", on_click=_read_on, args=(lesson, len(lesson.steps)))
    st.caption(T("still_ahead", steps=" · ".join(f"{reach + k + 1}. {s.title}"
                                                 for k, s in enumerate(lesson.steps[reach:]))))


def _step(lesson: Lesson, i: int, slide: bool = False) -> None:
    """One step. Self-paced: the slide's words, the speaker notes (narrative and derivation), the key
    equation, worked numbers, a prediction, the demo, what to notice (closed until the prediction is
    answered), checks. As a slide (Present mode): see `_slide`."""
    if slide:
        return _slide(lesson, i)
    step = lesson.steps[i]
    has_demo = step.demo is not None or bool(step.controls)
    st.header(f"{i + 1}. {step.title}", anchor=f"step-{i + 1}")
    if step.slide:
        st.markdown(step.slide)
    if step.notes:
        st.markdown(step.notes)
    if step.equation:
        st.latex(step.equation)
    _worked(lesson, step, False)
    evidence = _evidence(lesson, step)
    guessed = _predict(lesson, i, evidence, False) if has_demo else None
    if has_demo:
        _demo_when_reached(lesson, i)
    if evidence is None:
        st.warning(T("measure_failed"), icon=":material/warning:")
    elif step.notice and guessed is False:  # closed until the prediction is answered
        with st.expander(T("notice_after_predict"), icon=":material/visibility:"):
            st.markdown(step.notice_text(evidence))
    elif step.notice:
        with st.container(border=True):
            st.markdown(f"**:material/visibility: {T('what_to_notice')}**\n\n{step.notice_text(evidence)}")
    for j, q in enumerate(step.checks_filled(evidence) if evidence is not None else ()):
        _question(lesson, i, j, q)
    if i == len(lesson.steps) - 1:
        _lesson_end(lesson, False)


EAGER_DEMOS = 1  # a Self-paced page draws its first demo at once, the others when the reader asks


def _shown_key(lesson: Lesson, i: int) -> str:
    return f"{lesson.id}.{lesson.steps[i].id}.__shown"


def _demo_when_reached(lesson: Lesson, i: int) -> None:
    """A Self-paced step's demo: drawn at once for the first steps, the step a link or the learner is
    on, and every step once asked ("Draw every demo" in the contents); further down, a button draws
    it where the reader has got to. Drawing 10-18 charts a lesson before the first can be read took
    the browser 3.6-4.9 s on 2 cores (issue #12)."""
    first = [k for k, s in enumerate(lesson.steps) if s.demo is not None or s.controls][:EAGER_DEMOS]
    if (i in first or st.session_state.get(_step_key(lesson)) == i or _kept().get(_shown_key(lesson, i))
            or _kept().get(f"{lesson.id}.__every_demo")):
        _demo(lesson, i)
    else:
        _demo_button(lesson, i)


@st.fragment
def _demo_button(lesson: Lesson, i: int) -> None:
    """The button that draws a demo (a fragment: only this step reruns), or the demo once pressed."""
    if _kept().get(_shown_key(lesson, i)):
        _demo(lesson, i)
        return
    step = lesson.steps[i]
    st.button(T("draw_demo"), key=f"{_shown_key(lesson, i)}.button", icon=":material/play_arrow:",
              on_click=_kept().__setitem__, args=(_shown_key(lesson, i), True), type="primary",
              help=T("draw_demo_help", controls=len(step.controls)) if step.controls else None)


def _slide(lesson: Lesson, i: int, head=None) -> None:
    """A step as one 1280x720 slide: the title, the slide's words beside the key equation, and the demo
    (controls left, outputs right, charts side by side at a slide's height). Everything the presenter
    reveals later (the prediction, worked numbers, what to notice, checks, speaker notes, the recap)
    waits behind popovers under the controls (under the outputs when there are many controls), which open
    over the slide, so it keeps its height."""
    step = lesson.steps[i]
    has_demo = step.demo is not None or bool(step.controls)
    (head or st.container()).header(f"{i + 1}. {step.title}", anchor=f"step-{i + 1}")
    beside, tex, _ = _top(step)
    if step.slide and tex and beside:
        words, eq = st.columns([beside, 1], vertical_alignment="center")
        words.markdown(step.slide)
        with eq:
            st.latex(tex)
    else:
        if step.slide:
            st.markdown(step.slide)
        if tex:
            st.latex(tex)
    evidence = _evidence(lesson, step)

    def reveals() -> None:  # a row of popovers under the demo: each opens over the slide, which keeps its size
        _worked(lesson, step, True)
        if has_demo:
            _predict(lesson, i, evidence, True)
        if evidence is None:
            st.warning(T("measure_failed"), icon=":material/warning:")
        elif step.notice and has_demo:
            with st.popover(T("pop_notice"), icon=":material/visibility:"):
                st.markdown(step.notice_text(evidence))
        checks = step.checks_filled(evidence) if evidence is not None else ()
        if checks and has_demo:
            with st.popover(T("pop_check"), icon=":material/quiz:"):
                for j, q in enumerate(checks):
                    _ask(lesson, i, j, q)
        if step.notes and has_demo:
            with st.popover(T("pop_notes"), icon=":material/speaker_notes:"):
                st.markdown(step.notes)
        if i == len(lesson.steps) - 1:
            _lesson_end(lesson, True)

    if has_demo:
        _demo(lesson, i, reveals, _room(step))
        return
    checks = step.checks_filled(evidence) if evidence is not None else ()
    if evidence is not None and step.notice:  # a step without a demo whose content is what to notice (a
        st.markdown(step.notice_text(evidence))  # table): on show, its check and notes behind buttons
        with st.container(horizontal=True, gap="small", key=f"reveals-{lesson.id}-{step.id}"):
            if checks:
                with st.popover(T("pop_check"), icon=":material/quiz:"):
                    for j, q in enumerate(checks):
                        _ask(lesson, i, j, q)
            if step.notes:
                with st.popover(T("pop_notes"), icon=":material/speaker_notes:"):
                    st.markdown(step.notes)
            if i == len(lesson.steps) - 1:
                _lesson_end(lesson, True)
        return
    # a step without a demo (a check): its words, then its questions one tab each
    if step.notes:
        st.markdown(step.notes)
    if evidence is None:
        st.warning(T("measure_failed"), icon=":material/warning:")
    if len(checks) > 1:
        for j, (tab, q) in enumerate(zip(st.tabs([T("question_n", n=j + 1) for j in range(len(checks))]), checks,
                                         strict=True)):
            with tab:
                _question(lesson, i, j, q)
    elif checks:
        _question(lesson, i, 0, checks[0])
    if i == len(lesson.steps) - 1:
        _lesson_end(lesson, True)


SLIDE_HEIGHT = 720  # px: a projector's 1280x720 screen


SLIDE_WIDTH = 1120  # px of a slide's content on a 1280 px screen
EQUATION_MIN = 95  # px an equation's row takes at least (one line with a fraction, and its margins)
UNDER_SIZE = 0.8  # an equation under the words is drawn at 80% (KaTeX's \footnotesize): still larger
# than the words, and a line shorter for the demo


def _words_px(words: str, width: float) -> int:
    """A slide's words' height in px at `width` px (estimated from their length)."""
    return -(-len(words) // max(1, int(width / 10.5))) * 31 if words else 0


def _top(step) -> tuple[float, str, int]:
    """How a step's slide sets its words and key equation (`_top_of`)."""
    return _top_of(step.slide, step.equation)


@functools.lru_cache(maxsize=256)
def _top_of(words: str, equation: str) -> tuple[float, str, int]:
    """The slide's words and key equation: (the words' share of the top row beside the equation's 1, or
    0 for the equation under the words; its TeX, on lines that fit; the px the two take). Of the
    equation under the words at the full width and beside them at a few shares of the row, on at most
    three lines (pages/_equations.py), the one that leaves the demo the most room (the usual share
    first; a layout on more lines than one must win by 10 px, the estimate's error). "" when there is
    none."""
    if not equation:
        return 1.0, "", _words_px(words, SLIDE_WIDTH)
    full = equations.fit(equation, SLIDE_WIDTH / UNDER_SIZE, max_lines=9) or (equation, EQUATION_MIN)
    best = (0.0, r"\footnotesize " + full[0],
            _words_px(words, SLIDE_WIDTH) + (8 if words else 0) + round(max(full[1], EQUATION_MIN) * UNDER_SIZE))
    usual = 1.7 if len(words) > 220 else 1.15  # the words' share when the equation fits either way
    for wide in dict.fromkeys((usual, 1.7, 1.15, 1.0, 0.75)) if words else ():
        side = equations.fit(equation, (SLIDE_WIDTH - 16) / (wide + 1))
        if side is not None:
            px = max(_words_px(words, SLIDE_WIDTH * wide / (wide + 1)), side[1], EQUATION_MIN)
            if px + (10 if "gathered" in side[0] else 0) < best[2] or (px == best[2] and best[0] == 0):
                best = (wide, side[0], px)
    return best


def _room(step) -> int:
    """The px left for a slide's outputs under its top row and words (estimated from their length)."""
    title = 40 if len(step.title) > 28 else 0  # a title that wraps to a second line in the top row
    return SLIDE_HEIGHT - 60 - 62 - title - _top(step)[2] - 52 - 55


@st.cache_resource(max_entries=256, show_spinner=False)
def _worked_text(lesson_id: str, step_id: str, words: str, _step) -> str:
    """A step's worked numbers, filled once for every visitor: they are fixed calculations (one runs
    nn.Dropout on 100,000 ones), and a run of the slide drew them anew each time (issue #12)."""
    return _step.worked_text()


def _worked(lesson: Lesson, step, slide: bool) -> None:
    """The step's worked numbers (computed by the engine; a test checks them by hand)."""
    try:
        text = _worked_text(lesson.id, step.id, step.worked or "", step) if step.worked else ""
    except Exception:  # noqa: BLE001 - a failed calculation hides the box, never the page
        text = ""
    if not text:
        return
    if slide:
        with st.popover(T("pop_worked"), icon=":material/calculate:"):
            st.markdown(text)
    else:
        with st.container(border=True):
            st.markdown(f"**:material/calculate: {T('worked_numbers')}**\n\n{text}")


def _predict(lesson: Lesson, i: int, evidence, slide: bool):
    """Ask the step's prediction before its demo. Returns None (no prediction), False (not answered
    yet) or True (answered: how the prediction compares with the runs is shown under it)."""
    step = lesson.steps[i]
    if step.predict is None or evidence is None:
        return None
    q = step.prediction_filled(evidence)
    key = _wkey(lesson, step, "__predict")
    if _kept().get(key) is not None:
        _keep(key, None)
    box = st.popover(T("pop_predict"), icon=":material/psychology_alt:") if slide else st.container(border=True)
    with box:
        choice = st.radio(f"**{T('predict')}** {q.prompt}", range(len(q.options)), index=None, key=key,
                          format_func=lambda k: str(q.options[k]))
        _kept()[key] = choice
        if choice is None:
            if not slide:
                st.caption(T("predict_hint"))
            return False
        why = q.explanations[choice] if choice < len(q.explanations) else ""
        if choice == q.answer:
            st.success(f"**{T('predicted_right')}** {why}", icon=":material/check_circle:")
        else:
            right = q.explanations[q.answer] if q.answer < len(q.explanations) else ""
            st.warning(f"**{T('predicted_wrong', answer=str(q.options[q.answer]))}** {why}\n\n{right}",
                       icon=":material/lightbulb:")
    return True


def _lesson_end(lesson: Lesson, slide: bool) -> None:
    """After the last step: the lesson's recap (its claims, measured) and the way on to the next lesson."""
    if lesson.recap:
        from lessons.claims import fill

        evidence: dict = {}
        for s in lesson.steps:
            evidence.update(_evidence(lesson, s) or {})
        text = fill(lesson.recap, evidence)
        if slide:
            with st.popover(T("pop_recap"), icon=":material/summarize:"):
                st.markdown(text)
        else:
            st.subheader(T("recap_title", number=lesson.number), anchor="recap")
            with st.container(border=True):
                st.markdown(text)
    if slide or st.session_state.get(_PLAN):
        return
    from lessons import registry

    entries = registry.entries()
    ids = [e.lesson.id for e in entries]
    if lesson.id in ids and ids.index(lesson.id) + 1 < len(entries):
        nxt = entries[ids.index(lesson.id) + 1]
        _page_link(nxt.page, T("next_lesson", number=nxt.lesson.number, title=nxt.lesson.title), nxt.lesson.id,
                   ":material/arrow_forward:")
    else:
        _page_link("pages/welcome.py", T("course_done"), "welcome", ":material/home:")


def _page_link(script: str, label: str, url_path: str, icon: str) -> None:
    """A link to another page of the app (a plain link when the page runs without app.py's navigation)."""
    try:
        st.page_link(script, label=label, icon=icon)
    except StreamlitAPIException:
        st.markdown(f"[{label}]({app_link('', url_path).rstrip('?')})")


@st.fragment
def _demo(lesson: Lesson, i: int, reveals=None, room: int = 0) -> None:
    """Controls, presets and outputs of one step; moving a control reruns only this. On a slide
    (`reveals` given) the outputs are laid out for one screen and `reveals()` draws under the controls."""
    step = lesson.steps[i]
    keys = {c.name: _wkey(lesson, step, c.name) for c in step.controls}
    before = {name: _kept().get(k, step.control(name).default) for name, k in keys.items()}
    if reveals is not None:  # a slide: presets in a row over the outputs, many controls in two columns
        many = len(step.controls) > 4
        left, right = st.columns([1.4 if many else 1, 2.6], gap="medium")
        if len(step.presets) > 4:  # a lab's many presets: one menu, so they take one line, not two
            with left:
                key = _wkey(lesson, step, "__preset_menu")
                st.selectbox(T("preset_menu"), range(len(step.presets)), index=None, key=key,
                             format_func=lambda j: step.presets[j][0], placeholder=T("preset_pick"),
                             on_change=_preset_menu, args=(lesson, i, key))
        elif step.presets:
            with right, st.container(horizontal=True, gap="small"):
                _preset_buttons(lesson, i, step)
        with left:
            cols = st.columns(2, gap="small") if many else [st.container()]
            values = {}
            for k, c in enumerate(step.controls):
                with cols[k % len(cols)]:
                    values[c.name] = _control(c, keys[c.name], compact=many)
    elif step.controls:
        left, right = st.columns([1, 2.6], gap="large")
        with left:
            _preset_buttons(lesson, i, step, width="stretch")
            values = {c.name: _control(c, keys[c.name]) for c in step.controls}
    else:
        left, right, values = None, st.container(), {}
    if values != before or st.session_state.pop(f"{lesson.id}.__moved", None) == i:
        # the learner is working on this step: the link follows it (and the class, in a room)
        st.session_state[_step_key(lesson)] = i
        _sync_url(lesson)
        _publish(lesson)
    with right:
        try:
            outputs = _run_demo(lesson, step, values)
            if reveals is None:
                render_outputs(outputs)
            else:
                labels = sum(len(label) + 6 for label, _ in step.presets) if len(step.presets) <= 4 else 0
                details = _slide_outputs(outputs, room - (-(-labels * 11 // 800)) * 50)
        except Exception as e:  # noqa: BLE001 - a failing demo must not take the page down
            msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
            st.error(T("demo_failed", error=f"{type(e).__name__}{': ' + msg if msg else ''}"), icon=":material/error:")
            details = []
    if reveals is not None:  # under the controls, where the column has room; else under the outputs
        place = right if len(step.controls) > 6 else left or right
        with place, st.container(horizontal=True, gap="small", key=f"reveals-{lesson.id}-{step.id}"):
            if details:
                warned = any(isinstance(o, Note) and o.kind == "warning" for o in details)
                with st.popover(T("demo_details"), icon=":material/warning:" if warned else ":material/notes:"):
                    render_outputs(details)
            reveals()


def _preset_menu(lesson: Lesson, i: int, key: str) -> None:
    j = st.session_state.get(key)
    if j is not None:
        _preset(lesson, i, lesson.steps[i].presets[j][1])
    st.session_state[key] = None  # the menu is an action, not a setting


def _preset_buttons(lesson: Lesson, i: int, step, width="content") -> None:
    for j, (label, values) in enumerate(step.presets):
        st.button(label, key=f"{_wkey(lesson, step, '__preset')}{j}", on_click=_preset,
                  args=(lesson, i, values), icon=":material/tune:", width=width)


def _preset(lesson: Lesson, i: int, values: dict) -> None:
    step = lesson.steps[i]
    for name, raw in values.items():
        value, _ = step.control(name).parse(raw)
        _set(_wkey(lesson, step, name), value)
    st.session_state[_step_key(lesson)] = i
    st.session_state[f"{lesson.id}.__moved"] = i


def _control(c, key: str, compact: bool = False):
    _keep(key, c.default)
    help_ = c.help or None
    if c.kind == "slider":
        num = int if isinstance(c.default, int) and not isinstance(c.default, bool) else float
        kw = {"step": num(c.step)} if c.step is not None else {}
        if c.format:
            kw["format"] = c.format
        value = st.slider(c.label, min_value=num(c.min), max_value=num(c.max), key=key, help=help_, **kw)
    elif c.kind == "log_slider":
        value = st.select_slider(c.label, options=list(c.options), key=key, help=help_, format_func=_num)
    elif c.kind == "select" and (len(c.options) <= 4 if not compact else
                                 len(c.options) <= 3 and sum(len(str(o)) for o in c.options) <= 18):
        value = st.radio(c.label, list(c.options), key=key, help=help_, horizontal=True, format_func=str)
    elif c.kind == "select":
        value = st.selectbox(c.label, list(c.options), key=key, help=help_, format_func=str)
    elif c.kind == "toggle":
        value = st.toggle(c.label, key=key, help=help_)
    else:
        raise ValueError(f"unknown control kind {c.kind!r}")
    _kept()[key] = value
    return value


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@st.fragment
def _question(lesson: Lesson, i: int, j: int, q) -> None:
    _ask(lesson, i, j, q)


def _ask(lesson: Lesson, i: int, j: int, q) -> None:
    """One check question (inside a fragment: answering reruns only that)."""
    key = f"{_wkey(lesson, lesson.steps[i], '__check')}{j}"
    if _kept().get(key) is not None:
        _keep(key, None)
    with st.container(border=True):
        choice = st.radio(f"**{T('check')}** {q.prompt}", range(len(q.options)), index=None, key=key,
                          format_func=lambda k: str(q.options[k]))
        _kept()[key] = choice
        if choice is not None:
            why = q.explanations[choice] if choice < len(q.explanations) else ""
            if choice == q.answer:
                st.success(f"**{T('right')}** {why}", icon=":material/check_circle:")
            else:
                st.error(f"**{T('not_quite')}** {why}", icon=":material/cancel:")


# ---------------------------------------------------------------- demos and their outputs


@st.cache_resource(max_entries=DEMO_CACHE_ENTRIES, show_spinner=False)
def _cached_demo(lesson_id: str, step_id: str, params: tuple, _step, _progress) -> list:
    return list(_step.demo(dict(params), _progress) or [])


class _Bar:
    """A progress callback drawing an st.progress bar, created on the first report."""

    def __init__(self):
        self.slot = st.empty()
        # Draw in the context of the page, not of the cached call, so Streamlit does not record
        # the bar as part of the cached result (it would be replayed on every cache hit).
        self.ctx = contextvars.copy_context()
        self.last = -1.0

    def __call__(self, fraction: float, text: str = "") -> None:
        now = time.monotonic()
        if fraction < 1 and now - self.last < 0.1:
            return
        self.last = now
        frac = min(1.0, max(0.0, float(fraction)))
        self.ctx.run(self.slot.progress, frac, text=text or T("training", percent=f"{frac:.0%}"))

    def clear(self) -> None:
        self.ctx.run(self.slot.empty)


@st.cache_resource(max_entries=DEMO_CACHE_ENTRIES, show_spinner=False)
def _cached_evidence(lesson_id: str, step_id: str, _step, _progress) -> dict:
    return _step.evidence(_progress)


@st.cache_resource(show_spinner=False)
def flights() -> _flights.Flights:
    """The trainings running now, for every session of this server (a second visitor follows the first's)."""
    return _flights.Flights()


def _evidence(lesson: Lesson, step):
    """The step's claims measured over seeds (shared by every visitor), None when that failed."""
    if not step.claims:
        return {}
    bar = _Bar()
    try:
        return flights().run(("evidence", lesson.id, step.id),
                             lambda report: _cached_evidence(lesson.id, step.id, step, report), bar)
    except Exception:  # noqa: BLE001 - a failed measurement must not take the page down
        return None
    finally:
        bar.clear()


def _run_demo(lesson: Lesson, step, values: dict) -> list:
    if step.demo is None:
        return []
    params = tuple(sorted(values.items()))
    if not step.heavy:
        return _cached_demo(lesson.id, step.id, params, step, no_progress)
    bar = _Bar()
    try:  # a view another session is training now: its progress here, then its cached result
        return flights().run(("demo", lesson.id, step.id, params),
                             lambda report: _cached_demo(lesson.id, step.id, params, step, report), bar)
    finally:
        bar.clear()


def render_outputs(outputs: list) -> None:
    """Map a demo's outputs to Streamlit; consecutive metrics share one row."""
    row: list = []
    for out in list(outputs) + [None]:
        if isinstance(out, Metric):
            row.append(out)
            continue
        if row:
            for col, m in zip(st.columns(len(row)), row, strict=True):
                col.metric(m.label, m.value, delta=m.delta, help=m.help or None)
            row = []
        if out is not None:
            _render(out)


SLIDE_CHART_HEIGHT = 300  # px, a chart's whole height (title and axes included) on a slide with one row of charts
SQUARE_CHROME = 65  # px a `square` map's title (two lines) and x axis add to its plot's height
SLIDE_CHART_MIN, SLIDE_CHART_MAX = 260, 380  # below 260 px a chart's title, axes and legend leave no plot


def _slide_outputs(outputs: list, room: int = 0) -> list:
    """Draw a demo's outputs for a slide and return the rest for a details expander: metrics in one
    row, charts side by side at a slide's height, warnings kept; captions, notes, tables beside
    charts, code and formulas go to the details."""
    flat = flatten(outputs)
    charts = [part for o in flat if isinstance(o, (Chart, alt.TopLevelMixin))
              for part in _rows_of(o if isinstance(o, Chart) else Chart(o))]
    metrics = [o for o in flat if isinstance(o, Metric)]
    tables = [o for o in flat if isinstance(o, (Table, pd.DataFrame))]
    alerts = [o for o in flat if isinstance(o, Note) and o.kind == "error"]
    main = set(map(id, charts + metrics + alerts)) | ({id(t) for t in tables} if not charts else set())
    details = [o for o in flat if id(o) not in main and not isinstance(o, (Chart, alt.TopLevelMixin))]
    details += [Markdown(c.caption) for c in charts if c.caption]
    render_outputs(metrics[:4])
    details += metrics[4:]
    wide = any(isinstance(c.chart, (alt.HConcatChart, alt.ConcatChart, alt.FacetChart)) for c in charts)
    per_row = 1 if wide else min(2, len(charts))  # panels need the width; a legend keeps its place
    rows = [charts[k:k + per_row] for k in range(0, len(charts), per_row)]
    height = room - (85 if metrics else 0) - (50 if len(rows) > 1 else 0) if room else SLIDE_CHART_HEIGHT
    height = max(SLIDE_CHART_MIN, min(SLIDE_CHART_MAX, height))
    # more than one row of charts: one tab per row, so the slide keeps one row's height
    names = [_row_label(row, k) for k, row in enumerate(rows)]
    if sum(len(n) + 4 for n in names) > TAB_ROW_CHARS:  # one line of tabs keeps the slide one screen tall
        names = [_row_label(row, k, limit=22, slack=0) for k, row in enumerate(rows)]
    places = st.tabs(names) if len(rows) > 1 else [st.container()]
    for place, row in zip(places, rows, strict=True):
        with place:
            cols = st.columns(len(row)) if len(row) > 1 else [st.container()]
            for col, c in zip(cols, row, strict=True):
                try:
                    _draw(col, lambda c=c, half=len(row) > 1: _on_slide(c, height, half), c.square,
                          source=c.chart, variant=("slide", height, len(row) > 1))
                except Exception:  # noqa: BLE001 - a resized chart Vega-Lite refuses is drawn as it came
                    _draw(col, c.chart, c.square)
    if not charts:
        for t in tables:
            _render(t if isinstance(t, Table) else Table(t))
    for a in alerts:
        _render(a)
    return details


def _on_slide(c: Chart, height: int, half: bool):
    """A demo's chart fitted to a slide: `height` px of room, half the width when `half`."""
    chart = _fit_height(c.chart, max(height, SLIDE_CHART_MAX))  # only the tallest shrink: a
    # review of every slide found charts fitted to less than their own height unreadable
    if c.square and isinstance(chart, (alt.Chart, alt.LayerChart)):  # a map's height is its plot's:
        chart = _fit_height(chart, height - SQUARE_CHROME)  # its title and axes come on top
    if not c.square:  # a short chart takes the slide's room (its legend and labels are inside it)
        chart = _grow(chart, height)
    if half:  # half a slide's width: a long title on two lines, not cut with "…"
        chart = _wrap_title(chart, 33)
    return chart


def _rows_of(c: Chart) -> list:
    """`_split_rows`, once per shared chart (its rows are then the same objects on every rerun, so their
    drawings are kept too, pages/_specs.py)."""
    return _specs.kept(c.chart, ("rows", c.square, c.caption), lambda: _split_rows(c))


def _split_rows(c: Chart) -> list:
    """A chart stacked in rows (a vconcat) as one chart per row, so each row can have a slide's
    height in its own tab; the rows keep the stack's data and config."""
    stack = c.chart
    if not isinstance(stack, alt.VConcatChart) or len(stack.vconcat) < 2:
        return [c]
    try:
        rows = []
        for part in stack.vconcat:
            row = part.copy(deep=False)
            for name in ("data", "config", "datasets", "resolve"):
                if getattr(stack, name, alt.Undefined) is not alt.Undefined and \
                        getattr(row, name, alt.Undefined) is alt.Undefined:
                    setattr(row, name, getattr(stack, name))
            row.to_dict()  # it must stand alone, or the stack is drawn as it came
            rows.append(Chart(row, square=c.square))
        rows[-1].caption = c.caption
        return rows
    except Exception:  # noqa: BLE001
        return [c]


TAB_ROW_CHARS = 90  # about what one line of tabs holds beside a slide's controls at 1280 px


def _row_label(row: list, k: int, limit: int = 30, slack: int = 4) -> str:
    """A tab's name: the short titles of its charts (or "Charts k"), each at most `limit` characters
    (`slack` more for a title that then stays whole)."""
    def title_of(chart) -> str:
        title = getattr(chart, "title", alt.Undefined)
        text = getattr(title, "text", title)
        if isinstance(text, (list, tuple)):
            text = " ".join(map(str, text))
        return text if isinstance(text, str) else ""

    names = []
    for c in row:
        text = title_of(c.chart)
        if text:
            names.append(_short_title(text, limit, slack))
        elif isinstance(c.chart, (alt.HConcatChart, alt.ConcatChart)):  # untitled panels: their titles' heads
            parts = c.chart.hconcat if isinstance(c.chart, alt.HConcatChart) else c.chart.concat
            heads = [_short_title(title_of(p).split(" · ")[0], limit, slack) for p in parts]
            names += [h for h in heads if h]
    return " · ".join(names) if names else T("charts_n", n=k + 1)


_TAIL_WORDS = {"a", "against", "along", "an", "and", "as", "at", "between", "by", "each", "every", "for", "from",
               "in", "into", "of", "on", "or", "over", "per", "than", "the", "to", "under", "vs", "with"}


def _short_title(text: str, limit: int = 30, slack: int = 4) -> str:
    """A chart title short enough for a tab, whole words and no "…": a title a little over `limit`
    characters stays whole; a longer one loses its brackets ("Product (float64)" -> "Product"), then
    keeps its part before the first comma ("Weight norm, 10 data sets" -> "Weight norm"), or else its
    first words up to `limit` characters, without a dangling "of" or "by" or an open bracket."""
    slack += limit
    if len(text) <= slack:
        return text
    bare = re.sub(r"\s+\([^()]*\)", "", text).strip()
    if len(bare) <= slack:
        return bare
    head = bare.split(", ")[0]
    if 8 <= len(head) <= slack:
        return head
    words = bare[:limit + 1].split(" ")[:-1] or [bare[:limit]]
    cut = " ".join(words)
    if cut.count("(") > cut.count(")"):  # never an open bracket: "MSE (sample" -> "MSE"
        words = cut[:cut.rindex("(")].split() or words
    while len(words) > 1 and words[-1].lower().strip(":;,") in _TAIL_WORDS:
        words.pop()
    return " ".join(words).rstrip(":;,·")


def _fit_height(chart, height: int):
    """`chart` with every panel at most `height` px tall (a copy; the cached chart is shared)."""
    def fit(c, h):
        # a concat or facet chart is not fitted to its height as a whole (Vega-Lite autosizes single
        # views only): give each panel its share, less what its title and axes take
        if isinstance(c, alt.VConcatChart):
            n = len(c.vconcat)
            return _with_parts(c, [fit(p, max(60, (h - 75 * n) // n)) for p in c.vconcat])
        if isinstance(c, alt.HConcatChart):
            return _with_parts(c, [fit(p, max(60, h - 75)) for p in c.hconcat])
        if isinstance(c, alt.ConcatChart):
            return _with_parts(c, [fit(p, max(60, h - 75)) for p in c.concat])
        if isinstance(c, alt.FacetChart):
            out = c.copy(deep=False)
            out.spec = fit_one(c.spec, max(60, h - 95), aspect=False) if isinstance(
                c.spec, (alt.Chart, alt.LayerChart)) else c.spec
            return out
        if isinstance(c, (alt.Chart, alt.LayerChart)):
            return fit_one(c, h)
        return c

    def fit_one(c, h, aspect=True):
        cur = getattr(c, "height", alt.Undefined)
        if isinstance(cur, (int, float)) and cur <= h or cur is not alt.Undefined and not isinstance(cur, (int, float)):
            return c  # short enough, or sized per category (alt.Step): a band per row stays its size
        try:
            width = getattr(c, "width", alt.Undefined)
            if aspect and isinstance(width, (int, float)) and isinstance(cur, (int, float)) and cur > 0:
                return c.properties(height=h, width=int(width * h / cur))  # a fixed aspect stays (2-D maps)
            return c.properties(height=h)
        except Exception:  # noqa: BLE001 - a chart that takes no height stays as it is
            return c

    try:
        return fit(chart, height)
    except Exception:  # noqa: BLE001
        return chart


def _grow(chart, height: int):
    """A single-view chart shorter than `height` px at `height` (Streamlit fits title, axes and legend
    into a stretched chart's height, so a short chart with a legend leaves a strip of plot)."""
    cur = getattr(chart, "height", alt.Undefined)
    if isinstance(chart, (alt.Chart, alt.LayerChart)) and isinstance(cur, (int, float)) and cur < height:
        try:
            return chart.properties(height=height)
        except Exception:  # noqa: BLE001
            return chart
    return chart


def _wrap_title(chart, width: int):
    """`chart` with a plain-text title longer than `width` characters split into two lines at a space."""
    title = getattr(chart, "title", alt.Undefined)
    if not isinstance(title, str) or len(title) <= width or " " not in title:
        return chart
    spaces = [k for k, ch in enumerate(title) if ch == " "]
    cut = min(spaces, key=lambda k: abs(k - len(title) / 2))
    try:
        return chart.properties(title=[title[:cut], title[cut + 1:]])
    except Exception:  # noqa: BLE001
        return chart


def _with_parts(c, parts):
    out = c.copy(deep=False)
    name = ("hconcat" if isinstance(c, alt.HConcatChart) else "vconcat" if isinstance(c, alt.VConcatChart)
            else "concat")
    setattr(out, name, parts)
    return out


_BOXES = itertools.count()  # a new key for every box ever drawn: two boxes never share one


def _draw(place, chart, square: bool = False, source=None, variant: tuple = ()) -> None:
    """An Altair chart, stretched to its column; a `square` map at its own size, its plot area exactly
    the width and height it declares (legend, title and axes around it), so its axes keep one scale. A
    map wider than its column scrolls in its own box (NARROW_CSS) instead of spilling over its
    neighbour or being squeezed to the column (a phone drew the bagging maps 25% taller than wide).

    `chart` may be a function making the chart. With `source` (a demo's chart, shared by every
    session) the Vega-Lite spec of this drawing (`variant` says what was done to `source`) is
    converted once and kept (pages/_specs.py)."""
    def final():
        c = chart if isinstance(chart, alt.TopLevelMixin) else chart()
        return c.properties(autosize=alt.AutoSizeParams(type="pad")) if square else c

    spec = _specs.spec(source, (*variant, square), final) if source is not None else None
    if not square:
        if spec is not None:
            place.vega_lite_chart(spec=spec, width="stretch", theme=None)
        else:
            place.altair_chart(final(), width="stretch", theme=None)
        return
    with place.container(key=f"square-{next(_BOXES)}"):
        if spec is not None:
            st.vega_lite_chart(spec=spec, width="content", height="content", theme=None)
        else:
            st.altair_chart(final(), width="content", height="content", theme=None)


def _render(out) -> None:
    if isinstance(out, alt.TopLevelMixin):
        out = Chart(out)
    elif isinstance(out, pd.DataFrame):
        out = Table(out)
    elif isinstance(out, str):
        out = Markdown(out)
    if isinstance(out, Chart):
        _draw(st, out.chart, out.square, source=out.chart)
        if out.caption:
            st.caption(out.caption)
    elif isinstance(out, Table):
        st.dataframe(out.df, width="stretch")
        if out.caption:
            st.caption(out.caption)
    elif isinstance(out, Note):
        {"success": st.success, "warning": st.warning, "error": st.error}.get(out.kind, st.info)(out.text)
    elif isinstance(out, Markdown):
        st.markdown(out.text)
    elif isinstance(out, Latex):
        st.latex(out.text)
    elif isinstance(out, Code):
        st.code(out.source, language=out.language)
    elif isinstance(out, Columns):
        for col, items in zip(st.columns(len(out.cols)), out.cols, strict=True):
            with col:
                render_outputs(items if isinstance(items, (list, tuple)) else [items])
    else:
        st.write(out)
