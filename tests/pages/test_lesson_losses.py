"""Lesson 3's page under AppTest at the extremes of its controls: sigma near 0, learning rates far
above 2/L, the last training point, the last data set and sample, every step in Present mode via
deep links."""
import pytest

from lessons.losses import LESSON
from tests.pages.test_pages import ok, open_lesson, open_step

PAGE = "pages/losses.py"


def open_at(query):
    return open_lesson(PAGE, query)



@pytest.mark.parametrize("step_id, params", [
    ("line", {"sigma": "0.02", "theta1": "2.5", "theta2": "-2"}),
    ("line", {"sigma": "3"}),
    ("logs", {"p": "0.95", "n": "10"}),
    ("logs", {"p": "0.05"}),
    ("descent", {"rate": "1000.0", "steps": "300"}),
    ("descent", {"rate": "1.01", "steps": "1"}),
    ("bernoulli", {"spread": "0.5", "shown": "0"}),
    ("bernoulli", {"spread": "0.2", "seed": "9"}),
    ("categorical", {"spread": "0.2", "point": "180"}),
    ("categorical", {"spread": "0.5", "seed": "9", "point": "1"}),
    ("kl", {"alpha": "1.0", "n": "10000"}),
    ("noise", {"outliers": "8", "offset": "20"}),
    ("noise", {"outliers": "0", "offset": "0"}),
    ("noise", {"outliers": "8", "offset": "4", "sample": "7"}),
])
def test_extreme_deep_links(step_id, params):
    open_step(PAGE, LESSON, step_id, params)


def test_moving_controls_to_their_ends():
    at = open_at({"mode": "present", "step": "descent"})
    ok(at.select_slider(key="losses.descent.rate").set_value(1000.0).run())
    assert any("Diverging" in e.value for e in at.error)
    ok(at.select_slider(key="losses.descent.rate").set_value(0.5).run())
    assert any("Converging" in s.value for s in at.success)
    at = open_at({"mode": "present", "step": "line"})
    ok(at.slider(key="losses.line.sigma").set_value(0.02).run())
    assert not [e for e in at.error if "could not run" in e.value]
