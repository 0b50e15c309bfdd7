"""Arithmetic primitives shared by the fixed-point and the float64 golden model.

The network code (``plasticore.golden.network``) is written once against a :class:`Numerics` object; the
fixed-point instance *is* the hardware contract of ``docs/numerics.md`` (integer states,
round-half-up shifts, saturation at the rails) and the float instance runs the same equations
on ideal real numbers (no rounding, no saturation), so the two differ only by quantization.

The helpers at module level (``sat``, ``rshift_round``, ``decay``) are the exact integer
operations; the RTL's blocks are tested against them one by one.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "signed_range",
    "unsigned_range",
    "sat",
    "rshift_round",
    "decay",
    "exact_matmul",
    "Numerics",
    "FixedNumerics",
    "FloatNumerics",
]


def signed_range(bits: int) -> tuple[int, int]:
    """Smallest and largest value of a two's complement integer of ``bits`` bits."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def unsigned_range(bits: int) -> tuple[int, int]:
    return 0, (1 << bits) - 1


def sat(x: np.ndarray, bits: int, signed: bool = True) -> np.ndarray:
    """Clamp to the range of a ``bits``-bit integer: saturation, never wrap-around."""
    lo, hi = signed_range(bits) if signed else unsigned_range(bits)
    return np.clip(x, lo, hi)


def rshift_round(x: np.ndarray, s: int) -> np.ndarray:
    """``x / 2**s`` rounded to nearest, ties toward +inf: ``(x + 2**(s-1)) >> s``.

    ``>>`` is the arithmetic (flooring) shift of two's complement hardware, so the rounding
    is the same for negative values as the RTL's adder-then-shift. ``s == 0`` is the identity.
    """
    if s == 0:
        return x
    return (x + (1 << (s - 1))) >> s


def decay(x: np.ndarray, q: int, decay_bits: int) -> np.ndarray:
    """One tick of exponential decay: ``x * q / 2**decay_bits``, rounded half up."""
    return rshift_round(x * q, decay_bits)


def exact_matmul(a: np.ndarray, b: np.ndarray, bound_bits: int) -> np.ndarray:
    """Integer ``a @ b`` computed exactly and fast.

    numpy's integer matmul does not use BLAS. When every partial sum is known to stay below
    ``2**bound_bits`` with ``bound_bits <= 52``, float64 represents all of them exactly and the
    BLAS product is bit-exact, so we use it; otherwise we fall back to int64 matmul.
    """
    if bound_bits <= 52:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)


class Numerics:
    """The operations a tick needs, in one numeric domain."""

    name: str
    dtype: type

    def decay(self, x, q: int, decay_bits: int):
        raise NotImplementedError

    def rshift(self, x, s: int):
        raise NotImplementedError

    def lshift(self, x, s: int):
        raise NotImplementedError

    def sat(self, x, bits: int, signed: bool = True):
        raise NotImplementedError

    def matmul(self, a, b, bound_bits: int):
        raise NotImplementedError

    def asarray(self, x):
        return np.asarray(x, dtype=self.dtype)


class FixedNumerics(Numerics):
    """Integers (int64) with the rounding and saturation of the hardware."""

    name = "fixed"
    dtype = np.int64

    def decay(self, x, q, decay_bits):
        return decay(x, q, decay_bits)

    def rshift(self, x, s):
        return rshift_round(x, s)

    def lshift(self, x, s):
        return x << s

    def sat(self, x, bits, signed=True):
        return sat(x, bits, signed)

    def matmul(self, a, b, bound_bits):
        return exact_matmul(a, b, bound_bits)


class FloatNumerics(Numerics):
    """float64 reals: the same equations without rounding or saturation (the ideal network)."""

    name = "float"
    dtype = np.float64

    def decay(self, x, q, decay_bits):
        return x * (q / (1 << decay_bits))

    def rshift(self, x, s):
        return x / (1 << s)

    def lshift(self, x, s):
        return x * (1 << s)

    def sat(self, x, bits, signed=True):
        return x

    def matmul(self, a, b, bound_bits):
        return a.astype(np.float64) @ b.astype(np.float64)


NUMERICS = {"fixed": FixedNumerics(), "float": FloatNumerics()}


def numerics(name: str) -> Numerics:
    try:
        return NUMERICS[name]
    except KeyError:
        raise ValueError(f"numerics: {name!r} is not one of {', '.join(NUMERICS)}") from None
