"""pages/_specs.py: a shared chart's Vega-Lite spec is converted once, and what is drawn is exactly what
st.altair_chart would send."""
from streamlit.testing.v1 import AppTest

from pages import _specs


def test_kept_once_per_source_and_variant():
    _specs.clear()
    a, b, calls = object(), object(), []
    make = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert _specs.kept(a, ("x",), make) == 1
    assert _specs.kept(a, ("x",), make) == 1  # kept
    assert _specs.kept(a, ("y",), make) == 2  # another drawing of the same chart
    assert _specs.kept(b, ("x",), make) == 3  # another chart
    assert len(calls) == 3


def test_old_entries_go_beyond_the_limit(monkeypatch):
    _specs.clear()
    monkeypatch.setattr(_specs, "LIMIT", 3)
    sources = [object() for _ in range(5)]
    for s in sources:
        _specs.kept(s, (), lambda: 0)
    assert len(_specs._specs) == 3
    assert all(entry[0] is s for entry, s in zip(_specs._specs.values(), sources[2:]))


def test_a_failed_conversion_keeps_nothing():
    _specs.clear()
    src = object()

    def boom():
        raise ValueError("refused")

    try:
        _specs.kept(src, (), boom)
    except ValueError:
        pass
    assert not _specs._specs


def _script():
    import altair as alt
    import pandas as pd
    import streamlit as st

    from pages import _shared

    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 1.0, 2.0], "who": ["a", "b", "a"]})
    chart = alt.Chart(df).mark_line().encode(x="x:Q", y="y:Q", color="who:N").properties(title="t")
    st.altair_chart(chart, width="stretch", theme=None)
    _shared._draw(st, chart, source=chart)
    _shared._draw(st, chart, source=chart)  # from the kept spec
    st.altair_chart(chart.properties(autosize=alt.AutoSizeParams(type="pad")), width="content", height="content",
                    theme=None)
    _shared._draw(st, chart, square=True, source=chart)
    _shared._draw(st, chart, square=True, source=chart)


def test_a_kept_spec_draws_exactly_what_altair_chart_sends():
    _specs.clear()
    at = AppTest.from_function(_script, default_timeout=30).run()
    assert not at.exception
    protos = [c.proto.SerializeToString(deterministic=True) for c in at.get("vega_lite_chart")]
    assert len(protos) == 6
    assert protos[0] == protos[1] == protos[2]
    assert protos[3] == protos[4] == protos[5]
    assert len(_specs._specs) == 2  # one conversion per drawing

