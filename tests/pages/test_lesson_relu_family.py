"""Lesson 2's page under AppTest: the extremes of every control, every preset, a diverging run.
Steps are named by id (links say ?step=<id>), so adding or moving a step changes nothing here."""
import pytest

from lessons.relu_family import LESSON
from tests.pages.test_pages import demo_errors, ok, open_lesson, open_step, press_preset

PAGE = "pages/relu_family.py"


def open_at(query):
    return open_lesson(PAGE, query)



errors = demo_errors


@pytest.mark.parametrize("step_id, params", [
    ("family", {"activation": "crelu", "compare": "rrelu", "convention": "x/a", "a": "0.01", "alpha": "3.0",
                "all": "1"}),
    ("family", {"activation": "softplus", "compare": "sigmoid", "convention": "a*x", "a": "100.0", "alpha": "0.1"}),
    ("dying", {"lr": "0.001", "bias": "-1.5", "seed": "9"}),
    ("dying", {"lr": "3.0", "bias": "0.5", "optimizer": "sgd"}),
    ("slopes", {"prelu_init": "0.0", "lower": "0.5", "upper": "0.125"}),
    ("slopes", {"prelu_init": "1.0", "lower": "0.0", "upper": "1.0"}),
    ("crelu", {"width": "8", "depth": "1"}),
    ("crelu", {"width": "32", "depth": "3"}),
    ("rerun", {"seeds": "1", "width": "64"}),
    ("boundaries", {"layers": "1", "sklearn": "0", "seed": "9"}),
    ("boundaries", {"layers": "4", "sklearn": "1"}),
    ("one_layer", {"width": "1", "target": "bump", "seed": "9"}),
    ("one_layer", {"width": "64", "target": "sine"}),
    ("width_depth", {"depth": "6", "units": "4", "steps": "1000"}),
    ("width_depth", {"depth": "2", "units": "16"}),
    ("outputs", {"z1": "-6.0", "z2": "6.0", "z3": "6.0", "shift": "-10.0", "temperature": "0.1",
                 "task": "regression"}),
    ("outputs", {"z1": "6.0", "z2": "-6.0", "z3": "-6.0", "shift": "10.0", "temperature": "10.0",
                 "task": "multilabel"}),
])
def test_extreme_deep_links(step_id, params):
    open_step(PAGE, LESSON, step_id, params)


@pytest.mark.parametrize("step_id, params", [
    ("one_layer", {"width": "5", "seed": "-3", "target": "cosine"}),  # not an option, not a seed, no such function
    ("width_depth", {"depth": "99", "units": "7", "steps": "abc"}),
])
def test_odd_link_values_fall_back_to_defaults(step_id, params):
    at = open_at({"mode": "present", "step": step_id, **params})
    assert any(w.value.startswith("Ignored in the link") for w in at.warning)
    assert not errors(at), errors(at)
    assert at.get("vega_lite_chart") or at.get("arrow_vega_lite_chart")


def test_diverging_run_says_so():
    at = open_at({"mode": "present", "step": "dying", "lr": "3.0", "optimizer": "sgd"})
    assert any("**ReLU**:" in e.value and "diverged" in e.value for e in at.error)
    assert not errors(at)
    assert at.get("vega_lite_chart") or at.get("arrow_vega_lite_chart")


@pytest.mark.parametrize("step_id", [s.id for s in LESSON.steps if s.presets])
def test_every_preset_button(step_id):
    step = LESSON.step(step_id)
    at = open_at({"mode": "present", "step": step_id})
    for j, (_, values) in enumerate(step.presets):
        press_preset(at, LESSON.id, step.id, j)
        assert not errors(at), (step.id, j, errors(at))
        assert at.query_params["step"] == step.id  # links name steps by id
        for name, value in values.items():
            c = step.control(name)
            if value != c.default:
                assert at.query_params[name] == c.to_query(value), (step.id, name)


def test_quiz_feedback():
    at = open_at({"mode": "present", "step": "check"})
    quiz = LESSON.step("check")
    for j, q in enumerate(quiz.questions):
        key = f"{LESSON.id}.{quiz.id}.__check{j}"
        ok(at.radio(key=key).set_value(q.answer).run())
        assert any("Right" in s.value for s in at.success)
