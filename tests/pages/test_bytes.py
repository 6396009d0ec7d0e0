"""Issue #12's byte budgets: what each step's default Present view sends to the browser (chart specs
with their data, tables) is at most 100 KB, and a lesson (the sum of its steps: what its Self-paced
page sends) at most 250 KB. Measured as `python tools/bench_bytes.py` measures it (protobuf bytes
under AppTest with the shipped cache); bytes are deterministic, so the numbers hold everywhere.
One AppTest per lesson."""
import pytest

from lessons import registry
from tools.bench_bytes import LESSON_BUDGET, STEP_BUDGET, lesson_bytes

ENTRIES = registry.entries()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.lesson.id for e in ENTRIES])
def test_each_step_and_the_lesson_fit_their_budgets(entry):
    sizes = lesson_bytes(entry)
    assert list(sizes) == [s.id for s in entry.lesson.steps]
    over = {sid: n for sid, n in sizes.items() if n > STEP_BUDGET}
    assert not over, f"{entry.lesson.id}: steps over {STEP_BUDGET} bytes: {over}"
    total = sum(sizes.values())
    assert total <= LESSON_BUDGET, f"{entry.lesson.id} sends {total} bytes (> {LESSON_BUDGET}): {sizes}"
    # every step with a demo sends something (a measurement of nothing would pass any budget)
    drawn = [s.id for s in entry.lesson.steps if s.demo is not None]
    assert all(sizes[sid] > 0 for sid in drawn), {sid: sizes[sid] for sid in drawn}
