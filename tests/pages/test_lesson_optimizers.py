"""Lesson 4's page under AppTest: every preset, the extremes of every control, diverging runs."""
import pytest

from lessons.optimizers import LESSON, RACE_PRESETS
from tests.pages.test_pages import choice, demo_errors, ok, open_lesson, open_step, press_preset, warnings

PAGE = "pages/optimizers.py"


def open_at(query):
    return open_lesson(PAGE, query)


errors = demo_errors



@pytest.mark.parametrize("step, params", [
    ("lr", {"lr": "0.0003", "steps": "100"}),
    ("lr", {"lr": "1.0", "steps": "1000", "seed": "9"}),
    ("normalise", {}),
    ("normalise", {"model": "linear", "steps": "300"}),
    ("normalise", {"model": "linear", "steps": "100"}),
    ("batch", {"epochs": "2", "lr": "0.01"}),
    ("batch", {"epochs": "40", "lr": "0.3", "seed": "5"}),
    ("race", {"surface": "beale", "mult": "0.25", "steps": "100", "x0": "-4.5", "y0": "-4.5"}),
    ("race", {"surface": "rosenbrock", "mult": "4.0", "steps": "500", "x0": "4.5", "y0": "4.5"}),
    ("race", {"surface": "saddle", "x0": "0", "y0": "0"}),
    ("race", {"iteration": "0"}),
    ("race", {"surface": "rosenbrock", "steps": "100", "iteration": "250"}),  # past the end: the whole paths
    ("momentum", {"lr": "0.005", "beta": "0.5", "steps": "30"}),
    ("momentum", {"lr": "0.02", "beta": "0.99", "steps": "50"}),
    ("momentum", {"lr": "0.09", "beta": "0.95", "steps": "200"}),
    ("zero_grad", {"lr": "0.3"}),
    ("adaptive", {"lr": "0.01", "steps": "30"}),
    ("adaptive", {"lr": "0.3", "steps": "200"}),
    ("adamw", {"lam": "0.001"}),
    ("adamw", {"lam": "0.1"}),
    ("schedules", {"lr": "0.03"}),
    ("schedules", {"lr": "1.0"}),
    ("schedules", {"lr": "1.0", "batch": "minibatches of 8"}),
    ("networks", {"data": "moons", "mult": "0.1", "steps": "100"}),
    ("networks", {"data": "digits", "mult": "10.0", "steps": "500", "seed": "3"}),
    ("batchnorm", {"activation": "tanh", "depth": "2", "lr": "0.03"}),
    ("batchnorm", {"activation": "sigmoid", "depth": "8", "lr": "1.0"}),
    ("check", {}),
])
def test_extreme_deep_links(step, params):
    open_step(PAGE, LESSON, step, params)


def test_diverging_runs_say_so():
    at = open_at({"mode": "present", "step": "lr", "lr": "1.0"})
    # rates 0.3 and 1 diverge in every seed; 0.1 in some (the lr_too_big claim), so at least two notes
    assert sum("diverged at step" in w.value for w in at.warning) >= 2
    assert not errors(at)
    at = open_at({"mode": "present", "step": "race", "mult": "2.0"})
    assert any("Nesterov: **diverged at step" in w.value or "Nesterov: diverged at step" in w.value
               for w in at.warning)
    assert not errors(at)


def test_every_preset_button():
    at = open_at({"mode": "present", "step": "race"})
    for i, (label, values) in enumerate(RACE_PRESETS):
        press_preset(at, "optimizers", "race", i)
        assert choice(at, "optimizers.race.surface").value == values["surface"]
        assert at.slider(key="optimizers.race.x0").value == pytest.approx(values["x0"])
        assert not errors(at)
        assert at.get("vega_lite_chart") or at.get("arrow_vega_lite_chart")


def test_race_iteration_slider_steps_through_the_paths():
    at = open_at({"mode": "present", "step": "race", "iteration": "40"})
    assert at.slider(key="optimizers.race.iteration").value == 40
    assert not errors(at)
    ok(at.slider(key="optimizers.race.iteration").set_value(120).run())
    assert not errors(at)
    assert any("Iteration 120 of 300" in c.value for c in [*at.caption, *at.markdown])  # a slide: under Details


def test_odd_normalise_and_iteration_values_fall_back_with_a_notice():
    at = open_at({"mode": "present", "step": "normalise", "model": "sigmoid", "steps": "7"})
    notice = " ".join(warnings(at))
    assert "model" in notice and "steps" in notice
    assert not errors(at)
    at = open_at({"mode": "present", "step": "race", "iteration": "-3"})
    assert "iteration" in " ".join(warnings(at))
    assert at.slider(key="optimizers.race.iteration").value == 500
    assert not errors(at)


def test_bad_seed_falls_back_to_seed_0_with_a_notice():
    at = open_at({"mode": "present", "step": "lr", "seed": "12"})
    assert "seed" in " ".join(warnings(at))
    assert not errors(at)


def test_out_of_range_values_fall_back_with_a_notice():
    at = open_at({"mode": "present", "step": "race", "x0": "99", "mult": "abc", "surface": "himmelblau"})
    notice = " ".join(warnings(at))
    assert "x0" in notice and "mult" in notice and "surface" in notice
    assert at.slider(key="optimizers.race.x0").value == pytest.approx(0.8)
    assert not errors(at)


def test_prediction_then_reveal():
    """The zero_grad step's prediction: answered right, the runs' verdict shows under it."""
    at = open_at({"step": "zero_grad"})
    assert not errors(at)
    ok(at.radio(key="optimizers.zero_grad.__predict").set_value(2).run())
    assert not errors(at)
    assert any("four steps in ten" in s.value for s in at.success)
