"""Every default view and every preset of every step is shipped: drawn from assets/cache/ alone,
it trains nothing. The runs a step needs are declared once, on the step (`Step.runs`), and
`lessons.registry.all_experiments` collects them for `engine.precompute`; this test catches a
demo that draws a run its `runs` does not declare (it would train from scratch on Community Cloud)."""
import os

import pytest

import engine.sweep as sweep
from engine.cache import SHIPPED_DIR, Cache
from lessons import registry

SHIPPED_OFF = os.environ.get("ENGINE_SHIPPED_CACHE", "").lower() in ("0", "off", "no")

VIEWS = [pytest.param(e.lesson, s.id, values, id=f"{e.module}-{s.id}-{'default' if k == 0 else f'preset{k}'}")
         for e in registry.entries() for s in e.lesson.steps if s.demo is not None
         for k, values in enumerate(s.views())]


class NotShipped(AssertionError):
    pass


@pytest.mark.skipif(SHIPPED_OFF, reason="the shipped cache is switched off (ENGINE_SHIPPED_CACHE=off)")
@pytest.mark.parametrize("lesson, step_id, values", VIEWS)
def test_view_is_shipped(lesson, step_id, values, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "_default_cache", Cache(local_dir=tmp_path, shipped_dir=SHIPPED_DIR))

    def refuse(runs, device, progress=None):
        raise NotShipped(f"{lesson.id} step {step_id!r} with {values} trains {len(runs)} run(s) that "
                         f"assets/cache/ lacks, e.g. {runs[0].to_json()[:300]}: declare them in the step's "
                         "`runs` and rerun `python -m engine.precompute lessons.registry:all_experiments --prune`")

    monkeypatch.setattr(sweep, "train_group", refuse)
    lesson.step(step_id).run(values)

