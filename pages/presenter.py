"""Presenter view, for a second screen: the room's current step with its speaker notes, the next
step's title, the time since the room opened, its code and how many students follow.

The file is named after the page's URL (/presenter?room=CODE); see pages/_shared.started_without_app."""


import streamlit as st

from lessons import registry
from pages import _rooms
from pages import _shared as ui

if ui.started_without_app():
    st.stop()

T = ui.T
st.title(T("presenter_title"))
raw = st.query_params.get("room") or st.session_state.get("_room.code") or ""
code = _rooms.normalise(raw)


@st.fragment(run_every=2.0)
def presenter_view(code: str) -> None:
    room = ui.rooms().get(code)
    if room is None:
        st.warning(T("room_unknown", code=ui.plain(code, 40)), icon=":material/meeting_room:")
        return
    minutes, seconds = divmod(int(ui.rooms().clock() - room.opened), 60)
    median, worst, n = ui.rooms().follow_times(room.code)
    a, b, c, d, e = st.columns(5)
    a.metric(T("presenter_room"), room.code)
    b.metric(T("room_students"), ui.rooms().connected(room.code))
    c.metric(T("presenter_elapsed"), f"{minutes}:{seconds:02d}")
    d.metric(T("presenter_follow"), "—" if not n else f"{median:.2f} s", help=T("presenter_follow_help", n=n))
    e.metric(T("presenter_follow_max"), "—" if not n else f"{worst:.2f} s")
    entries = {e.lesson.id: e for e in registry.entries()}
    if room.lesson not in entries:
        st.info(T("presenter_waiting"), icon=":material/hourglass_empty:")
        return
    lesson = entries[room.lesson].lesson
    idx = max(0, min(len(lesson.steps) - 1, room.step))
    step = lesson.steps[idx]
    st.subheader(T("presenter_now", lesson=lesson.number, number=idx + 1, n=len(lesson.steps), title=step.title))
    if idx + 1 < len(lesson.steps):
        st.caption(T("presenter_next", title=lesson.steps[idx + 1].title))
    else:
        st.caption(T("presenter_last"))
    if step.equation:
        st.latex(step.equation)
    with st.container(border=True):
        st.markdown(step.notes or step.slide)
    if step.notice:
        with st.expander(T("what_to_notice"), icon=":material/visibility:"):
            st.markdown(step.notice)  # claims unfilled: the slide shows them measured


if code is None:
    st.info(T("presenter_how"), icon=":material/co_present:")
else:
    presenter_view(code)
ui.write_url({"room": code} if code else {})

