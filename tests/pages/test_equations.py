"""A slide's key equation laid out to fit (pages/_equations.py): the browser test
`test_every_step_in_present_mode` checks that none is cut on a 1280x720 screen; these check the parts."""
import importlib

import pytest

from lessons import registry
from pages import _equations as eq


def test_an_equation_splits_only_between_formulas_and_keeps_a_connective_with_the_next():
    tex = r"\min_{w} E(w)\ \text{s.t.}\ |w_1| \le c \qquad\text{vs}\qquad \min_{w} E(w)\ \text{s.t.}\ w_1^2 \le c^2"
    assert eq.parts(tex)[1] == r"\text{vs}"
    assert eq.parts(r"\frac{a}{b}{\qquad} c") == [r"\frac{a}{b}{\qquad} c"]  # not inside a group
    rows = eq.lines(tex, 400)
    assert len(rows) == 2 and rows[1].startswith(r"\text{vs}\quad")
    assert len(eq.lines(tex, 2000)) == 1
    assert eq.lines(r"a + b + c + d + e + f + g + h", 50) is None  # one formula too wide: no split inside it


@pytest.mark.parametrize("tex, px", [
    (r"f(x) = W_3\,\mathrm{ReLU}(W_2\,\mathrm{ReLU}(W_1 x + b_1) + b_2) + b_3", 539),  # as Chromium drew them
    (r"\hat y(x) = \frac{1}{B}\sum_{b=1}^{B} y_b(x),", 218),
    (r"w_{t+1} = w_t - \eta\,\nabla E(w_t)", 246),
])
def test_the_width_estimate_is_near_the_drawn_width(tex, px):
    assert 0.85 * px <= eq.width_em(tex) * eq.PX_PER_EM <= 1.45 * px


def test_every_slide_keeps_its_whole_equation():
    """Whatever the layout, the equation drawn is the step's own, only split into lines (and sized)."""
    shared = importlib.import_module("pages._shared")
    strip = str.maketrans("", "", " \n")
    for entry in registry.entries():
        for step in entry.lesson.steps:
            if not step.equation:
                continue
            wide, tex, px = shared._top(step)
            drawn = tex.translate(strip)
            assert all(part.translate(strip) in drawn for part in eq.parts(step.equation)), step.id
            assert len(drawn) <= len(step.equation.translate(strip)) + 60, step.id  # nothing else added
            assert px >= shared.EQUATION_MIN * shared.UNDER_SIZE
