"""References: the papers and books behind the lessons, and which lessons use them.

The file is named after the page's URL; see pages/_shared.started_without_app."""
import streamlit as st

from lessons import registry
from lessons.references import REFERENCES, TOPIC_NAMES, cited_by
from lessons.words import Words
from pages import _shared as ui

if ui.started_without_app():
    st.stop()

H = Words("home")
st.title(H("home.references_title"))
st.markdown(H("home.references_intro"))

entries = {e.lesson.id: e for e in registry.entries()}
for ref in REFERENCES:
    with st.container(border=True):
        st.markdown(f"{ref.citation} [{H('home.link')}]({ref.url})")
        st.markdown(f":gray[{ref.why}]")
        live = {lesson.id for lesson in cited_by(ref, [e.lesson for e in entries.values()])}
        for lid in live:
            e = entries[lid]
            st.page_link(e.page, label=H("home.lesson_link", number=e.lesson.number, title=e.lesson.title),
                         icon=":material/school:")
        planned = [TOPIC_NAMES.get(t, t) for t in ref.topics if t not in live]
        if planned:
            st.caption(f"{H('home.topics')} " + " · ".join(planned))
