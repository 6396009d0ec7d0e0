"""Entry point: page config, navigation (Home, the lessons in course order, References), sidebar.

Lessons come from lessons/registry.py; each has a thin page script pages/lesson_<module>.py.
"""
import streamlit as st

from lessons import registry
from pages import _shared as ui

st.set_page_config(page_title="Deep learning, step by step", page_icon="🧠", layout="wide")

entries = registry.entries()
# A url_path never equals a file name in pages/: Streamlit still treats a folder called pages/ as
# old-style pages on a session's first run and would run a same-named file without app.py.
home = st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="welcome", default=True)
sections = {"Course": [home]}
for e in entries:
    page = st.Page(e.page, title=f"{e.lesson.number}. {e.lesson.title}", url_path=e.lesson.id)
    sections.setdefault(e.section, []).append(page)
sections.setdefault("More", []).append(
    st.Page("pages/papers.py", title="References", icon=":material/menu_book:", url_path="references"))

pg = st.navigation(sections)
ui.sidebar()
if pg.url_path not in {e.lesson.id for e in entries}:
    ui.plain_page()
pg.run()
