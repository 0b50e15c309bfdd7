"""Fixed point against its float64 twin: within the analytic bound of golden/twin.py."""

import numpy as np
import pytest

from plasticore.golden import Config, init_weights, poisson_inputs
from plasticore.golden.twin import compare_twins, twin_bounds


def random_config(seed: int) -> Config:
    rng = np.random.default_rng(seed)
    n_rec = int(rng.integers(4, 64))
    return Config(
        name=f"random{seed}",
        n_in=int(rng.integers(2, 48)),
        n_rec=n_rec,
        n_out=int(rng.integers(1, 5)),
        n_alif=int(rng.integers(0, n_rec + 1)),
        decay_bits=int(rng.integers(6, 13)),
        tau_m=float(rng.uniform(3, 40)),
        tau_a=float(rng.uniform(20, 400)),
        tau_out=float(rng.uniform(3, 40)),
        tau_v=float(rng.uniform(3, 40)),
        threshold=int(rng.integers(200, 2000)),
        adapt_inc=int(rng.integers(0, 64)),
        refractory=int(rng.integers(0, 5)),
        reset=str(rng.choice(["subtract", "zero"])),
        rule=str(rng.choice(["eprop_random", "eprop_symmetric", "erbp"])),
        u_bits=20,
        y_bits=20,
        v_bits=24,
        e_bits=20,
        a_bits=16,
        fb_shift=int(rng.integers(4, 12)),
        seed=seed,
    )


@pytest.mark.parametrize("seed", range(12))
def test_fixed_stays_within_bound_of_float_on_random_networks(seed):
    cfg = random_config(seed)
    w = init_weights(cfg)
    ticks = 400
    x = poisson_inputs(cfg, ticks, 0.08, batch=2)
    rng = np.random.default_rng(seed + 100)
    targets = rng.integers(-3000, 3000, size=(ticks, 2, cfg.n_out))
    valid = rng.random((ticks, 2)) < 0.7
    report = compare_twins(cfg, w, x, targets, valid)
    assert report.spikes > 0, "a network that never spikes tests nothing"
    assert not report.saturated, "the bound holds only without saturation; widen the test config"
    for k, dev in report.max_dev.items():
        assert dev <= getattr(report.bounds, k) + 1e-6, (k, dev, getattr(report.bounds, k))
    assert report.divergence_justified, (report.first_divergence, report.divergence_margin)


def test_bound_is_not_vacuous():
    """The bound for U is a few LSBs, far below the threshold: it constrains something."""
    cfg = Config(tau_m=20.0, decay_bits=8)
    b = twin_bounds(cfg, init_weights(cfg))
    assert b.u < 11 < cfg.threshold / 50


def test_deviation_is_real_rounding_not_zero():
    """The twins really differ (else the test above would prove nothing about the bound)."""
    cfg = random_config(3)
    report = compare_twins(cfg, init_weights(cfg), poisson_inputs(cfg, 200, 0.1))
    assert report.max_dev["u"] > 0
