"""Glossary and notation: the course's symbols and terms, each linked to the step that teaches it.

The words live in lessons/text/<language>/glossary.md; a link is written [[lesson:step]] there and
resolved by lessons/guide.py. The file is named after the page's URL; see pages/_shared.started_without_app."""
import streamlit as st

from lessons import guide
from lessons.words import Words
from pages import _shared as ui

if ui.started_without_app():
    st.stop()

W = Words("glossary")  # lessons/text/<language>/glossary.md
linked = ui.step_linker(W, "glossary.step_link")


st.title(W("glossary.title"))
st.markdown(W("glossary.intro"))
st.page_link("pages/field_guide.py", label=W("glossary.field_guide"), icon=":material/build:")

groups = [b for b in W.blocks().values() if b.kind == "group"]
terms_tab, notation_tab = st.tabs([W("glossary.terms_title"), W("glossary.notation_title")])

with terms_tab:
    query = st.text_input(W("glossary.filter"), key="glossary.filter", help=W("glossary.filter_help"),
                          placeholder=W("glossary.filter_placeholder"))
    found = {b.id: [t for t in guide.items(W(f"{b.id}.terms")) if guide.matches(t, query)] for b in groups}
    total = sum(len(guide.items(W(f"{b.id}.terms"))) for b in groups)
    count = sum(len(v) for v in found.values())
    if query.strip():
        st.caption(W("glossary.matches", count=count, total=total))
    if not count:
        st.info(W("glossary.no_match", query=query.strip()))
    shown = [b for b in groups if found[b.id]]
    sizes = [len(found[b.id]) for b in shown]  # two columns of about the same length, groups kept whole
    cut = min(range(len(shown) + 1), key=lambda i: abs(sum(sizes[:i]) - sum(sizes[i:])))
    left, right = shown[:cut], shown[cut:]
    for col, part in zip(st.columns(2, gap="large"), (left, right)):
        with col:
            for b in part:
                st.subheader(W(f"{b.id}.title"))
                st.markdown(linked("\n".join(found[b.id])))

with notation_tab:
    st.markdown(linked(W("glossary.notation")))
