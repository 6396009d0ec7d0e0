"""Claims as values: a comparative statement measured over seeds, declared once per lesson.

DESIGN.md, "Evidence, not anecdotes": a statement such as "dropout lowers the validation loss" is
a sweep over at least 10 seeds trained as one batched `run_many`, a statistic per seed, and a
predicate. This module holds that one value and what reads it:

- the lesson's note quotes it through placeholders, e.g. ``{dropout_val.of}`` -> "10 of 10 seeds",
  ``{dropout_val[gap]:.2f}`` -> the mean of the per-seed statistic "gap" over seeds,
  ``{dropout_val.sd[gap]:.2f}`` / ``.lo[...]`` / ``.hi[...]`` -> its spread (see `fill`);
- the demo draws every seed's value plus the mean and spread (`seed_chart`, `evidence_chart`);
- the tests retrain it with the cache off and assert `Evidence.stands` (tests/lessons/test_claims.py),
  so a note can never outlive the runs behind it.

    claim = Claim("dropout_val", experiments=lambda s: [base(s), base(s, dropout=0.2)],
                  statistic=lambda r: {"gap": r[0].final["val_loss"] - r[1].final["val_loss"]},
                  holds=lambda v: v["gap"] > 0)
    ev = claim.measure()          # one run_many over all seeds (shipped cache first)
    ev.of, ev["gap"], ev.table    # "10 of 10 seeds", the mean gap, one row per seed
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from engine import Experiment, run_many

SEEDS = tuple(range(10))  # ten seeds: the course's minimum for a comparative statement


@dataclass(frozen=True)
class Claim:
    """One comparative statement as a measurement.

    id: the placeholder name in notes (a Python identifier, unique within the lesson).
    experiments(seed): the runs that one seed needs (vary init and/or data seed with it).
    statistic(results): that seed's numbers, from its results in the order `experiments` gave them,
        as {name: float}.
    holds(values): the predicate on one seed's numbers.
    min_held: the claim stands when it holds in at least this many of the seeds (a margin: the
        wording says how often it held, the test demands at least this).
    test_seeds: a smaller set of seeds the test may retrain instead of `seeds` when the full sweep
        is too slow for CI (the test says so); None = retrain all of `seeds`.
    what: one line saying what is compared, for tooltips and captions.
    """

    id: str
    experiments: Callable[[int], Sequence[Experiment]]
    statistic: Callable[[list], dict]
    holds: Callable[[dict], bool]
    seeds: tuple = SEEDS
    min_held: int = 8
    test_seeds: Optional[tuple] = None
    what: str = ""

    def __post_init__(self):
        if not self.id.isidentifier():
            raise ValueError(f"claim id {self.id!r} must be a Python identifier")
        if len(self.seeds) < 10:
            raise ValueError(f"claim {self.id!r}: a claim is measured over at least 10 seeds")
        if not 0 < self.min_held <= len(self.seeds):
            raise ValueError(f"claim {self.id!r}: min_held must be in [1, {len(self.seeds)}]")

    def runs(self, seeds: Optional[Sequence[int]] = None) -> list[Experiment]:
        """Every experiment of the sweep (what the shipped cache must hold)."""
        return [e for s in (self.seeds if seeds is None else seeds) for e in self.experiments(s)]

    def measure(self, progress=None, cache=True, seeds: Optional[Sequence[int]] = None,
                smoke: bool = False) -> "Evidence":
        return measure([self], progress=progress, cache=cache, seeds=seeds, smoke=smoke)[self.id]


@dataclass
class Evidence:
    """What a claim's sweep measured: one row per seed (its statistics and whether it held). Its table
    is not changed after it is made: the statistics over seeds are worked out once (every note, check
    and prediction that quotes them, on every run of a page, reads them)."""

    claim: Claim
    table: pd.DataFrame  # seed, one column per statistic, held

    @property
    def n(self) -> int:
        return len(self.table)

    @property
    def held(self) -> int:
        return int(self.table["held"].sum())

    @property
    def of(self) -> str:
        """'9 of 10 seeds': how often the claim held, the wording every note uses."""
        return f"{self.held} of {self.n} seeds"

    @property
    def needed(self) -> int:
        """Seeds that must hold, scaled when fewer seeds than declared were measured."""
        return math.ceil(self.claim.min_held * self.n / len(self.claim.seeds) - 1e-9)

    @property
    def stands(self) -> bool:
        return self.held >= self.needed

    def _stat(self, fn) -> "_Stats":
        cols = [c for c in self.table.columns if c not in ("seed", "held")]
        return _Stats({c: fn(self.table[c].to_numpy(dtype=float)) for c in cols})

    @cached_property
    def mean(self) -> "_Stats":
        return self._stat(lambda v: _nan(np.nanmean, v))

    @cached_property
    def sd(self) -> "_Stats":
        return self._stat(lambda v: _nan(lambda x: np.nanstd(x, ddof=1) if np.isfinite(x).sum() > 1 else 0.0, v))

    @cached_property
    def lo(self) -> "_Stats":
        return self._stat(lambda v: _nan(np.nanmin, v))

    @cached_property
    def hi(self) -> "_Stats":
        return self._stat(lambda v: _nan(np.nanmax, v))

    def __getitem__(self, name: str) -> float:
        """The mean over seeds of the statistic `name` (``{claim[name]:.2f}`` in a note)."""
        return self.mean[name]


class _Stats(dict):
    """A statistic per name; a missing name raises KeyError naming the ones there are."""

    def __missing__(self, key):
        raise KeyError(f"no statistic {key!r}; there are {sorted(self)}")


def _nan(fn, v: np.ndarray) -> float:
    v = np.asarray(v, dtype=float)
    if not np.isfinite(v).any():
        return float("nan")
    return float(fn(np.where(np.isfinite(v), v, np.nan)))


def measure(claims: Sequence[Claim], progress=None, cache=True, seeds: Optional[Sequence[int]] = None,
            smoke: bool = False) -> dict[str, Evidence]:
    """Measure several claims with one `run_many` (identical runs shared, shipped cache first).

    `seeds` overrides every claim's seeds; `smoke=True` uses each claim's `test_seeds` where it
    declares them (the smaller sweep a test retrains)."""
    plan, exps = [], []
    for c in claims:
        own = c.test_seeds if smoke and c.test_seeds else c.seeds
        for s in (own if seeds is None else seeds):
            runs = list(c.experiments(s))
            plan.append((c, s, len(exps), len(runs)))
            exps.extend(runs)
    results = run_many(exps, progress=progress, cache=cache)
    rows: dict[str, list] = {c.id: [] for c in claims}
    for c, s, start, k in plan:
        try:
            values = {name: float(v) for name, v in dict(c.statistic(results[start:start + k])).items()}
        except (ValueError, TypeError, ZeroDivisionError, IndexError, KeyError):
            values = {}  # a statistic a diverged run cannot give counts as "did not hold"
        finite = values and all(math.isfinite(v) for v in values.values())
        try:
            held = bool(c.holds(values)) if finite else False
        except (ValueError, TypeError, KeyError, ZeroDivisionError):
            held = False
        rows[c.id].append({"seed": s, **values, "held": held})
    return {c.id: Evidence(c, pd.DataFrame(rows[c.id])) for c in claims}


# ---------------------------------------------------------------- notes quote evidence

_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)((?:\.\w+|\[\w+\])*)(?::([^{}]*))?\}")


def placeholders(text: str, names) -> set[str]:
    """The claim ids that `text` quotes (only names in `names` count: LaTeX braces are left alone)."""
    names = set(names)
    return {m.group(1) for m in _PLACEHOLDER.finditer(text or "") if m.group(1) in names}


def fill(text: str, evidence: dict[str, Evidence]) -> str:
    """Replace ``{id.attr}``, ``{id[stat]:fmt}``, ``{id.sd[stat]:fmt}`` with measured values.

    Only ids in `evidence` are touched, so LaTeX such as ``\\frac{1}{2}`` passes through. A
    placeholder that names a missing statistic raises KeyError (tests catch it)."""
    if not text or not evidence:
        return text

    def sub(m: re.Match) -> str:
        name, path, fmt = m.group(1), m.group(2), m.group(3)
        if name not in evidence:
            return m.group(0)
        obj = evidence[name]
        for part in re.findall(r"\.\w+|\[\w+\]", path):
            obj = getattr(obj, part[1:]) if part.startswith(".") else obj[part[1:-1]]
        if fmt is None and isinstance(obj, float):
            fmt = ".2f"
        return format(obj, fmt or "")

    return _PLACEHOLDER.sub(sub, text)


__all__ = ["SEEDS", "Claim", "Evidence", "measure", "placeholders", "fill"]
