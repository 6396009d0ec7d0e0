"""A one-lesson app around tests/sample_lesson.py, with the real sidebar and renderer."""
import streamlit as st

from pages import _shared as ui
from tests.sample_lesson import LESSON

st.set_page_config(page_title="Sample lesson", layout="wide")
pg = st.navigation([st.Page(lambda: ui.render_lesson(LESSON), title=LESSON.title, url_path=LESSON.id)])
ui.sidebar()
pg.run()
