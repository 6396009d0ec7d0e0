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

# Marks that are not a concept: ink, references and the held / did-not-hold of a claim's seeds.
INK = "#222222"  # outlines of data points, the mean tick of a seed chart
REFERENCE = "#999999"  # a reference line (zero, chance, a bound)
MISSING = "#777777"  # a name with no colour of its own
HELD_COLORS: dict[str, str] = {"held": "#009E73", "did not hold": "#D55E00"}  # green / vermillion


def color_scale(mapping: Mapping[str, str], domain: Optional[Iterable[str]] = None) -> alt.Scale:
    """An `alt.Scale` that pins each name in `domain` (default: all of `mapping`) to its colour.

    Names missing from `mapping` get grey, so a new concept never breaks a chart.
    """
    names = list(mapping) if domain is None else list(domain)
    return alt.Scale(domain=names, range=[mapping.get(n, MISSING) for n in names])


def _theme() -> dict:
    label, title = 16, 17  # labels at least the body text's 16 px, on a projector too
    return {
        "config": {
            "font": FONT,
            "background": "transparent",  # the page is white; a phone's scroll shadow shows through (NARROW_CSS)
            "view": {"continuousWidth": 560, "continuousHeight": 340, "stroke": "#DDDDDD"},
            # titles anchor at the chart's outer edge (not the plot's), so narrow panels keep them whole
            "title": {"fontSize": 19, "fontWeight": 600, "anchor": "start", "offset": 10, "frame": "bounds"},
            "axis": {
                "labelFontSize": label, "titleFontSize": title, "titleFontWeight": 600,
                "gridColor": "#E6E6E6", "domainColor": "#888888", "tickColor": "#888888",
                "labelColor": "#333333", "titleColor": "#222222", "titlePadding": 8,
                # no two tick labels touch ("100200" was two labels): drop every other one until they part
                "labelOverlap": "greedy", "labelSeparation": 4,
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

# --- vanishing
SATURATED_TAILS = "#D55E00"  # shaded band: pre-activations where a unit's slope is under 10% of its peak
SLOPE_CURVE = "#333333"  # an activation's derivative, drawn beside the activation itself
SATURATED_UNITS = "#BBBBBB"  # histogram share of saturated units (greyed out: they pass almost nothing back)
SEED_RING = "#000000"  # the ring around the seed shown, in a strip of every seed
REFERENCE_RULE = "#777777"  # a dashed reference line (log ratio 0: the first layer gets as much as the output)
COLLAPSED_BOUNDARY = "#000000"  # the line W x + b = 0 of a linear net's multiplied weight matrices

# --- regularization
PENALTY_COLORS: dict[str, str] = {  # the two weight penalties, side by side in Lesson 6
    "L2": "#0072B2",  # blue: the penalty that shrinks every weight
    "L1": "#D55E00",  # vermillion: the penalty that zeroes many of them
}
DROPOUT_MASK_COLORS = ["#DDDDDD", "#0072B2"]  # a dropout mask: dropped unit (light grey), kept unit (blue)
CONFIDENCE_COLORS: dict[str, str] = {  # what label smoothing moves, measured on the digits
    "train P(true class)": "#0072B2",  # blue: the fit to the (smoothed) training targets
    "test confidence": "#009E73",  # bluish green: the top class's probability on test digits
    "test accuracy": "#D55E00",  # vermillion: what that confidence should match
}
WEIGHT_NORM_COLOR = "#4D4D4D"  # dark grey: the weight norm ‖W‖ over training (early stopping)
EARLY_STOP_COLORS: dict[str, str] = {  # the marks of an early-stopped run
    "best step (kept)": "#D55E00",  # vermillion: the evaluation whose weights are kept
    "stopped": "#777777",  # grey: where patience ran out
}


# --- losses
LIKELIHOOD_LINE_COLOR = "#0072B2"  # blue: the candidate line whose likelihood is measured
MSE_COLOR = "#D55E00"  # vermillion: squared error / Gaussian noise, and gradient descent on it
MAE_COLOR = "#009E73"  # bluish green: absolute error / Laplace noise
EXACT_COLOR = "#000000"  # black: an exact reference (the sum of logs; the true distribution p)
FLOAT32_COLOR = "#D55E00"  # vermillion: a computation in float32
FLOAT64_COLOR = "#0072B2"  # blue: a computation in float64
MODEL_Q_COLOR = "#E69F00"  # orange: a model distribution q, and the KL divergence to it
START_COLOR = "#E69F00"  # orange: where an optimiser starts
WORST_COLOR = "#CC0000"  # red: points singled out as the largest losses
OUTLIER_COLOR = "#CC79A7"  # reddish purple: outliers added to the data
DATA_INK = "#444444"  # dark grey: plain data points and their residuals
GUIDE_GREY = "#777777"  # grey: guide rules and constant terms (e.g. an entropy that no model removes)
CONTEXT_GREY = "#999999"  # light grey: context behind the chosen run (other data sets, a reference band)
NOISE_BELL_GREY = "#888888"  # grey: the noise density drawn around each prediction
ZERO_RULE_GREY = "#555555"  # dark grey: the rule at zero on a signed axis

# --- optimizers
BATCH_COLORS: dict[str, str] = {  # Lesson 4: how many points each update uses
    "full batch": "#4D4D4D",  # dark grey: the exact gradient, the baseline (as plain SGD in the race)
    "stochastic": "#D55E00",  # vermillion: one point per update, the noisiest
    "minibatch 16": "#009E73",  # bluish green
    "minibatch 64": "#0072B2",  # blue
}
L2_PENALTY_COLOR = "#332288"  # indigo: Adam with an L2 penalty in the loss (AdamW's decay is decoupled)
SCHEDULE_COLORS: dict[str, str] = {  # learning-rate schedules
    "constant": "#4D4D4D",  # dark grey: no schedule, the baseline
    "exponential": "#999999",  # grey: the race's sgd_decay
    "inverse_time": "#E69F00",  # orange
    "step": "#D55E00",  # vermillion
    "cyclic": OPTIMIZER_COLORS["sgd_cyclic"],  # the race's sgd_cyclic
    "cosine_restarts": "#56B4E9",  # sky blue
}
BATCH_NORM_COLORS: dict[str, str] = {  # a net without and with batch normalization
    "without": "#D55E00",  # vermillion: the sigmoid net that saturates
    "with batch norm": "#0072B2",  # blue
}
PATH_START_COLOR = "#000000"  # black: where every optimizer's path on a surface starts
SURFACE_MINIMUM_COLOR = "#D55E00"  # vermillion: a surface's minimum, the target of the race


# --- overfitting
CAPACITY_COLORS: dict[str, str] = {  # Lesson 5's three networks, from the least to the most capacity
    "3-2-1": "#999999",  # grey: the small network that underfits
    "30-10-1": "#CC79A7",  # reddish purple
    "100-50-10-1": "#D55E00",  # vermillion: the big network that overfits
}
BIAS_VARIANCE_COLORS: dict[str, str] = {  # the parts of the expected test error
    "bias²": "#0072B2",  # blue
    "variance": "#D55E00",  # vermillion
    "expected test error": "#000000",  # black: the sum
}
HIGHLIGHT_INK = "#000000"  # black: what a chart singles out (the shown seed's ring, a mean, the average fit, the fit)
MARKER_GREY = "#555555"  # dark grey: a dashed marker at the value shown, fold 1 alone, dots of no colour of their own
SPREAD_GREY = "#888888"  # mid grey: a ±1 sd bar, the many fits behind their average
REFERENCE_GREY = "#999999"  # light grey: a reference line (zero)

# --- relu_family
ONE_RUN = "#000000"  # black: the one run singled out among many seeds (or RReLU's fixed evaluation line)
WIDER_RELU = "#003B5C"  # dark blue: ReLU with twice the units, a bigger sibling of ReLU's blue
SOFTMAX_BARS = "#0072B2"  # blue: softmax outputs beside the sigmoid's vermillion

# --- optimizers (new steps)
INPUT_SCALE_COLORS: dict[str, str] = {  # Lesson 4's input normalisation: the same net on two kinds of inputs
    "raw": "#D55E00",  # vermillion: raw Auto MPG features, badly conditioned
    "standardised": "#0072B2",  # blue: mean 0, variance 1 per feature
}

# --- regularization (new steps)
AUGMENT_COLORS: dict[str, str] = {  # the augmentation step's four training sets
    "none": "#999999",  # grey: the 180 digits as they are
    "noise": "#E69F00",  # orange: fresh Gaussian noise on the inputs at every step
    "shifts": "#0072B2",  # blue: each digit plus its four 1-pixel shifts
    "shifts + noise": "#009E73",  # bluish green: both
}

# --- vanishing (new steps)
INIT_COLORS: dict[str, str] = {  # weight initialisations (Lesson 1's init step), keyed by their chart labels
    "N(0, 0.01²)": "#CC79A7",  # reddish purple: the lectures' "small random", whose signal dies
    "N(0, 1)": "#D55E00",  # vermillion: too large, saturates tanh and explodes ReLU
    "Xavier": "#E69F00",  # orange: tanh's colour, the activation it is made for
    "He": "#0072B2",  # blue: ReLU's colour, the activation it is made for
    "zeros": "#999999",  # grey: no initialisation at all
}

# --- overfitting (new steps)
NETWORK_COLORS: dict[str, str] = {  # the network diagram's nodes, by the kind of layer they belong to
    "input": "#56B4E9",  # sky blue: the features
    "hidden": "#F0E442",  # yellow: hidden units
    "output": "#D55E00",  # vermillion: the prediction
}
NETWORK_EDGE = "#777777"  # grey: one weight of the network diagram
SEARCH_COLORS: dict[str, str] = {  # the two hyperparameter searches
    "grid": "#6A3D9A",  # dark purple: the grid's configurations and its pick
    "random": "#B15928",  # brown: random search's configurations and its pick
}

# --- relu_family (new steps)
TARGET_CURVE = "#999999"  # grey, dashed: the 1-D function one hidden layer approximates
HINGE_PIECE = ACTIVATION_COLORS["relu"]  # ReLU's blue, faint: one hidden unit's hinge v·max(0, w·x + b)
KINK_MARK = "#D55E00"  # vermillion: a kink of the fit, where a unit switches on (x = −b/w)
EVEN_KINKS = "#009E73"  # bluish green: the closed-form fit with evenly spaced kinks
DEPTH_COLORS: dict[str, str] = {  # deep and wide nets with the same number of parameters
    "deep": "#CC79A7",  # reddish purple
    "wide": "#E69F00",  # orange
}

# --- vanishing (teaching)
TORCH_INIT_COLORS: dict[str, str] = {  # Lesson 1's PyTorch check: a deep ReLU MLP under two initialisations
    "nn.Linear default": INIT_COLORS["N(0, 0.01²)"],  # reddish purple: like small random weights, its signal fades
    "kaiming_normal_": INIT_COLORS["He"],  # blue: He's colour, which it is
}
# --- relu_family (teaching)
HOT_RUN = ACTIVATION_COLORS["relu"]  # ReLU's blue: the ReLU net at Adam lr 0.3, which loses units
GENTLE_RUN = "#009E73"  # bluish green: the same net at lr 0.01, which keeps them
# --- losses (teaching)
CE_COLOR = "#0072B2"  # blue: cross-entropy (the logistic loss) beside MSE's vermillion
CODE_COLORS: dict[str, str] = {  # Lesson 3's PyTorch code: the loss fed logits, and the same loss fed probabilities
    "from logits": "#0072B2",  # blue: what the loss expects
    "probabilities first": "#D55E00",  # vermillion: the silent bug
}
# --- regularization (teaching)
CALIBRATION_COLORS: dict[str, str] = {  # label smoothing: confidence and accuracy, plus the calibration error
    **CONFIDENCE_COLORS,
    "test ECE": "#CC79A7",  # reddish purple: expected calibration error, the gap between the two
}
TORCH_DECAY_COLORS: dict[str, str] = {  # the same weight_decay handed to two torch optimizers
    "Adam, no decay": OPTIMIZER_COLORS["adam"],  # Adam's blue: the reference
    "Adam(weight_decay)": L2_PENALTY_COLOR,  # indigo: the L2 gradient goes through Adam's division
    "AdamW(weight_decay)": OPTIMIZER_COLORS["adamw"],  # AdamW's colour: decay outside the adaptive step
}
GEOMETRY_COLORS: dict[str, str] = {  # the L1 diamond and the L2 circle with the loss's contours
    "L1": PENALTY_COLORS["L1"],
    "L2": PENALTY_COLORS["L2"],
    "loss contour": "#999999",  # grey: a level set of the squared error
    "least squares": "#000000",  # black: the unpenalised minimum
}
MODE_COLORS: dict[str, str] = {  # a torch module called twice, in train() and in eval() mode
    "train() mode": "#D55E00",  # vermillion: dropout still on, the mistake
    "eval() mode": "#009E73",  # bluish green: dropout off
}
# --- optimizers (teaching)
SURFACE_MINIMUM_FILL = "#FFFFFF"  # white, edged in black: a surface's minimum (no optimizer's colour)
ZERO_GRAD_COLORS: dict[str, str] = {  # a real PyTorch loop with and without optimizer.zero_grad()
    "with zero_grad()": "#0072B2",  # blue: the loop as it should be
    "without zero_grad()": "#D55E00",  # vermillion: gradients summed over every step so far
}
BN_MODE_COLORS: dict[str, str] = {  # a batch-norm net asked for predictions in the two modes
    "model.eval()": "#0072B2",  # blue: running statistics from training
    "train mode": "#D55E00",  # vermillion: each test batch's own statistics
}
