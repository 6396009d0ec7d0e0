"""Random numbers for a whole group of runs in one call, each run from its own seed.

A counter-based generator: the value at position i of draw number `stream` for a run is a hash of
(the run's key, stream, i). Drawing for R runs is therefore one batched computation whose result
for a run does not depend on which other runs share the group (a run alone and in a sweep draw the
same numbers), and the integer hash gives the same bits on every device. Salmon et al. 2011
("Parallel random numbers: as easy as 1, 2, 3") is the idea; the mixing function is a
"lowbias32"-style integer hash (xor-shift, multiply) with multipliers below 2^31, so every
product of a 32-bit value fits in int64 without overflow.

The engine draws initial weights this way (always, on the CPU: identical on every machine) and,
on accelerators, the per-step randomness (dropout masks, RReLU slopes, input noise, minibatch
order), where one batched draw replaces one kernel launch per run. On the CPU per-step draws use
one torch.Generator per run (engine/stages.py), which is several times faster there.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

M32 = 0xFFFFFFFF
_GOLDEN = 0x9E3779B1  # odd: i -> i * golden is a bijection mod 2^32
_A, _B = 0x7FEB352D, 0x2C1B3C6D  # < 2^31: (x < 2^32) * A < 2^63, no int64 overflow


def _mix(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit avalanche hash of int64 tensors holding values in [0, 2^32)."""
    x = x ^ (x >> 16)
    x = (x * _A) & M32
    x = x ^ (x >> 15)
    x = (x * _B) & M32
    return x ^ (x >> 16)


def keys(seeds: Sequence[int], salt: int, device=None) -> torch.Tensor:
    """(R,) int64 keys, one per run, from non-negative integer seeds; `salt` separates uses."""
    s = torch.as_tensor([int(x) & M32 for x in seeds], dtype=torch.int64, device=device)
    return _mix(_mix(s ^ (salt & M32)) ^ ((salt * _GOLDEN) & M32))


def bits(k: torch.Tensor, stream: int, n: int) -> torch.Tensor:
    """(R, n) int64 values in [0, 2^32): position i of draw `stream` for each run's key."""
    base = _mix(k ^ ((stream * _GOLDEN + 0x632BE5AB) & M32))  # (R,)
    i = torch.arange(n, dtype=torch.int64, device=k.device)
    return _mix((base[:, None] + ((i * _GOLDEN) & M32)) & M32)


def uniform(k: torch.Tensor, stream: int, shape: Sequence[int]) -> torch.Tensor:
    """(R, *shape) float32 uniform on [0, 1) with 24 random bits (float32's mantissa)."""
    n = math.prod(shape)
    u = (bits(k, stream, n) >> 8).to(torch.float32) * (1.0 / 16777216)
    return u.view(k.shape[0], *shape)


def normal(k: torch.Tensor, stream: int, shape: Sequence[int]) -> torch.Tensor:
    """(R, *shape) float32 standard normal draws (Box-Muller on two uniforms per value)."""
    n = math.prod(shape)
    b = bits(k, stream, 2 * n)
    u1 = ((b[:, :n] >> 8) + 1).to(torch.float32) * (1.0 / 16777216)  # (0, 1]: log is finite
    u2 = (b[:, n:] >> 8).to(torch.float32) * (1.0 / 16777216)
    z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos((2 * math.pi) * u2)
    return z.view(k.shape[0], *shape)


def permutations(k: torch.Tensor, stream: int, n: int) -> torch.Tensor:
    """(R, n) int64: one random permutation of range(n) per run (a stable sort of random keys)."""
    return torch.argsort(bits(k, stream, n), dim=1, stable=True)


__all__ = ["keys", "bits", "uniform", "normal", "permutations"]
