"""The glossary and the field guide under AppTest: they run without an exception, show their words,
resolve every step link to a page the app registers, and the field guide quotes its live checks."""
import math
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lessons import guide

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 30


def open_page(script, query=None):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(script)
    if query:
        at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def markdown(at):
    return "\n".join(m.value for m in at.markdown)


def check_links(at, text):
    """Every Markdown link to this app's pages names a registered page and, with step=, a step of it."""
    pages = {info.get("url_pathname") for info in at._registered_pages.values()}
    index = guide.steps_by_lesson()
    links = re.findall(r"\]\((/?[A-Za-z_]+)\?step=(\w+)\)", text)
    assert "[[" not in text
    for page, step in links:
        page = page.lstrip("/")
        assert page in pages and step in index[page]["steps"], (page, step)
    return links


@pytest.mark.parametrize("script, title", [("pages/glossary.py", "Glossary and notation"),
                                           ("pages/field_guide.py", "Field guide: when training goes wrong")])
def test_page_runs_and_its_links_resolve(script, title):
    at = open_page(script)
    assert title in [t.value for t in at.title]
    assert len(check_links(at, markdown(at))) >= 20


def test_the_glossary_filter_narrows_the_terms():
    at = open_page("pages/glossary.py")
    everything = markdown(at)
    assert "**Learning rate**" in everything and "| $\\eta$ |" in everything
    at.text_input(key="glossary.filter").set_value("softmax").run()
    assert not at.exception
    text = markdown(at)
    assert "**Softmax**" in text and "**Learning rate**" not in text
    at.text_input(key="glossary.filter").set_value("zzzz").run()
    assert any("No term matches" in i.value for i in at.info)


def test_the_field_guide_quotes_its_live_checks():
    at = open_page("pages/field_guide.py")
    text = markdown(at)
    assert f"{math.log(10):.3f}" in text  # ln 10 = 2.303, the closed form the checks are held against
    assert "in 10 of 10 seeds" in text
    assert not re.search(r"\{\w+([.\[:]|\})", text.replace("h_{\\max}", "")), "a placeholder was left unfilled"
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) == 2


def test_an_unknown_parameter_is_flagged_not_fatal():
    at = open_page("pages/field_guide.py", {"bogus": "1"})
    assert any("bogus" in w.value for w in at.warning)
