"""The integer primitives of docs/numerics.md, checked against exact rational arithmetic."""

import math
from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from plasticore.golden.numerics import decay, exact_matmul, rshift_round, sat, signed_range, unsigned_range

wide = st.integers(min_value=-(1 << 40), max_value=1 << 40)


@given(x=wide, bits=st.integers(2, 32), signed=st.booleans())
def test_sat_clamps_and_never_wraps(x, bits, signed):
    lo, hi = signed_range(bits) if signed else unsigned_range(bits)
    y = int(sat(np.int64(x), bits, signed))
    assert lo <= y <= hi
    if lo <= x <= hi:
        assert y == x  # in range: untouched
    else:
        assert y == (hi if x > hi else lo)  # out of range: the nearer rail, same sign side


@given(x=wide, s=st.integers(0, 20))
def test_rshift_rounds_to_nearest_ties_up(x, s):
    exact = Fraction(x, 1 << s)
    expected = math.floor(exact + Fraction(1, 2))
    assert int(rshift_round(np.int64(x), s)) == expected


@given(x=st.integers(-(1 << 31), (1 << 31) - 1), q=st.integers(0, 255))
def test_decay_is_rounded_product(x, q):
    expected = math.floor(Fraction(x * q, 256) + Fraction(1, 2))
    assert int(decay(np.int64(x), q, 8)) == expected
    # a strict contraction: never grows in magnitude beyond rounding by half an LSB
    assert abs(int(decay(np.int64(x), q, 8))) <= abs(x) * q / 256 + 0.5


@given(seed=st.integers(0, 2**32 - 1), bits=st.sampled_from([30, 60]))
def test_exact_matmul_is_exact_on_both_paths(seed, bits):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, size=(3, 40))
    b = rng.integers(-(1 << 15), 1 << 15, size=(40, 5))
    assert np.array_equal(exact_matmul(a, b, bits), a @ b)
