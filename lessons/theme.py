"""One Altair theme for the whole course, and fixed colours per concept.

Importing this module registers and enables the theme "course" once (Altair 6 `alt.theme`).
Fonts are sized for a projector at the back of a lecture room. Colours come from the
colour-blind-safe palettes of Okabe & Ito (2008) and Paul Tol, and each concept keeps its colour
in every lesson: sigmoid is always vermillion, ReLU always blue, Adam always blue in the
optimizer race. Use `color_scale(ACTIVATION_COLORS, domain=[...])` in an encoding:

    alt.Color("activation:N", scale=color_scale(ACTIVATION_COLORS, ["relu", "tanh"]))
"""
from __future__ import annotations

from typing import Iterable, Mapping, Optional

import altair as alt

THEME_NAME = "course"
FONT = "'Source Sans Pro', 'Source Sans 3', 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

# Okabe-Ito, in the order Vega uses for nominal data that has no fixed colours.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

ACTIVATION_COLORS: dict[str, str] = {
    "sigmoid": "#D55E00",  # vermillion: the classic that saturates
    "tanh": "#E69F00",  # orange: sigmoid's zero-centred sibling
    "relu": "#0072B2",  # blue
    "leaky_relu": "#56B4E9",  # sky blue: a lighter ReLU
    "prelu": "#009E73",  # bluish green
    "rrelu": "#332288",  # indigo
    "crelu": "#117733",  # green
    "elu": "#CC79A7",  # reddish purple
    "relu6": "#44AA99",  # teal
    "gelu": "#882255",  # wine
    "silu": "#AA4499",  # purple
    "softplus": "#999933",  # olive: the smooth ReLU
    "identity": "#777777",  # grey: no non-linearity at all
}

OPTIMIZER_COLORS: dict[str, str] = {
    "sgd": "#4D4D4D",  # dark grey: the baseline
    "sgd_decay": "#999999",  # grey
    "momentum": "#E69F00",
    "nesterov": "#D55E00",
    "adagrad": "#009E73",
    "rmsprop": "#56B4E9",
    "adam": "#0072B2",
    "adamw": "#CC79A7",
    "adamax": "#882255",
    "sgd_cyclic": "#999933",
}

CLASS_COLORS: dict[str, str] = {  # class labels of the classification demos, in every lesson
    "class 0": "#0072B2",  # blue
    "class 1": "#E69F00",  # orange
    "class 2": "#009E73",  # bluish green
}
PROBABILITY_RANGE = ["#0072B2", "#F7F7F7", "#E69F00"]  # P(class 1) from 0 (blue) to 1 (orange)

SPLIT_COLORS: dict[str, str] = {
    "train": "#0072B2",
    "val": "#E69F00",
    "test": "#009E73",
}


def color_scale(mapping: Mapping[str, str], domain: Optional[Iterable[str]] = None) -> alt.Scale:
    """An `alt.Scale` that pins each name in `domain` (default: all of `mapping`) to its colour.

    Names missing from `mapping` get grey, so a new concept never breaks a chart.
    """
    names = list(mapping) if domain is None else list(domain)
    return alt.Scale(domain=names, range=[mapping.get(n, "#777777") for n in names])


def _theme() -> dict:
    label, title = 15, 17
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "view": {"continuousWidth": 560, "continuousHeight": 340, "stroke": "#DDDDDD"},
            # titles anchor at the chart's outer edge (not the plot's), so narrow panels keep them whole
            "title": {"fontSize": 19, "fontWeight": 600, "anchor": "start", "offset": 10, "frame": "bounds"},
            "axis": {
                "labelFontSize": label, "titleFontSize": title, "titleFontWeight": 600,
                "gridColor": "#E6E6E6", "domainColor": "#888888", "tickColor": "#888888",
                "labelColor": "#333333", "titleColor": "#222222", "titlePadding": 8,
            },
            "legend": {
                "labelFontSize": label, "titleFontSize": title, "symbolSize": 160,
                "labelLimit": 260, "orient": "right",
            },
            "header": {"labelFontSize": title, "titleFontSize": title},
            "text": {"fontSize": label},
            "line": {"strokeWidth": 3},
            "point": {"size": 70, "filled": True},
            "circle": {"size": 70},
            "mark": {"tooltip": True},
            "range": {"category": OKABE_ITO},
        }
    }


if THEME_NAME not in alt.theme.names():
    alt.theme.register(THEME_NAME, enable=True)(_theme)
else:  # re-import (e.g. Streamlit reloading a module): keep the registered one, just enable it
    alt.theme.enable(THEME_NAME)

# --- relu_family
ONE_RUN = "#000000"  # black: the one run singled out among many seeds (or RReLU's fixed evaluation line)
WIDER_RELU = "#003B5C"  # dark blue: ReLU with twice the units, a bigger sibling of ReLU's blue
SOFTMAX_BARS = "#0072B2"  # blue: softmax outputs beside the sigmoid's vermillion
