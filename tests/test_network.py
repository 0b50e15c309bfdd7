"""The golden tick: hand-computed cases, saturation, determinism, batching, input checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticore.golden import (
    Config,
    FixedNumerics,
    FloatNumerics,
    Weights,
    init_state,
    init_weights,
    poisson_inputs,
    run,
    tick,
)
from plasticore.golden.numerics import signed_range, unsigned_range

FIX = FixedNumerics()


def one_neuron(**overrides) -> Config:
    base = dict(
        n_in=1,
        n_rec=1,
        n_out=1,
        tau_m=20.0,
        decay_bits=8,
        threshold=300,
        w_shift=4,
        refractory=0,
        adapt_inc=0,
        out_shift=0,
        fb_shift=0,
    )
    base.update(overrides)
    return Config(**base)


def weights(cfg, w_in, w_rec=None, w_out=None, b=None):
    n, m, k = cfg.n_rec, cfg.n_in, cfg.n_out
    as_arr = lambda v, shape: np.full(shape, v, dtype=np.int64) if np.isscalar(v) else np.asarray(v, dtype=np.int64)  # noqa: E731
    return Weights(
        as_arr(w_in, (n, m)),
        as_arr(0 if w_rec is None else w_rec, (n, n)),
        as_arr(0 if w_out is None else w_out, (k, n)),
        as_arr(0 if b is None else b, (n, k)),
    )


def drive(cfg, w, xs, **kw):
    return run(cfg, w, np.asarray(xs, dtype=np.int64).reshape(len(xs), 1, cfg.n_in), "fixed", **kw)


def test_lif_hand_computed_with_subtractive_reset():
    # alpha_q = round(exp(-1/20) * 256) = 244; a weight of 10 adds 10 << 4 = 160 per input spike.
    cfg = one_neuron()
    assert cfg.alpha_q == 244
    rec = drive(cfg, weights(cfg, 10), [1, 1, 1, 1, 0])
    # t0: 0 + 160 = 160
    # t1: (160*244 + 128) >> 8 = 153; 153 + 160 = 313 >= 300 -> spike
    # t2: (313*244 + 128) >> 8 = 298; 298 + 160 - 300 (reset) = 158
    # t3: (158*244 + 128) >> 8 = 151; 151 + 160 = 311 -> spike
    # t4: (311*244 + 128) >> 8 = 296; 296 + 0 - 300 = -4
    assert rec.u[:, 0, 0].tolist() == [160, 313, 158, 311, -4]
    assert rec.z[:, 0, 0].tolist() == [0, 1, 0, 1, 0]


def test_zero_reset_restarts_from_zero():
    cfg = one_neuron(reset="zero")
    rec = drive(cfg, weights(cfg, 10), [1, 1, 1])
    # t2: spiked at t1, so U = 0 + 160
    assert rec.u[:, 0, 0].tolist() == [160, 313, 160]


def test_refractory_blocks_exactly_the_configured_ticks():
    cfg = one_neuron(refractory=2, threshold=100)
    rec = drive(cfg, weights(cfg, 127), [1] * 8)  # 2032 per tick: above threshold every tick
    assert rec.z[:, 0, 0].tolist() == [1, 0, 0, 1, 0, 0, 1, 0]


def test_alif_threshold_rises_after_a_spike():
    cfg = one_neuron(n_alif=1, adapt_inc=100, tau_a=100.0)
    rho = cfg.rho_q  # round(exp(-0.01)*256) = 253
    assert rho == 253
    rec = drive(cfg, weights(cfg, 10), [1, 1, 1, 1])
    # spike at t1 (as in the LIF case); a(t2) = 0 + 100, a(t3) = (100*253+128)>>8 = 99
    assert rec.a[:, 0, 0].tolist() == [0, 0, 100, 99]
    # t3: U = 151 + 160 = 311 < 300 + 99: the adapted threshold blocks the LIF spike
    assert rec.z[:, 0, 0].tolist() == [0, 1, 0, 0]


def test_lif_neurons_never_adapt():
    cfg = Config(n_in=4, n_rec=6, n_alif=2, n_out=1, threshold=50)
    rec = run(cfg, init_weights(cfg), poisson_inputs(cfg, 200, 0.3), "fixed")
    assert rec.z[:, :, :4].sum() > 0
    assert (rec.a[:, :, :4] == 0).all()
    assert rec.a[:, :, 4:].max() > 0


def test_readout_error_and_dendrite_hand_computed():
    cfg = one_neuron(threshold=100, tau_out=20.0, tau_v=20.0, fb_shift=2)
    w = weights(cfg, 127, w_out=50, b=-8)
    tgt = np.array([[[30]], [[30]], [[30]]])
    rec = drive(cfg, w, [1, 1, 0], targets=tgt, valid=np.array([[True], [False], [True]]))
    # t0: spike; Y = 50; e = 50 - 30 = 20; V integrates the error of the tick before: 0
    # t1: spikes again; Y = (50*244+128)>>8 + 50 = 48 + 50 = 98; e = 0 (not valid)
    #     V = 0 + rshift(-8 * 20, 2) = -40
    # t2: no input, but U(t1) = 1937 + 2032 - 100 = 3869 decays to 3688, minus the reset 100:
    #     spikes; Y = (98*244+128)>>8 + 50 = 93 + 50 = 143; e = 143 - 30 = 113
    #     V = (-40*244+128)>>8 + rshift(-8 * 0, 2) = (-9760+128)>>8 = -38 (floor of -37.6)
    assert rec.u[:, 0, 0].tolist() == [2032, 3869, 3588]
    assert rec.y[:, 0, 0].tolist() == [50, 98, 143]
    assert rec.e[:, 0, 0].tolist() == [20, 0, 113]
    assert rec.v[:, 0, 0].tolist() == [0, -40, -38]


def test_symmetric_feedback_uses_readout_weights():
    cfg = one_neuron(threshold=100, rule="eprop_symmetric", fb_shift=0)
    w = weights(cfg, 127, w_out=7, b=-100)  # b is ignored under symmetric feedback
    rec = drive(cfg, w, [1, 0], targets=np.array([[[0]], [[0]]]), valid=np.array([[True], [True]]))
    assert rec.e[0, 0, 0] == 7
    assert rec.v[1, 0, 0] == 7 * 7  # V(t1) = Wout^T e(t0)


def state_in_range(cfg, s):
    for name, bits, signed in (
        ("u", cfg.u_bits, True),
        ("y", cfg.y_bits, True),
        ("v", cfg.v_bits, True),
        ("a", cfg.a_bits, False),
    ):
        lo, hi = signed_range(bits) if signed else unsigned_range(bits)
        arr = getattr(s, name)
        assert lo <= arr.min() and arr.max() <= hi, name


@settings(max_examples=40, deadline=None)
@given(
    u_bits=st.integers(8, 20),
    w_bits=st.integers(2, 8),
    sign=st.sampled_from([-1, 1]),
    n_in=st.integers(1, 40),
    n_rec=st.integers(1, 40),
    seed=st.integers(0, 1000),
)
def test_saturation_never_wraps(u_bits, w_bits, sign, n_in, n_rec, seed):
    """Weights at a rail and every input spiking every tick drive states into their rails;
    they must stay there (clamped), never wrap to the other sign."""
    u_max = (1 << (u_bits - 1)) - 1
    cfg = Config(
        n_in=n_in,
        n_rec=n_rec,
        n_out=2,
        n_alif=n_rec // 2,
        u_bits=u_bits,
        w_bits=w_bits,
        w_shift=min(16, u_bits - w_bits),  # a rail weight spans >= 1/8 of the soma range
        out_shift=min(2, 16 - w_bits),
        y_bits=16,
        v_bits=16,
        e_bits=16,
        fb_shift=0,
        threshold=min(1000, u_max),
        adapt_inc=0 if sign < 0 else 15,
        a_bits=4,
        tau_m=1e5,
        tau_out=1e5,
        tau_v=1e5,
        refractory=0,
        seed=seed,
        pd_window=min(512, u_max),
    )
    lo, hi = signed_range(w_bits)
    rail = hi if sign > 0 else lo
    w = Weights(
        np.full((n_rec, n_in), rail),
        np.full((n_rec, n_rec), rail),
        np.full((2, n_rec), rail),
        np.full((n_rec, 2), rail),
    )
    x = np.ones((30, 1, n_in), dtype=np.int64)
    tgt = np.full((30, 1, 2), -sign * 30000)
    s = init_state(cfg, FIX)
    for t in range(30):
        s, out = tick(cfg, FIX, w, s, x[t], tgt[t], np.ones(1, bool))
        state_in_range(cfg, s)
        assert (np.sign(s.u) * sign >= 0).all()  # never wrapped to the other sign
    if sign < 0:
        assert (s.u == -(1 << (u_bits - 1))).all()  # pinned at the negative rail
    else:
        assert (s.y >= 0).all() and s.z.sum() > 0
    # the error (saturated to e_bits) times B pushes V past +2**15 on every tick: pinned at the rail
    assert (s.v == (1 << 15) - 1).all()


def test_same_seed_same_bits_and_different_seed_differs():
    cfg = Config(n_in=20, n_rec=30, n_alif=10, n_out=3, threshold=200)
    runs = [run(cfg, init_weights(cfg, seed=s), poisson_inputs(cfg, 300, 0.1, seed=s), "fixed") for s in (7, 7, 8)]
    for k in ("z", "u", "a", "y", "v"):
        assert np.array_equal(getattr(runs[0], k), getattr(runs[1], k))
    assert not np.array_equal(runs[0].u, runs[2].u)


@pytest.mark.parametrize("numerics", ["fixed", "float"])
def test_batch_rows_are_independent_networks(numerics):
    cfg = Config(n_in=10, n_rec=12, n_alif=4, n_out=2, threshold=150)
    w = init_weights(cfg)
    x = poisson_inputs(cfg, 100, 0.2, batch=3)
    together = run(cfg, w, x, numerics)
    for b in range(3):
        alone = run(cfg, w, x[:, b : b + 1], numerics)
        assert np.array_equal(together.u[:, b : b + 1], alone.u)
        assert np.array_equal(together.z[:, b : b + 1], alone.z)


def test_bad_inputs_and_weights_are_refused():
    cfg = one_neuron()
    w = weights(cfg, 10)
    with pytest.raises(ValueError, match="input spikes: shape"):
        tick(cfg, FIX, w, init_state(cfg, FIX), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="must be 0 or 1"):
        tick(cfg, FIX, w, init_state(cfg, FIX), np.full((1, 1), 2))
    with pytest.raises(ValueError, match="outside the 8-bit range"):
        run(cfg, weights(cfg, 300), np.ones((2, 1, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="w_rec: shape"):
        Weights(w.w_in, np.zeros((2, 2), np.int64), w.w_out, w.b_fb).check(cfg)
    with pytest.raises(ValueError, match="rate"):
        poisson_inputs(cfg, 5, 1.5)


def test_float_twin_has_float_states():
    cfg = Config(n_in=4, n_rec=5, n_out=1)
    rec = run(cfg, init_weights(cfg), poisson_inputs(cfg, 20, 0.3), FloatNumerics())
    assert rec.u.dtype == np.float64
