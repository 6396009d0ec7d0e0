"""Lesson 1's page under AppTest: every preset, the extremes of every control, a diverging run."""
import pytest

from lessons.vanishing import LESSON
from tests.pages.test_pages import demo_errors, open_lesson, open_step, press_preset, warnings

PAGE = "pages/vanishing_gradients.py"


def open_at(query):
    return open_lesson(PAGE, query)


errors = demo_errors
PRESETS = LESSON.step("playground").presets  # the five of the lecture and the three rescues (ReLU, Adam)


@pytest.mark.parametrize("step, params", [
    ("chain", {"weight": "-4", "x": "-3", "depth": "2"}),
    ("chain", {"weight": "4", "x": "3", "depth": "20"}),
    ("chain", {"weight": "0"}),
    ("saturation", {"activation": "tanh", "scale": "0.01"}),
    ("saturation", {"activation": "sigmoid", "scale": "5.0"}),
    ("composition", {"k": "1"}),
    ("composition", {"k": "6"}),
    ("playground", {"data": "xor", "noise": "0", "depth": "8", "width": "2", "activation": "elu", "lr": "0.001",
                    "steps": "100", "snapshot": "0"}),
    ("playground", {"data": "gaussians", "noise": "0.5", "depth": "1", "width": "32", "activation": "tanh",
                    "optimizer": "adam", "lr": "30.0", "steps": "100"}),
    ("playground", {"data": "moons", "depth": "2", "width": "32", "activation": "leaky_relu", "steps": "2000",
                    "snapshot": "5"}),
    ("playground", {"activation": "relu", "depth": "4", "seed": "9"}),
    ("gradients", {"data": "circles", "depth": "2", "lr": "0.01", "seed": "9"}),
    ("gradients", {"data": "xor", "depth": "8", "lr": "10.0"}),
    ("init", {}),
    ("init", {"view": "after training", "activation": "relu"}),
    ("init", {"view": "zero init", "seed": "9"}),
    ("init", {"view": "in PyTorch", "activation": "relu"}),
    ("linear", {"data": "spiral", "depth": "1"}),
    ("linear", {"data": "xor", "depth": "8", "seed": "5"}),
])
def test_extreme_deep_links(step, params):
    open_step(PAGE, LESSON, step, params)


def test_diverging_run_says_so():
    at = open_at({"mode": "present", "step": "playground", "data": "spiral", "depth": "8", "width": "32",
                  "activation": "relu", "lr": "10.0", "steps": "100"})
    assert any("diverged at step" in e.value.lower() for e in at.error)
    assert not errors(at)


def test_every_preset_button():
    at = open_at({"mode": "present", "step": "playground"})
    for i, (label, values) in enumerate(PRESETS):
        press_preset(at, "vanishing_gradients", "playground", i)
        assert at.selectbox(key="vanishing_gradients.playground.data").value == values["data"]
        assert at.slider(key="vanishing_gradients.playground.depth").value == values["depth"]
        assert not errors(at)
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["test (seed 0)"].endswith("%")


def test_out_of_range_values_fall_back_with_a_notice():
    at = open_at({"mode": "present", "step": "playground", "depth": "99", "lr": "abc", "activation": "swish"})
    notice = " ".join(warnings(at))
    assert "depth" in notice and "lr" in notice and "activation" in notice
    assert at.slider(key="vanishing_gradients.playground.depth").value == 1
    assert not errors(at)


def test_init_odd_values_fall_back_with_a_notice():
    at = open_at({"mode": "present", "step": "init", "view": "sideways", "activation": "swish", "seed": "42"})
    notice = " ".join(warnings(at))
    assert "view" in notice and "activation" in notice and "seed" in notice
    assert not errors(at)


def test_pytorch_view_shows_the_code_that_runs():
    at = open_at({"step": "init", "view": "in PyTorch"})
    assert not errors(at)
    assert any("kaiming_normal_" in c.value for c in at.code)
