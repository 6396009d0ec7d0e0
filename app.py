"""Entry point: page config, navigation (Home, the lessons in course order, the glossary, the field guide,
References, ...), sidebar.

Lessons come from lessons/registry.py; each has a thin page script pages/<url path>.py.

`streamlit run app.py` first imports this file to look for an ASGI app and finds `app` (st.App): Streamlit's
own server for this same script, with its static files answered from memory (pages/_static_files.py).
Every visitor's run of the script (`__name__ == "__main__"`) draws the page.
"""
import streamlit as st


def main() -> None:
    from lessons import registry
    from pages import _shared as ui

    st.set_page_config(page_title="Deep learning, step by step", page_icon="🧠", layout="wide")

    entries = registry.entries()
    # Every url_path equals its file's name in pages/: on a server's first run Streamlit still treats
    # a folder called pages/ as old-style pages and looks the URL up there (see ui.started_without_app).
    home = st.Page("pages/welcome.py", title="Home", icon=":material/home:", url_path="welcome", default=True)
    sections = {"Course": [home]}
    for e in entries:
        page = st.Page(e.page, title=f"{e.lesson.number}. {e.lesson.title}", url_path=e.lesson.id)
        sections.setdefault(e.section, []).append(page)
    sections.setdefault("More", []).extend([
        st.Page("pages/glossary.py", title="Glossary and notation", icon=":material/dictionary:", url_path="glossary"),
        st.Page("pages/field_guide.py", title="Field guide", icon=":material/build:", url_path="field_guide"),
        st.Page("pages/references.py", title="References", icon=":material/menu_book:", url_path="references"),
        st.Page("pages/plans.py", title="Lecture plans", icon=":material/list:", url_path="plans"),
        st.Page("pages/presenter.py", title="Presenter view", icon=":material/co_present:", url_path="presenter")])

    pg = st.navigation(sections)
    ui.sidebar(pg.url_path)
    if pg.url_path not in {e.lesson.id for e in entries}:
        ui.plain_page()
    pg.run()


if __name__ == "__main__":
    main()
else:  # imported by `streamlit run app.py`
    from starlette.middleware import Middleware

    from pages._static_files import StaticFromMemory

    app = st.App(__file__, middleware=[Middleware(StaticFromMemory)])
