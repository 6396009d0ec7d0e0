"""Fill the shipped cache (`assets/cache/`) so a fresh deployment answers at once.

    python -m engine.precompute lessons.registry:all_experiments        # what the app ships
    python -m engine.precompute lessons.registry:all_experiments --prune   # ... and drop stale entries

Each argument names a callable `module:function` returning a list of Experiments (for example a
lesson's default views) or of `engine.memo.Memo` tables (steps that run plain torch code, under
`memo/`); the engine imports it by name only when asked, so it depends on no lesson. Entries
already present and valid are kept; missing ones are trained (batched) or computed, and written.

    python -m engine.precompute lessons.registry:all_experiments lessons.registry:all_memos --prune
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from .cache import SHIPPED_DIR, Cache
from .config import Experiment
from .memo import MEMO_DIR, Memo, read, write
from .sweep import run_many

_last = [-1]


def _bar(frac: float, text: str, width: int = 30) -> None:
    pct = int(frac * 100)
    if pct == _last[0] and frac < 1:
        return  # redraw once per percent, not once per report
    _last[0] = pct
    n = int(round(frac * width))
    sys.stderr.write(f"\r[{'#' * n}{'.' * (width - n)}] {frac * 100:5.1f}% {text[:60]:<60}")
    sys.stderr.flush()


def collect(targets: list[str]) -> list[Experiment | Memo]:
    exps: list[Experiment | Memo] = []
    for t in targets:
        mod, _, fn = t.partition(":")
        got = getattr(importlib.import_module(mod), fn or "experiments")()
        exps.extend(got)
    seen, out = set(), []
    for e in exps:
        if e.key() not in seen:
            seen.add(e.key())
            out.append(e)
    return out


def precompute(items: list[Experiment | Memo], folder: Path = SHIPPED_DIR, prune: bool = False, progress=_bar) -> dict:
    folder = Path(folder)
    exps = [e for e in items if not isinstance(e, Memo)]
    memos = [m for m in items if isinstance(m, Memo)]
    folder.mkdir(parents=True, exist_ok=True)
    reader = Cache(local_dir=folder, shipped_dir=None)
    missing = [e for e in exps if reader.get(e) is None]
    t0 = time.perf_counter()
    if missing:
        for res in run_many(missing, progress=progress, cache=False):
            reader.put(res, folder=folder)
    if progress:
        sys.stderr.write("\n")
    removed = 0
    if prune:
        keep = {e.key() for e in exps}
        for f in folder.iterdir():
            if f.name.split(".")[0] not in keep and f.suffix in (".json", ".npz"):
                f.unlink()
                removed += 1
        for e in exps:  # arrays files no longer named by their entry
            doc = reader.local / f"{e.key()}.json"
            live = json.loads(doc.read_text())["sha256"][:8]
            for f in folder.glob(f"{e.key()}.*.npz"):
                if f.name != f"{e.key()}.{live}.npz":
                    f.unlink()
                    removed += 1
    memo_dir = folder / MEMO_DIR
    computed = [m for m in memos if read(memo_dir / m.filename(), m.key()) is None]
    for m in computed:
        write(memo_dir / m.filename(), m.key(), m.fn(*m.args))
    if prune and memos and memo_dir.is_dir():  # only when memos were listed: experiments alone leave them be
        keep = {m.filename() for m in memos}
        for f in memo_dir.iterdir():
            if f.name not in keep:
                f.unlink()
                removed += 1
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return {"experiments": len(exps), "trained": len(missing), "memos": len(memos), "computed": len(computed),
            "removed_files": removed,
            "seconds": round(time.perf_counter() - t0, 1), "folder_mb": round(size / 2**20, 2)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="+", help="module:function returning a list of Experiments or Memos")
    ap.add_argument("--folder", default=str(SHIPPED_DIR))
    ap.add_argument("--prune", action="store_true", help="delete entries not in the list")
    a = ap.parse_args(argv)
    stats = precompute(collect(a.targets), Path(a.folder), prune=a.prune)
    print(" ".join(f"{k}={v}" for k, v in stats.items()))


if __name__ == "__main__":
    main()
