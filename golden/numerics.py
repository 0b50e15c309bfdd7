"""Arithmetic primitives shared by the fixed-point and the float64 golden model.

The network code (``plasticore.golden.network``) is written once against a :class:`Numerics` object; the
fixed-point instance *is* the hardware contract of ``docs/numerics.md`` (integer states,
round-half-up shifts, saturation at the rails) and the float instance runs the same equations
on ideal real numbers (no rounding, no saturation), so the two differ only by quantization.

The helpers at module level (``sat``, ``rshift_round``, ``decay``) are the exact integer
operations; the RTL's blocks are tested against them one by one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

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
    "SaturatingFloatNumerics",
    "for_config",
]


def signed_range(bits: int) -> tuple[int, int]:
    """Smallest and largest value of a two's complement integer of ``bits`` bits."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def unsigned_range(bits: int) -> tuple[int, int]:
    return 0, (1 << bits) - 1


def sat(x: NDArray[Any], bits: int, signed: bool = True) -> NDArray[Any]:
    """Clamp to the range of a ``bits``-bit integer: saturation, never wrap-around."""
    lo, hi = signed_range(bits) if signed else unsigned_range(bits)
    # the same values as np.clip, without its per-call dtype-limit checks (~2.5x faster on the
    # small arrays of a tick, and sat runs several times per tick)
    clipped: NDArray[Any] = np.minimum(np.maximum(x, lo), hi)
    return clipped


def rshift_round(x: NDArray[Any], s: int) -> NDArray[Any]:
    """``x / 2**s`` rounded to nearest, ties toward +inf: ``(x + 2**(s-1)) >> s``.

    ``>>`` is the arithmetic (flooring) shift of two's complement hardware, so the rounding
    is the same for negative values as the RTL's adder-then-shift. ``s == 0`` is the identity.
    """
    if s == 0:
        return x
    return (x + (1 << (s - 1))) >> s


def decay(x: NDArray[Any], q: int, decay_bits: int) -> NDArray[Any]:
    """One tick of exponential decay: ``x * q / 2**decay_bits``, rounded half up."""
    return rshift_round(x * q, decay_bits)


def exact_matmul(a: NDArray[Any], b: NDArray[Any], bound_bits: int) -> NDArray[np.int64]:
    """Integer ``a @ b`` computed exactly and fast.

    numpy's integer matmul does not use BLAS. When every partial sum is known to stay below
    ``2**bound_bits`` with ``bound_bits <= 52``, float64 represents all of them exactly and the
    BLAS product is bit-exact, so we use it; otherwise we fall back to int64 matmul.
    """
    if bound_bits <= 52:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)


class Numerics:
    """The operations a tick needs, in one numeric domain.

    Attributes
    ----------
    name : str
        ``"fixed"`` or ``"float"`` (the key of :func:`numerics`).
    dtype : type
        The array type of every state (``np.int64`` or ``np.float64``).
    """

    name: str
    dtype: type[np.int64] | type[np.float64]

    def decay(self, x: NDArray[Any], q: int, decay_bits: int) -> NDArray[Any]:
        """One tick of decay by the factor ``q / 2**decay_bits``."""
        raise NotImplementedError

    def rshift(self, x: NDArray[Any], s: int) -> NDArray[Any]:
        """``x / 2**s`` (rounded in fixed point)."""
        raise NotImplementedError

    def lshift(self, x: NDArray[Any], s: int) -> NDArray[Any]:
        """``x * 2**s``."""
        raise NotImplementedError

    def sat(self, x: NDArray[Any], bits: int, signed: bool = True) -> NDArray[Any]:
        """Saturation to ``bits`` bits (the identity in float)."""
        raise NotImplementedError

    def matmul(self, a: NDArray[Any], b: NDArray[Any], bound_bits: int) -> NDArray[Any]:
        """``a @ b`` whose partial sums stay below ``2**bound_bits``."""
        raise NotImplementedError

    def asarray(self, x: ArrayLike) -> NDArray[Any]:
        """``x`` as an array of :attr:`dtype`."""
        return np.asarray(x, dtype=self.dtype)


class FixedNumerics(Numerics):
    """Integers (int64) with the rounding and saturation of the hardware.

    Attributes
    ----------
    name : str
        ``"fixed"``.
    dtype : type
        ``np.int64``.
    """

    name = "fixed"
    dtype = np.int64

    def decay(self, x: NDArray[Any], q: int, decay_bits: int) -> NDArray[Any]:
        return decay(x, q, decay_bits)

    def rshift(self, x: NDArray[Any], s: int) -> NDArray[Any]:
        return rshift_round(x, s)

    def lshift(self, x: NDArray[Any], s: int) -> NDArray[Any]:
        return x << s

    def sat(self, x: NDArray[Any], bits: int, signed: bool = True) -> NDArray[Any]:
        return sat(x, bits, signed)

    def matmul(self, a: NDArray[Any], b: NDArray[Any], bound_bits: int) -> NDArray[Any]:
        return exact_matmul(a, b, bound_bits)


class FloatNumerics(Numerics):
    """float64 reals: the same equations without rounding or saturation (the ideal network).

    Attributes
    ----------
    name : str
        ``"float"``.
    dtype : type
        ``np.float64``.
    """

    name = "float"
    dtype = np.float64

    def decay(self, x: NDArray[Any], q: int, decay_bits: int) -> NDArray[Any]:
        return x * (q / (1 << decay_bits))

    def rshift(self, x: NDArray[Any], s: int) -> NDArray[Any]:
        return x / (1 << s)

    def lshift(self, x: NDArray[Any], s: int) -> NDArray[Any]:
        return x * (1 << s)

    def sat(self, x: NDArray[Any], bits: int, signed: bool = True) -> NDArray[Any]:
        return x

    def matmul(self, a: NDArray[Any], b: NDArray[Any], bound_bits: int) -> NDArray[Any]:
        return a.astype(np.float64) @ b.astype(np.float64)


class SaturatingFloatNumerics(FloatNumerics):
    """The float twin with the hardware's rails: exact products and divisions, but every
    ``sat_s`` / ``sat_u`` of docs/numerics.md clamps as fixed point's does
    (``Config.twin_saturates``; :func:`for_config` picks it).

    Attributes
    ----------
    name : str
        ``"float"`` (the same twin, with rails).
    dtype : type
        ``np.float64``.
    """

    def sat(self, x: NDArray[Any], bits: int, signed: bool = True) -> NDArray[Any]:
        return sat(x, bits, signed)


NUMERICS = {"fixed": FixedNumerics(), "float": FloatNumerics()}
_SATURATING_FLOAT = SaturatingFloatNumerics()


def for_config(num: Numerics, twin_saturates: bool) -> Numerics:
    """``num``, or the float twin with rails when ``num`` is the float twin and
    ``twin_saturates`` (``Config.twin_saturates``) asks for them."""
    return _SATURATING_FLOAT if twin_saturates and isinstance(num, FloatNumerics) else num


def numerics(name: str) -> Numerics:
    """The :class:`Numerics` instance of ``name`` (``"fixed"`` or ``"float"``)."""
    try:
        return NUMERICS[name]
    except KeyError:
        raise ValueError(f"numerics: {name!r} is not one of {', '.join(NUMERICS)}") from None
