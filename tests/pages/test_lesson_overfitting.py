"""Lesson 5's page under AppTest: every preset, the extremes of every control, bad link values."""
import pytest

from lessons.overfitting import LESSON
from tests.pages.test_pages import demo_errors, open_lesson, open_step, press_preset, warnings

PAGE = "pages/overfitting.py"


def open_at(query):
    return open_lesson(PAGE, query)


errors = demo_errors



@pytest.mark.parametrize("step, params", [
    ("diagram", {"layers": "0", "units": "1"}),
    ("diagram", {"data": "digits", "layers": "6", "units": "128"}),
    ("capacity", {"lr": "0.005", "steps": "500", "seed": "4"}),
    ("capacity", {"lr": "0.05", "steps": "3000", "seed": "9"}),
    ("splits", {"val_frac": "0.1", "test_frac": "0.1", "seed": "3"}),
    ("splits", {"val_frac": "0.4", "test_frac": "0.4", "seed": "9"}),
    ("early_stopping", {"patience": "1", "restore": "0"}),
    ("early_stopping", {"patience": "30", "restore": "1", "seed": "4"}),
    ("kfold", {"k": "2"}),
    ("kfold", {"k": "10", "seed": "9"}),
    ("bias_variance", {"degree": "0", "noise": "0.1", "n": "15"}),
    ("bias_variance", {"degree": "12", "noise": "1.0", "n": "60"}),
    ("features", {"m": "1", "n_train": "10", "noise": "0.1"}),
    ("features", {"m": "30", "n_train": "30", "noise": "1.0", "draw": "19"}),
    ("features", {"m": "10", "n_train": "10"}),
    ("collinear", {"rho": "0.0"}),
    ("collinear", {"rho": "0.999"}),
    ("bottleneck", {"steps": "200", "seed": "9"}),
    ("bottleneck", {"steps": "800"}),
    ("search", {"budget": "9", "seed": "9"}),
    ("search", {"budget": "25", "seed": "0"}),
    ("leak", {"size": "10", "seed": "9"}),
    ("leak", {"size": "320"}),
    ("remedies", {}),
    ("check", {}),
])
def test_extreme_deep_links(step, params):
    open_step(PAGE, LESSON, step, params)


@pytest.mark.parametrize("step_id", [s.id for s in LESSON.steps if s.presets])
def test_every_preset_button(step_id):
    step = LESSON.step(step_id)
    at = open_at({"mode": "present", "step": step_id})
    for j, (_, values) in enumerate(step.presets):
        press_preset(at, "overfitting", step.id, j)
        assert not errors(at), errors(at)
        for name, value in values.items():
            assert at.session_state[f"overfitting.{step.id}.{name}"] == value


def test_early_stopping_metrics_on_the_page():
    at = open_at({"mode": "present", "step": "early_stopping", "seed": "2"})
    metrics = {m.label: m.value for m in at.metric}
    # patience 10 evaluations of 20 updates: it stops 11 evaluations after the best one
    stopped, best = (metrics[LESSON.text(f"early_stopping.{k}")] for k in ("stopped_at", "best_at"))
    assert int(stopped) - int(best) == 11 * 20


def test_bad_values_fall_back_with_a_notice():
    at = open_at({"mode": "present", "step": "kfold", "k": "99", "seed": "x"})
    notice = " ".join(warnings(at))
    assert "k" in notice and "seed" in notice
    assert at.slider(key="overfitting.kfold.k").value == 5
    assert not errors(at)
    at = open_at({"mode": "present", "step": "collinear", "rho": "1.0"})
    assert "rho" in " ".join(warnings(at))
    assert not errors(at)
    at = open_at({"mode": "present", "step": "capacity", "lr": "nan", "steps": "750"})
    notice = " ".join(warnings(at))
    assert "lr" in notice
    assert not errors(at)


def test_odd_values_on_the_new_steps():
    at = open_at({"mode": "present", "step": "diagram", "data": "mnist", "layers": "-1", "units": "999"})
    notice = " ".join(warnings(at))
    assert "data" in notice and "layers" in notice and "units" in notice
    assert not errors(at) and at.slider(key="overfitting.diagram.units").value == 10
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[LESSON.text("diagram.total")] == metrics[LESSON.text("diagram.engine")] == "221"
    at = open_at({"mode": "present", "step": "search", "budget": "17", "seed": "2.5"})
    notice = " ".join(warnings(at))
    assert "budget" in notice and "seed" in notice
    assert not errors(at)
