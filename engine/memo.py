"""Tables computed by plain PyTorch code, kept on disk like the engine's runs.

A few lesson steps show plain torch code and run exactly that code (a training loop without
`zero_grad()`, batch norm left in train mode, Adam's `weight_decay` against AdamW). Their output is
a table. `Memo(fn, args, deps).get()` returns `fn(*args)` from disk when it can: the shipped,
read-only `assets/cache/memo/` first (filled by `engine.precompute`), then the local cache's
`memo/` folder; otherwise it calls `fn` and stores the table locally.

Why: served from the shipped copy, the app never builds a `torch.optim` optimizer, and building one
imports `torch._dynamo`, about 70 MB of server memory that stays. A fresh deployment also shows
these steps without training.

The key hashes the function's qualified name, the source of `fn` and of every function in `deps`
(what it calls whose change would change the table), the arguments and MEMO_FORMAT_VERSION. An
entry is one `.npz` (the columns, plus a JSON header naming the key), loaded with
allow_pickle=False, never pickle, and written atomically; anything unreadable or for another key is
a miss: recomputed, never trusted. A table holds numeric and text columns.
"""
from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .cache import SHIPPED_DIR, _atomic_write, default_local_dir

MEMO_FORMAT_VERSION = 1
MEMO_DIR = "memo"  # the subfolder of a cache folder


@dataclass(frozen=True)
class Memo:
    fn: Callable[..., pd.DataFrame]
    args: tuple = ()
    deps: tuple = ()  # functions fn calls whose source belongs in the key

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    def key(self) -> str:
        src = [inspect.getsource(f) for f in (self.fn, *self.deps)]
        doc = json.dumps({"fn": self.name, "src": src, "args": list(self.args), "version": MEMO_FORMAT_VERSION},
                         sort_keys=True)
        return hashlib.sha256(doc.encode()).hexdigest()[:32]

    def filename(self) -> str:
        return f"{self.fn.__qualname__}-{self.key()}.npz"

    def get(self) -> pd.DataFrame:
        for folder in folders():
            table = read(folder / self.filename(), self.key())
            if table is not None:
                return table
        table = self.fn(*self.args)
        try:
            write(default_local_dir() / MEMO_DIR / self.filename(), self.key(), table)
        except OSError:
            pass  # a read-only disk: the table is still right, only not kept
        return table


def folders() -> list[Path]:
    """Where entries are looked up, in order: the shipped folder (unless ENGINE_SHIPPED_CACHE=off), then local."""
    out = []
    if os.environ.get("ENGINE_SHIPPED_CACHE", "").lower() not in ("0", "off", "no"):
        out.append(SHIPPED_DIR / MEMO_DIR)
    out.append(default_local_dir() / MEMO_DIR)
    return out


def encode(key: str, table: pd.DataFrame) -> bytes:
    cols = [str(c) for c in table.columns]
    text = [c for c in cols if not (pd.api.types.is_numeric_dtype(table[c]) or pd.api.types.is_bool_dtype(table[c]))]
    arrays = {f"c{i}": (table[c].astype(str).to_numpy(dtype=str) if c in text else table[c].to_numpy())
              for i, c in enumerate(cols)}
    header = {"key": key, "version": MEMO_FORMAT_VERSION, "columns": cols, "text": text}
    buf = io.BytesIO()
    np.savez_compressed(buf, header=np.array(json.dumps(header)), **arrays)
    return buf.getvalue()


def read(path: Path, key: str) -> pd.DataFrame | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            if header.get("key") != key or header.get("version") != MEMO_FORMAT_VERSION:
                return None
            return pd.DataFrame({c: (z[f"c{i}"].astype(object) if c in header["text"] else z[f"c{i}"])
                                 for i, c in enumerate(header["columns"])})
    except Exception:  # noqa: BLE001 - a missing or damaged entry is a miss, never an error
        return None


def write(path: Path, key: str, table: pd.DataFrame) -> None:
    _atomic_write(path, encode(key, table))
