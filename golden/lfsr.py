"""The 32-bit Galois LFSR that drives stochastic rounding, in hardware and in golden.

One step (docs/numerics.md, "LFSR"): ``lsb = s & 1; s >>= 1; if lsb: s ^= TAPS`` with
``TAPS = 0x80200003`` (feedback polynomial x^32 + x^22 + x^2 + x + 1, primitive, so every
nonzero seed runs through all 2^32 - 1 nonzero states). A *draw* steps the register once and
returns the new state.

In hardware a step is a shift and three XOR gates. In golden, drawing one value at a time in
Python would dominate training time, so :func:`draws` produces many consecutive states at once
with the jump-ahead matrices ``A^(2^k)`` (the step is linear over GF(2)), applied through byte
lookup tables. ``tests/test_lfsr.py`` checks it against plain stepping and checks that the
polynomial is primitive.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray

__all__ = ["TAPS", "WIDTH", "step", "draws", "jump", "lane_seeds"]

WIDTH = 32
TAPS = 0x80200003
_MASK = (1 << WIDTH) - 1


def step(s: int) -> int:
    """One step of the register (scalar reference, the definition)."""
    lsb = s & 1
    s >>= 1
    if lsb:
        s ^= TAPS
    return s


def _matrix_columns(power: int) -> tuple[int, ...]:
    """Images of the 32 unit vectors under A^power (A = one step)."""
    cols = []
    for b in range(WIDTH):
        s = 1 << b
        for _ in range(power):
            s = step(s)
        cols.append(s)
    return tuple(cols)


def _compose(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """Columns of the matrix product (first b, then a)."""
    return tuple(_apply_cols(a, cb) for cb in b)


def _apply_cols(cols: tuple[int, ...], s: int) -> int:
    out = 0
    b = 0
    while s:
        if s & 1:
            out ^= cols[b]
        s >>= 1
        b += 1
    return out


@cache
def _power_of_two_columns(k: int) -> tuple[int, ...]:
    """Columns of A^(2^k), by repeated squaring."""
    if k == 0:
        return _matrix_columns(1)
    half = _power_of_two_columns(k - 1)
    return _compose(half, half)


@cache
def _byte_tables(k: int) -> np.ndarray:
    """For A^(2^k): table[byte_index, value] = image of ``value << 8*byte_index``."""
    cols = _power_of_two_columns(k)
    tables = np.zeros((4, 256), dtype=np.uint32)
    for byte in range(4):
        for v in range(256):
            tables[byte, v] = _apply_cols(cols, v << (8 * byte))
    return tables


def _apply_power_of_two(k: int, states: NDArray[np.uint32]) -> NDArray[np.uint32]:
    t = _byte_tables(k)
    s = states.astype(np.uint32)
    out: NDArray[np.uint32] = t[0][s & 0xFF] ^ t[1][(s >> 8) & 0xFF] ^ t[2][(s >> 16) & 0xFF] ^ t[3][(s >> 24) & 0xFF]
    return out


def jump(states: np.ndarray | int, n: int) -> np.ndarray:
    """The states after ``n`` steps (vectorized over an array of states)."""
    out = np.asarray(states, dtype=np.uint32)
    k = 0
    while n:
        if n & 1:
            out = _apply_power_of_two(k, out)
        n >>= 1
        k += 1
    return out


def draws(states: np.ndarray | int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` consecutive draws from each register in ``states``.

    Returns ``(values, new_states)``: ``values`` has shape ``(n,) + states.shape`` and holds the
    register after 1, 2, ..., n steps; ``new_states`` is the register after n steps.
    """
    start = np.asarray(states, dtype=np.uint32)
    if n == 0:
        return np.zeros((0,) + start.shape, dtype=np.uint32), start
    seq = _apply_power_of_two(0, start)[None, ...]
    k = 0
    while seq.shape[0] < n:
        seq = np.concatenate([seq, _apply_power_of_two(k, seq)], axis=0)
        k += 1
    seq = seq[:n]
    return seq, seq[-1].copy()


def lane_seeds(seed: int, lanes: int) -> np.ndarray:
    """Seeds of the per-lane registers, derived from one config seed.

    Lane ``l`` starts at the config seed jumped ahead by ``l * 2^24`` steps, so lanes walk
    disjoint stretches of the one m-sequence for 16 million draws each.
    """
    if not 1 <= seed <= _MASK:
        raise ValueError(f"lfsr_seed: {seed!r} is outside the allowed range 1..{_MASK}")
    return np.array([int(jump(seed, lane << 24)) for lane in range(lanes)], dtype=np.uint32)
