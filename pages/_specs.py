"""A demo's charts converted to Vega-Lite once, not on every rerun.

`st.altair_chart` turns an Altair chart into a Vega-Lite spec each time it is called: `to_dict()`,
which deep-copies the chart and validates it against the Vega-Lite JSON schema, then its data to
Arrow. A demo's outputs are shared by every session (`st.cache_resource`), so the same chart object
comes back on every rerun and for every visitor; py-spy on warm Present-mode clicks put the
conversion and the copies made to fit a chart to its slide at about 40% of the server's script time.

`spec(source, variant, make)` keeps the spec of `make()` (the chart as drawn: `source` as the demo
returned it, fitted to its place, which `variant` names) until `source` is unused for a while;
`kept` does the same for any value derived from a shared chart (a stack split into rows). An entry
holds `source` itself, so its id cannot be reused by another object while the entry lives.
The conversion is Streamlit's own (what `st.altair_chart` does); where that is missing (another
Streamlit version) `spec` returns None and the page draws with `st.altair_chart` as before.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

try:  # Streamlit's conversion (private, pinned in requirements.txt): the spec `st.altair_chart` would send
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as _convert
except ImportError:  # pragma: no cover - another Streamlit: draw as before
    _convert = None

LIMIT = 400  # specs kept; a lesson's default views draw about 30 charts, all six about 200
_lock = threading.Lock()
_specs: OrderedDict[tuple, tuple[object, object]] = OrderedDict()


def kept(source, variant: tuple, make):
    """`make()`, computed once per (`source`, `variant`) while the entry is in use. Raises what `make` raises
    (nothing is kept then)."""
    key = (id(source), variant)
    with _lock:
        hit = _specs.get(key)
        if hit is not None and hit[0] is source:
            _specs.move_to_end(key)
            return hit[1]
    out = make()
    with _lock:
        _specs[key] = (source, out)
        _specs.move_to_end(key)
        while len(_specs) > LIMIT:
            _specs.popitem(last=False)
    return out


def spec(source, variant: tuple, make) -> dict | None:
    """The Vega-Lite spec (its data as Arrow) of `make()`, the drawing `variant` of `source`; None when
    Streamlit's conversion is not available. Raises what the conversion raises."""
    if _convert is None:
        return None
    return kept(source, ("spec", *variant), lambda: _convert(make()))


def clear() -> None:
    with _lock:
        _specs.clear()
