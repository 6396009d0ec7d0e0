"""Lesson 6's page under AppTest: the extremes of every control via deep links and bad URL values."""
import pytest

from lessons.regularization import LAMBDAS, LESSON
from tests.pages.test_pages import demo_errors, open_lesson, open_step, warnings

PAGE = "pages/regularization.py"


def open_at(query):
    return open_lesson(PAGE, query)


@pytest.mark.parametrize("step, params", [
    ("l2", {"seed": "0", "lam": "0.0"}),
    ("l2", {"seed": "9", "lam": str(LAMBDAS[-1])}),
    ("l1", {"seed": "0", "lam": "0.001"}),
    ("l1", {"seed": "9", "lam": str(LAMBDAS[-1])}),
    ("geometry", {"lam": "1.0"}),
    ("geometry", {"lam": "12.0"}),
    ("decay", {}),
    ("eval", {"seed": "0"}),
    ("eval", {"seed": "9"}),
    ("dropout", {"p": "0.1", "seed": "0"}),
    ("dropout", {"p": "0.5", "seed": "9"}),
    ("noise", {"sigma": "0.1", "seed": "0"}),
    ("noise", {"sigma": "1.0", "seed": "9"}),
    ("augmentation", {"seed": "0"}),
    ("augmentation", {"seed": "9"}),
    ("smoothing", {"eps": "0.05"}),
    ("smoothing", {"eps": "0.3"}),
    ("bagging", {"b": "1", "seed": "0"}),
    ("bagging", {"b": "10", "seed": "9"}),
    ("early", {"patience": "5", "seed": "0"}),
    ("early", {"patience": "50", "seed": "9"}),
    ("check", {}),
])
def test_extreme_deep_links(step, params):
    number = [s.id for s in LESSON.steps].index(step) + 1  # the header shows it; the link names the step by id
    open_step(PAGE, LESSON, number, {**params, "step": step})


def test_bad_values_fall_back_with_a_notice():
    at = open_at({"mode": "present", "step": "l2", "lam": "7", "seed": "abc"})
    notice = " ".join(warnings(at))
    assert "lam" in notice and "seed" in notice
    assert not demo_errors(at)
    at = open_at({"mode": "present", "step": "bagging", "b": "99"})
    assert "b" in " ".join(warnings(at))
    assert at.slider(key="regularization.bagging.b").value == 10
    assert not demo_errors(at)
    at = open_at({"mode": "present", "step": "augmentation", "seed": "-3"})
    assert "seed" in " ".join(warnings(at)) and not demo_errors(at)


def test_moving_a_control_reruns_the_demo():
    at = open_at({"mode": "present", "step": "dropout"})
    at.radio(key="regularization.dropout.p").set_value(0.5).run()
    assert not at.exception and not demo_errors(at)
    assert any("0.5" in t.value for t in at.caption)
