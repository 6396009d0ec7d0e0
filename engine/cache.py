"""Results on disk, keyed by the experiment's hash (which includes the result-format version).

An entry is two files: `<key>.json` (config, final metrics, meta, the name and SHA-256 of its
arrays file) and `<key>.<sha8>.npz` (history columns and snapshots; loaded with
allow_pickle=False, never pickle). Both are written to a temp file and renamed, the `.npz` first,
so a reader sees either no entry or a complete one; naming the `.npz` by its content hash means two
processes writing the same key cannot pair one's JSON with the other's arrays. Anything unreadable,
truncated, of another format version or for another config is treated as a miss, recomputed and
replaced.

Lookups go to the shipped, read-only `assets/cache/` first (unless `ENGINE_SHIPPED_CACHE=off`, which
tests use to prove the lessons hold with it emptied), then the local cache
(`$ENGINE_CACHE_DIR`, default `$XDG_CACHE_HOME/dnn-course/engine` or `~/.cache/...`), which keeps at
most `$ENGINE_CACHE_MAX_MB` (default 512) megabytes, evicting the least recently used entries.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .config import RESULT_FORMAT_VERSION, Experiment
from .results import Result

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "assets" / "cache"


def default_local_dir() -> Path:
    env = os.environ.get("ENGINE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dnn-course" / "engine"


def _atomic_write(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _encode(res: Result) -> tuple[bytes, dict]:
    arrays = {f"h__{c}": res.history[c].to_numpy() for c in res.history.columns}
    if res.snapshots is not None:
        arrays["snapshots"] = np.asarray(res.snapshots, dtype=np.float16)
    if res.params is not None:
        arrays["params"] = np.asarray(res.params, dtype=np.float32)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    blob = buf.getvalue()
    meta = {k: v for k, v in res.meta.items() if k != "cache_hit"}
    doc = {"version": RESULT_FORMAT_VERSION, "key": res.config.key(), "config": res.config.to_dict(),
           "final": res.final, "meta": meta, "columns": list(res.history.columns),
           "sha256": hashlib.sha256(blob).hexdigest()}
    return blob, doc


def _decode(doc: dict, blob: bytes, exp: Experiment) -> Result:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        hist = pd.DataFrame({c: z[f"h__{c}"] for c in doc["columns"]})
        snaps = z["snapshots"].astype(np.float32) if "snapshots" in z.files else None
        params = z["params"] if "params" in z.files else None
    meta = dict(doc["meta"], cache_hit=True)
    return Result(config=exp, history=hist, final=dict(doc["final"]), snapshots=snaps, meta=meta, params=params)


class Cache:
    def __init__(self, local_dir: Path | str | None = None, shipped_dir: Path | str | None = SHIPPED_DIR,
                 max_bytes: int | None = None):
        self.local = Path(local_dir) if local_dir is not None else default_local_dir()
        if shipped_dir is SHIPPED_DIR and os.environ.get("ENGINE_SHIPPED_CACHE", "").lower() in ("0", "off", "no"):
            shipped_dir = None  # ENGINE_SHIPPED_CACHE=off: behave as if assets/cache/ were empty
        self.shipped = Path(shipped_dir) if shipped_dir is not None else None
        mb = float(os.environ.get("ENGINE_CACHE_MAX_MB", "512") or 512)
        self.max_bytes = int(max_bytes if max_bytes is not None else mb * 2**20)

    # -- reading ---------------------------------------------------------------
    def _read(self, folder: Path, exp: Experiment, touch: bool) -> Result | None:
        key = exp.key()
        jpath = folder / f"{key}.json"
        try:
            doc = json.loads(jpath.read_text())
            same = doc.get("key") == key and doc.get("config") == json.loads(exp.to_json())
            if doc.get("version") != RESULT_FORMAT_VERSION or not same:
                return None
            npath = folder / f"{key}.{doc['sha256'][:8]}.npz"
            blob = npath.read_bytes()
            if hashlib.sha256(blob).hexdigest() != doc["sha256"]:
                return None
            res = _decode(doc, blob, exp)
        except Exception:  # noqa: BLE001 - a damaged entry is a miss, never an error
            return None
        if touch:
            try:
                os.utime(jpath)
            except OSError:
                pass
        return res

    def get(self, exp: Experiment) -> Result | None:
        if self.shipped is not None and self.shipped.is_dir():
            res = self._read(self.shipped, exp, touch=False)
            if res is not None:
                return res
        return self._read(self.local, exp, touch=True)

    # -- writing ---------------------------------------------------------------
    def put(self, res: Result, folder: Path | str | None = None) -> Path:
        """Store `res` (in the local cache unless `folder` is given); returns the JSON path."""
        target = Path(folder) if folder is not None else self.local
        blob, doc = _encode(res)
        key = doc["key"]
        _atomic_write(target / f"{key}.{doc['sha256'][:8]}.npz", blob)
        jpath = target / f"{key}.json"
        _atomic_write(jpath, json.dumps(doc, sort_keys=True).encode())
        if folder is None:
            self.evict()
        return jpath

    def evict(self) -> None:
        """Drop least-recently-used local entries beyond max_bytes, and orphaned arrays files."""
        try:
            files = list(self.local.iterdir())
        except OSError:
            return
        entries = {}
        for f in files:
            if f.suffix == ".json":
                entries.setdefault(f.name[:-5], []).append(f)
        total, items = 0, []
        for f in files:
            if f.suffix == ".npz":
                key = f.name.split(".")[0]
                if key not in entries:
                    _unlink(f)
                    continue
                entries[key].append(f)
        for key, fs in entries.items():
            try:
                size = sum(x.stat().st_size for x in fs)
                mtime = (self.local / f"{key}.json").stat().st_mtime
            except OSError:
                continue
            total += size
            items.append((mtime, size, fs))
        items.sort(key=lambda x: x[0])
        while total > self.max_bytes and items:
            _, size, fs = items.pop(0)
            for f in fs:
                _unlink(f)
            total -= size


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass
