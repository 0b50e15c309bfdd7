"""Amaranth builders for the integer primitives of docs/numerics.md.

Each function returns a combinational expression that computes, bit for bit, the function of
the same name in ``plasticore.golden.numerics``. Amaranth arithmetic widens its results (``a + b`` gains a
bit, ``a * b`` has the sum of the widths), so every intermediate value is exact, exactly like
golden's int64; the only place a value is narrowed is :func:`saturate`, which clamps first.
"""

from __future__ import annotations

from amaranth.hdl import Const, Mux, Value, signed, unsigned

from plasticore.golden.numerics import signed_range, unsigned_range

__all__ = ["saturate", "rshift_round", "decay", "shape_of", "multiply_by_bits", "const_mul", "csd_digits"]


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


def const_mul(x: Value, q: int, logic: bool = True) -> Value:
    """``x * q`` for a constant ``q >= 0``: with ``logic``, as shifts and adds over the
    canonical signed digits of ``q`` (exact, like ``*``, which synthesis would map onto a hard
    multiplier even with a constant operand), else ``x * q``."""
    if not logic:
        return x * q
    if q == 0:
        return Const(0, x.shape())
    digits = csd_digits(q)
    positive = [x << shift for shift, sign in digits if sign > 0]  # the top digit is always +1
    negative = [x << shift for shift, sign in digits if sign < 0]
    total = _adder_tree(positive)
    return total - _adder_tree(negative) if negative else total


def _adder_tree(terms: list) -> Value:
    """The sum of ``terms`` as a balanced tree of adders (depth log2 of their number)."""
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


def decay(x: Value, q: int, decay_bits: int, logic: bool = False) -> Value:
    """``rshift_round(x * q, decay_bits)`` with a constant factor: a constant multiplier, or
    with ``logic`` shifts and adds (:func:`const_mul`)."""
    return rshift_round(const_mul(x, q, logic), decay_bits)


def multiply_by_bits(x: Value, y: Value) -> Value:
    """``x * y`` for an unsigned ``y``, as the sum of ``x << k`` over the set bits ``k`` of ``y``
    (a balanced adder tree). Exactly ``x * y``; written out so that synthesis builds it from
    logic instead of a hard multiplier (it maps every ``*`` it sees onto one)."""
    terms = [Mux(y[k], x << k, 0) for k in range(len(y))]
    if not terms:
        return x * 0
    return _adder_tree(terms)
