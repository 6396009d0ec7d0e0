"""Running experiments: look each up in the cache, group the misses by shape, train every group
in one stacked pass, store the results. Results come back in the order asked for."""
from __future__ import annotations

from collections import OrderedDict

import torch

from .cache import Cache
from .config import Experiment
from .device import pick_device
from .results import Result
from .train import group_key, train_group

_default_cache: Cache | None = None


def default_cache() -> Cache:
    global _default_cache
    if _default_cache is None:
        _default_cache = Cache()
    return _default_cache


def run_many(exps: list[Experiment], progress=None, device: str | torch.device | None = None,
             cache: Cache | bool = True, max_group: int = 4096) -> list[Result]:
    """Train (or fetch) every experiment; identical experiments are trained once."""
    exps = list(exps)
    store = default_cache() if cache is True else (cache or None)
    dev = device if isinstance(device, torch.device) else pick_device(device)
    out: list[Result | None] = [None] * len(exps)
    todo: "OrderedDict[str, list[int]]" = OrderedDict()
    for i, e in enumerate(exps):
        if not isinstance(e, Experiment):
            raise TypeError(f"expected an Experiment, got {type(e).__name__}")
        hit = store.get(e) if store is not None else None
        if hit is not None:
            out[i] = hit
        else:
            todo.setdefault(e.key(), []).append(i)
    groups: "OrderedDict[tuple, list[str]]" = OrderedDict()
    for key, idx in todo.items():
        groups.setdefault(group_key(exps[idx[0]]), []).append(key)
    chunks = []
    for keys in groups.values():
        for j in range(0, len(keys), max_group):
            chunks.append(keys[j:j + max_group])
    total = sum(len(c) for c in chunks) or 1
    done = 0
    for chunk in chunks:
        runs = [exps[todo[k][0]] for k in chunk]
        cb = None
        if progress is not None:
            base = done

            def cb(frac, text, base=base, n=len(chunk)):
                progress((base + frac * n) / total, f"training {n} run(s): {text}")
        results = train_group(runs, dev, cb)
        for k, res in zip(chunk, results):
            if store is not None:
                try:
                    store.put(res)
                except OSError:
                    pass  # a read-only or full disk only costs a recompute next time
            for i in todo[k]:
                out[i] = res
        done += len(chunk)
    if progress is not None:
        progress(1.0, "done")
    return out  # type: ignore[return-value]


def run(exp: Experiment, progress=None, device=None, cache: Cache | bool = True) -> Result:
    return run_many([exp], progress=progress, device=device, cache=cache)[0]
