"""How a training pass uses the CPU: torch's threads, numpy's BLAS threads and glibc's allocator.

Process-wide settings, so each is explained where it is made. The trainer enters `cpu_threads()`
and `blas_one_thread()` around every pass; the allocator is tuned once, at import.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import torch


def _tune_malloc() -> None:
    """Keep glibc from returning every freed activation buffer to the OS.

    A stacked pass allocates many ~0.5 MB tensors per step; above glibc's mmap threshold each is a
    fresh mmap + page faults, which doubled the step time of the benchmark on a 2-core CPU.
    Raising the threshold keeps them in the heap. No-op where glibc is absent.
    """
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 32 * 2**20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 * 2**20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError, TypeError):
        pass


_tune_malloc()


def training_threads() -> int:
    """Intra-op threads for a training pass: $ENGINE_THREADS if set, else all of torch's threads when
    the machine is idle (1-minute load average < 0.5) and one thread otherwise.

    A stacked step is many small ops. On the 2-core development machine two threads were up to
    100x slower whenever another process held a core (OpenMP threads wait for each other), and
    since the CPU kernels moved to numpy (engine/kernels.py, single-threaded) they gain little or
    nothing when idle (benchmark 0.31 vs 0.32 s; the lessons' sweeps 26.5 vs 25.4 s): one thread
    is never far from the best.
    """
    want = os.environ.get("ENGINE_THREADS", "").strip()
    if want.isdigit() and int(want) > 0:
        return int(want)
    try:
        idle = os.getloadavg()[0] < 0.5
    except OSError:
        idle = False
    return _DEFAULT_THREADS if idle else 1


_DEFAULT_THREADS = torch.get_num_threads()


@contextmanager
def cpu_threads():
    """Train with `training_threads()` threads, then restore the process setting."""
    before = torch.get_num_threads()
    n = training_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != before:
            torch.set_num_threads(before)


_BLAS = {"lock": threading.Lock(), "users": 0, "limiter": None, "controller": None}


@contextmanager
def blas_one_thread():
    """numpy's BLAS at one thread while any training pass runs in this process.

    The CPU kernels (engine/kernels.py) call numpy's OpenBLAS for small per-run products that gain
    nothing from more threads, and OpenBLAS threads that spin beside torch's OpenMP threads made
    the lessons' sweeps 7x slower on an idle 2-core machine (180 s instead of 26 s). Counted, so
    that concurrent sessions restore the process setting only when the last pass ends.
    """
    b = _BLAS
    with b["lock"]:
        if b["users"] == 0:
            try:
                from threadpoolctl import ThreadpoolController

                if b["controller"] is None:
                    b["controller"] = ThreadpoolController()
                b["limiter"] = b["controller"].limit(limits=1, user_api="blas")
            except Exception:  # noqa: BLE001 - no threadpoolctl or an unknown BLAS: train as is
                b["limiter"] = None
        b["users"] += 1
    try:
        yield
    finally:
        with b["lock"]:
            b["users"] -= 1
            if b["users"] == 0 and b["limiter"] is not None:
                b["limiter"].restore_original_limits()
                b["limiter"] = None
