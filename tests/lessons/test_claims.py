"""Every claim of every lesson, retrained with the cache off: the predicate holds in at least
`min_held` of its seeds (scaled when a claim's smaller test sweep is used), and every note and
question that quotes it fills in with no placeholder left over.

This is what keeps the notes true after the shipped cache is regenerated, on another machine or on
a GPU: the words quote these measurements, never one cached run."""
import pytest

from lessons import registry
from lessons.claims import measure, placeholders

STEPS = [pytest.param(e.lesson, s, id=f"{e.module}-{s.id}") for e in registry.entries()
         for s in e.lesson.steps if s.claims]


def _texts(step) -> list[str]:
    out = [step.notice]
    for q in step.checks():
        out += [q.prompt, *map(str, q.options), *q.explanations]
    return out


def test_claim_ids_are_unique_per_lesson():
    for e in registry.entries():
        ids = [c.id for s in e.lesson.steps for c in s.claims]
        assert len(ids) == len(set(ids)), e.module


@pytest.mark.parametrize("lesson, step", STEPS)
def test_claims_hold_when_retrained(lesson, step):
    ev = measure(step.claims, cache=False, smoke=True)
    for c in step.claims:
        e = ev[c.id]
        assert e.stands, f"{lesson.id}/{step.id}/{c.id}: held in {e.of}, needs {e.needed}\n{e.table}"
    quoted = set().union(*(placeholders(t, ev) for t in _texts(step)))
    assert quoted == {c.id for c in step.claims}, "every claim is quoted, and only claims are"
    filled = [step.notice_text(ev)] + [t for q in step.checks_filled(ev)
                                       for t in (q.prompt, *q.options, *q.explanations)]
    for t in filled:
        assert not placeholders(t, ev), t
