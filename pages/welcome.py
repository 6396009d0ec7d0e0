"""Home: what the course is, the lessons, the glossary and field guide, and how students and instructors use the app.

The file is named after the page's URL; see pages/_shared.started_without_app."""
from pathlib import Path

import streamlit as st

from lessons import registry
from lessons.words import Words
from pages import _shared as ui

if ui.started_without_app():
    st.stop()

H = Words("home")  # the page's words: lessons/text/<language>/home.md

st.title(ui.T("app_title"))
entries = registry.entries()
pitch, picture = st.columns([1.25, 1], gap="large")
with pitch:
    st.markdown(H("home.intro"))
    if entries and st.button(H("home.start", number=entries[0].lesson.number, title=entries[0].lesson.title),
                             type="primary", icon=":material/play_arrow:"):  # the clear start
        st.switch_page(entries[0].page)
shot = Path(__file__).resolve().parent.parent / "assets" / "screenshots" / "relu_family-mode-present-step-dying.png"
if shot.is_file():  # what a lesson looks like: a real slide (tools/screenshots.py), without its empty foot
    from PIL import Image

    with Image.open(shot) as im:
        picture.image(im.crop((0, 0, im.width, int(im.height * 0.6))), caption=H("home.picture_caption"))

st.header(H("home.lessons"))
if not entries:
    st.info(H("home.no_lessons"))
for e in entries:
    st.page_link(e.page, label=H("home.lesson_link", number=e.lesson.number, title=e.lesson.title),
                 icon=":material/school:")
    st.caption(e.lesson.summary)

st.header(H("home.guides_title"))
for script, key, icon in (("pages/glossary.py", "glossary", ":material/dictionary:"),
                          ("pages/field_guide.py", "field_guide", ":material/build:")):
    st.page_link(script, label=H(f"home.{key}_link"), icon=icon)
    st.caption(H(f"home.{key}_caption"))

student, instructor = st.columns(2, gap="large")
with student:
    st.subheader(f":material/person: {H('home.student_title')}")
    st.markdown(H("home.student"))
with instructor:
    st.subheader(f":material/co_present: {H('home.instructor_title')}")
    st.markdown(H("home.instructor"))

st.header(H("home.precomputed_title"))
shipped = Path(__file__).resolve().parent.parent / "assets" / "cache"
count = sum(1 for p in shipped.glob("**/*.json")) if shipped.is_dir() else 0
st.markdown(H("home.precomputed", count=count))
