"""Amaranth builders for the integer primitives of docs/numerics.md.

Each function returns a combinational expression that computes, bit for bit, the function of
the same name in ``golden.numerics``. Amaranth arithmetic widens its results (``a + b`` gains a
bit, ``a * b`` has the sum of the widths), so every intermediate value is exact, exactly like
golden's int64; the only place a value is narrowed is :func:`saturate`, which clamps first.
"""

from __future__ import annotations

from amaranth.hdl import Mux, Value, signed, unsigned

from golden.numerics import signed_range, unsigned_range

__all__ = ["saturate", "rshift_round", "decay", "shape_of", "multiply_by_bits"]


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


def decay(x: Value, q: int, decay_bits: int) -> Value:
    """``rshift_round(x * q, decay_bits)`` with a constant factor (a constant multiplier)."""
    return rshift_round(x * q, decay_bits)


def multiply_by_bits(x: Value, y: Value) -> Value:
    """``x * y`` for an unsigned ``y``, as the sum of ``x << k`` over the set bits ``k`` of ``y``
    (a balanced adder tree). Exactly ``x * y``; written out so that synthesis builds it from
    logic instead of a hard multiplier (it maps every ``*`` it sees onto one)."""
    terms = [Mux(y[k], x << k, 0) for k in range(len(y))]
    if not terms:
        return x * 0
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]
