"""The stochastic-rounding LFSR: definition, primitivity, and the fast jump-ahead."""

import numpy as np
import pytest

from plasticore.golden import lfsr

# 2**32 - 1 = 3 * 5 * 17 * 257 * 65537
ORDER = (1 << 32) - 1
PRIME_FACTORS = (3, 5, 17, 257, 65537)


def test_step_matches_the_documented_definition():
    assert lfsr.step(1) == lfsr.TAPS  # lsb set: shift out, xor taps
    assert lfsr.step(2) == 1  # lsb clear: plain shift
    assert lfsr.TAPS == 0x80200003


def test_polynomial_is_primitive():
    """A^(2^32-1) = I and A^((2^32-1)/p) != I for every prime p dividing 2^32-1."""
    probe = np.array([1 << b for b in range(32)], dtype=np.uint32)  # the unit vectors
    assert np.array_equal(lfsr.jump(probe, ORDER), probe)
    for p in PRIME_FACTORS:
        assert not np.array_equal(lfsr.jump(probe, ORDER // p), probe), p


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 64, 1000])
def test_vectorized_draws_equal_plain_stepping(n):
    seeds = np.array([1, 0xDEADBEEF, 0xACE12468], dtype=np.uint32)
    values, after = lfsr.draws(seeds, n)
    assert values.shape == (n, 3)
    for lane, seed in enumerate(seeds):
        s = int(seed)
        for k in range(n):
            s = lfsr.step(s)
            assert int(values[k, lane]) == s
        assert int(after[lane]) == s


def test_jump_equals_stepping():
    s = 0x12345678
    for _ in range(12345):
        s = lfsr.step(s)
    assert int(lfsr.jump(0x12345678, 12345)) == s


def test_lane_seeds_are_distinct_nonzero_and_reproducible():
    a = lfsr.lane_seeds(0xACE12468, 16)
    assert len(set(a.tolist())) == 16 and (a != 0).all()
    assert np.array_equal(a, lfsr.lane_seeds(0xACE12468, 16))
    assert int(a[0]) == 0xACE12468
    with pytest.raises(ValueError, match="lfsr_seed"):
        lfsr.lane_seeds(0, 4)


def test_draws_are_roughly_uniform_in_low_bits():
    values, _ = lfsr.draws(np.uint32(0xACE12468), 1 << 14)
    low = (values & 0xFF).astype(np.int64)
    counts = np.bincount(low, minlength=256)
    # expected 64 per bin; a chi-square over 255 dof far above 400 would mean a broken generator
    chi2 = ((counts - 64.0) ** 2 / 64.0).sum()
    assert chi2 < 400
