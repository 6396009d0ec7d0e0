"""One place that picks the torch device: CUDA, then Apple MPS, then CPU.

`ENGINE_DEVICE` (cpu, cuda, mps) forces a choice; an unavailable one falls back to CPU with a
warning, so a notebook or the app never fails for want of a GPU.
"""
from __future__ import annotations

import os
import warnings
from functools import lru_cache

import torch

CHOICES = ("cpu", "cuda", "mps")


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return kind == "cpu"


def pick_device(prefer: str | None = None) -> torch.device:
    """The device experiments run on. `prefer` (or $ENGINE_DEVICE) forces one when available."""
    want = (prefer or os.environ.get("ENGINE_DEVICE") or "").strip().lower()
    if want:
        if want not in CHOICES:
            warnings.warn(f"ENGINE_DEVICE={want!r} is not one of {CHOICES}; using cpu", stacklevel=2)
            return torch.device("cpu")
        if not _available(want):
            warnings.warn(f"device {want!r} is not available here; using cpu", stacklevel=2)
            return torch.device("cpu")
        return torch.device(want)
    for kind in ("cuda", "mps"):
        if _available(kind):
            return torch.device(kind)
    return torch.device("cpu")


@lru_cache(maxsize=None)
def _cached_info(want: str) -> dict:
    dev = pick_device(want or None)
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
    elif dev.type == "mps":
        name = "Apple MPS"
    else:
        name = f"CPU ({torch.get_num_threads()} threads)"
    return {"device": dev.type, "name": name, "torch": torch.__version__.split("+")[0]}


def device_info() -> dict:
    """{"device": "cpu"|"cuda"|"mps", "name": human name, "torch": version} for the app's badge."""
    return dict(_cached_info(os.environ.get("ENGINE_DEVICE", "")))
