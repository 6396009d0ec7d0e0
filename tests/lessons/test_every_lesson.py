"""Every registered lesson: each step with a demo returns at least one chart, and every chart carries
data; a step without a demo is a check (questions)."""
import re

import pytest

from lessons import registry
from lessons.walkthrough import Chart, flatten

STEPS = [pytest.param(e.lesson, s.id, id=f"{e.module}-{s.id}") for e in registry.entries() for s in e.lesson.steps]


@pytest.mark.parametrize("lesson, step_id", STEPS)
def test_every_step_returns_its_outputs(lesson, step_id):
    step = lesson.step(step_id)
    outs = step.run({})
    if step.demo is None:
        assert step.checks()
        return
    charts = [o for o in flatten(outs) if isinstance(o, Chart)]
    assert charts, step.id
    for c in charts:
        spec = c.chart.to_dict()
        assert "datasets" in spec and all(len(v) > 0 for v in spec["datasets"].values())
        # a '.' or bracket in a field is a path into nested data for Vega-Lite: the layer draws nothing
        paths = [f for f in _fields({k: v for k, v in spec.items() if k != "datasets"})
                 if re.search(r"(?<!\\)[.\[]", f)]
        assert not paths, f"{step.id}: fields read as paths {paths}"


def _fields(node) -> list:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "field" and isinstance(v, str)] + \
            [f for k, v in node.items() if k != "field" for f in _fields(v)]
    if isinstance(node, list):
        return [f for v in node for f in _fields(v)]
    return []
