"""Lesson 3's page under AppTest at the extremes of its controls: sigma near 0, learning rates far
above 2/L, the last training point, the last data set and sample, every step in Present mode via
deep links."""
import pytest

from lessons.losses import LESSON
from tests.pages.test_pages import ok, open_lesson, open_step

PAGE = "pages/losses.py"


def open_at(query):
    return open_lesson(PAGE, query)


@pytest.mark.parametrize("step, params", [
    (1, {"sigma": "0.02", "theta1": "2.5", "theta2": "-2"}),
    (1, {"sigma": "3"}),
    (2, {"p": "0.95", "n": "10"}),
    (2, {"p": "0.05"}),
    (3, {"rate": "1000.0", "steps": "300"}),
    (3, {"rate": "1.01", "steps": "1"}),
    (4, {"spread": "0.5", "shown": "0"}),
    (4, {"spread": "0.2", "seed": "9"}),
    (5, {"spread": "0.2", "point": "180"}),
    (5, {"spread": "0.5", "seed": "9", "point": "1"}),
    (6, {"alpha": "1.0", "n": "10000"}),
    (7, {"outliers": "8", "offset": "20"}),
    (7, {"outliers": "0", "offset": "0"}),
    (7, {"outliers": "8", "offset": "4", "sample": "7"}),
])
def test_extreme_deep_links(step, params):
    open_step(PAGE, LESSON, step, params)


def test_moving_controls_to_their_ends():
    at = open_at({"mode": "present", "step": "3"})
    ok(at.select_slider(key="losses.descent.rate").set_value(1000.0).run())
    assert any("Diverging" in e.value for e in at.error)
    ok(at.select_slider(key="losses.descent.rate").set_value(0.5).run())
    assert any("Converging" in s.value for s in at.success)
    at = open_at({"mode": "present", "step": "1"})
    ok(at.slider(key="losses.line.sigma").set_value(0.02).run())
    assert not [e for e in at.error if "could not run" in e.value]
