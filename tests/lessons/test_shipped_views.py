"""Every default view and every preset of every step is shipped: drawn from assets/cache/ alone,
it trains nothing and builds no torch.optim optimizer. The runs a step needs are declared once, on
the step (`Step.runs`), and `lessons.registry.all_experiments` collects them for `engine.precompute`;
the plain-torch tables some steps show are `engine.memo.Memo`s that `lessons.registry.all_memos`
collects. This test catches a demo that draws a run its `runs` does not declare, or a table no
`memos()` lists (it would train from scratch on Community Cloud), and a view that builds a
torch.optim optimizer: that imports torch._dynamo, about 70 MB of server memory that stays.

The views are drawn in a fresh Python process, so nothing another test computed or imported (an
in-memory cache, torch._dynamo) can hide a miss."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cache import SHIPPED_DIR
from engine.memo import MEMO_DIR, read
from lessons import registry

SHIPPED_OFF = os.environ.get("ENGINE_SHIPPED_CACHE", "").lower() in ("0", "off", "no")
ROOT = Path(__file__).resolve().parents[2]

DRAW_EVERY_VIEW = r"""
import json, sys
import torch
import engine.sweep as sweep
from lessons import registry

class NotShipped(Exception):
    pass

def refuse_training(runs, device, progress=None):
    raise NotShipped(f"trains {len(runs)} run(s) that assets/cache/ lacks, e.g. {runs[0].to_json()[:300]}: "
                     "declare them in the step's `runs` and rerun the precompute command")

def refuse_optimizer(self, *args, **kwargs):
    raise NotShipped("builds a torch.optim optimizer (torch._dynamo, ~70 MB): compute worked numbers with "
                     "engine.optim.walk, and ship a plain-torch table as an engine.memo.Memo listed by memos()")

sweep.train_group = refuse_training
torch.optim.Optimizer.__init__ = refuse_optimizer
problems, views = [], 0
for e in registry.entries():
    for s in e.lesson.steps:
        try:
            if s.worked:
                s.worked_text()
        except NotShipped as x:
            problems.append(f"{e.lesson.id} step {s.id!r}, worked numbers: {x}")
        if s.demo is None:
            continue
        for k, values in enumerate(s.views()):
            views += 1
            try:
                s.run(values)
            except NotShipped as x:
                problems.append(f"{e.lesson.id} step {s.id!r} {'default' if k == 0 else f'preset {k}'} {values}: {x}")
print(json.dumps({"views": views, "problems": problems, "dynamo": "torch._dynamo" in sys.modules}))
"""


@pytest.mark.skipif(SHIPPED_OFF, reason="the shipped cache is switched off (ENGINE_SHIPPED_CACHE=off)")
def test_every_view_is_shipped_and_builds_no_torch_optimizer(tmp_path):
    env = dict(os.environ, ENGINE_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", DRAW_EVERY_VIEW], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["views"] > 100
    assert not got["problems"], "\n".join(got["problems"])
    assert not got["dynamo"], "a view imported torch._dynamo (about 70 MB of server memory)"


@pytest.mark.skipif(SHIPPED_OFF, reason="the shipped cache is switched off (ENGINE_SHIPPED_CACHE=off)")
def test_every_memo_is_shipped_for_the_code_as_it_is():
    """A memo's key hashes its function's source, so editing the code without rerunning the precompute
    command leaves the shipped table unused: the app would compute it on the server."""
    stale = [m.filename() for m in registry.all_memos() if read(SHIPPED_DIR / MEMO_DIR / m.filename(), m.key()) is None]
    assert not stale, ("not shipped: " + ", ".join(stale) + "; run python -m engine.precompute "
                       "lessons.registry:all_experiments lessons.registry:all_memos --prune")


TRAINS_BATCH_NORM = {"_bn_modes_table"}  # memos whose nets drift with the CPU's rounding (see below)


@pytest.mark.skipif(SHIPPED_OFF, reason="the shipped cache is switched off (ENGINE_SHIPPED_CACHE=off)")
def test_shipped_memos_are_what_the_code_computes():
    """The key covers the function and the helpers it names, not the data sets under them: one table of
    each kind is recomputed here and must be the shipped one: the same rows and labels, and numbers
    close enough that a table computed from other data would stand out. Not always to 1e-3: these
    tables train real nets, and another CPU's kernels round differently. On a second Xeon, batch norm's
    table (a BN net trained per seed) moved by up to 6% in its running-mean shift and 0.011 in
    accuracy (17 of 1,600 test points), the other tables by under 1e-5."""
    import pandas as pd

    firsts = {}
    for m in registry.all_memos():
        firsts.setdefault(m.fn, m)
    for m in firsts.values():
        shipped, again = read(SHIPPED_DIR / MEMO_DIR / m.filename(), m.key()), m.fn(*m.args)
        assert list(shipped.columns) == list(again.columns) and len(shipped) == len(again), m.filename()
        for col in shipped.columns:
            if pd.api.types.is_float_dtype(shipped[col]):
                rtol, atol = (0.1, 0.02) if m.fn.__name__ in TRAINS_BATCH_NORM else (1e-3, 2e-3)
                pd.testing.assert_series_equal(shipped[col], again[col], check_exact=False, rtol=rtol, atol=atol,
                                               obj=f"{m.filename()}[{col}]")
            else:
                assert shipped[col].tolist() == again[col].tolist(), f"{m.filename()}[{col}]"
