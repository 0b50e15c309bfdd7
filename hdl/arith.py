"""Amaranth builders for the integer primitives of docs/numerics.md.

Each function returns a combinational expression that computes, bit for bit, the function of
the same name in ``golden.numerics``. Amaranth arithmetic widens its results (``a + b`` gains a
bit, ``a * b`` has the sum of the widths), so every intermediate value is exact, exactly like
golden's int64; the only place a value is narrowed is :func:`saturate`, which clamps first.
"""

from __future__ import annotations

from amaranth.hdl import Mux, Value, signed, unsigned

from golden.numerics import signed_range, unsigned_range

__all__ = ["saturate", "rshift_round", "decay", "const_mul", "csd_digits", "shape_of"]


def shape_of(bits: int, is_signed: bool = True):
    return signed(bits) if is_signed else unsigned(bits)


def saturate(x: Value, bits: int, is_signed: bool = True) -> Value:
    """Clamp ``x`` to a ``bits``-bit integer and narrow it to that shape (never wraps)."""
    lo, hi = signed_range(bits) if is_signed else unsigned_range(bits)
    clamped = Mux(x > hi, hi, Mux(x < lo, lo, x))
    narrow = clamped[:bits]
    return narrow.as_signed() if is_signed else narrow


def rshift_round(x: Value, s: int) -> Value:
    """``(x + 2**(s-1)) >> s``: round to nearest, ties up (arithmetic shift for signed x)."""
    if s == 0:
        return x
    return (x + (1 << (s - 1))) >> s


def csd_digits(q: int) -> list[tuple[int, int]]:
    """The canonical signed digits of ``q >= 0``: ``[(shift, +1 or -1), ...]`` with
    ``q == sum(sign << shift)`` and no two adjacent nonzero digits (the fewest adders)."""
    digits, shift = [], 0
    while q:
        if q & 1:
            d = 2 - (q & 3)  # +1 if q = ...01, -1 if q = ...11
            digits.append((shift, d))
            q -= d
        q >>= 1
        shift += 1
    return digits


def const_mul(x: Value, q: int) -> Value:
    """``x * q`` for a constant ``q >= 0``, as shifts and adds (exact, like ``*``).

    Synthesis would map a ``*`` onto a hard multiplier even when one operand is constant; the
    decay factors are constants of the configuration, so their products cost a few adders
    instead, leaving the DSP blocks to the products of two variables.
    """
    if q == 0:
        return x * 0
    total = None
    for shift, sign in csd_digits(q):
        term = x << shift
        total = (term if sign > 0 else -term) if total is None else (total + term if sign > 0 else total - term)
    return total


def decay(x: Value, q: int, decay_bits: int) -> Value:
    """``rshift_round(x * q, decay_bits)`` with a constant factor (shift-and-add, no multiplier)."""
    return rshift_round(const_mul(x, q), decay_bits)
