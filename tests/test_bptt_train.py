"""BPTT on the Config network (plasticore.training.bptt_train): forward = plasticore.golden.network.tick,
gradients checked.

* The forward pass reproduces ``tick``'s spikes, membranes and readouts tick for tick (float
  numerics), for both reset modes, LIF and ALIF, with refractoriness.
* On the smooth network (sigmoid spikes) the BPTT gradient equals central differences, with and
  without the stop-gradient on the reset, for both reset modes.
* Without recurrent weights and ALIF the gradients equal the ones written by hand (readout:
  e filtered backwards by kappa times z; input: psi times the learning signal times x filtered
  by alpha, i.e. e-prop with symmetric feedback).
* ``plasticore train --rule bptt`` trains in float, and in fixed point (quantization-aware: the
  forward pass is the hardware's integer tick, the weights it returns are in-range integers).
"""

import dataclasses

import numpy as np
import pytest
from gradcheck import central_differences

from plasticore.golden.config import Config
from plasticore.golden.network import Weights, init_weights, run
from plasticore.tasks import make_task
from plasticore.training.bptt_train import (
    Adam,
    backward,
    forward,
    forward_fixed,
    loss_and_gradients,
    objective,
    quantize,
)
from plasticore.training.train import TASK_SPECS, train

NAMES = ("w_in", "w_rec", "w_out")


def tiny_cfg(**kw):
    base = dict(
        n_in=5,
        n_rec=7,
        n_alif=3,
        n_out=2,
        threshold=1024,
        adapt_inc=300,
        tau_m=10.0,
        tau_a=50.0,
        tau_out=8.0,
        refractory=0,
        w_shift=4,
        out_shift=2,
        pseudo_derivative="piecewise_linear",
        pd_window=512,
        decay_bits=12,
    )
    base.update(kw)
    return Config(**base)


def float_weights(cfg, rng, in_scale=30.0, rec_scale=10.0, out_scale=5.0):
    w_rec = rng.normal(size=(cfg.n_rec, cfg.n_rec)) * rec_scale
    np.fill_diagonal(w_rec, 0.0)
    return Weights(
        rng.normal(size=(cfg.n_rec, cfg.n_in)) * in_scale,
        w_rec,
        rng.normal(size=(cfg.n_out, cfg.n_rec)) * out_scale,
        np.zeros((cfg.n_rec, cfg.n_out)),
    )


def data(cfg, rng, T, B, rate=0.3, valid_from=0):
    x = (rng.random((T, B, cfg.n_in)) < rate).astype(float)
    tgt = rng.normal(size=(T, B, cfg.n_out)) * 300.0
    valid = np.zeros((T, B), dtype=bool)
    valid[valid_from:] = True
    return x, tgt, valid


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("n_alif,refractory", [(0, 0), (16, 2), (32, 3)])
def test_forward_matches_network_tick(reset, n_alif, refractory):
    cfg = Config(
        n_in=16,
        n_rec=32,
        n_alif=n_alif,
        n_out=3,
        refractory=refractory,
        reset=reset,
        decay_bits=12,
        tau_a=100.0,
        adapt_inc=200,
        threshold=512,
    )
    w = init_weights(cfg, 4, in_scale=0.6, rec_scale=0.4, out_scale=0.5)
    rng = np.random.default_rng(0)
    x, tgt, valid = data(cfg, rng, T=80, B=3, rate=0.2, valid_from=20)
    ref = run(cfg, w, x.astype(np.int64), "float", tgt, valid)
    got = forward(cfg, w.astype(np.float64), x, tgt, valid)
    assert ref.z.sum() > 100, "too few spikes to test anything"
    np.testing.assert_array_equal(got.z, ref.z)
    np.testing.assert_allclose(got.u, ref.u, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.a, ref.a, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.y, ref.y, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.e, ref.e, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("n_alif", [0, 16])
def test_fixed_forward_is_the_hardware_tick(n_alif):
    """forward_fixed records exactly what plasticore.golden.network.run computes in fixed point."""
    cfg = Config(
        n_in=16,
        n_rec=32,
        n_alif=n_alif,
        n_out=3,
        refractory=2,
        decay_bits=12,
        tau_a=100.0,
        adapt_inc=200,
        threshold=512,
        pseudo_derivative="piecewise_linear",
        pd_window=512,
    )
    w = init_weights(cfg, 4, in_scale=0.6, rec_scale=0.4, out_scale=0.5)
    rng = np.random.default_rng(1)
    x, tgt, valid = data(cfg, rng, T=80, B=3, rate=0.2, valid_from=20)
    tgt = np.rint(tgt).astype(np.int64)
    ref = run(cfg, w, x.astype(np.int64), "fixed", tgt, valid)
    got = forward_fixed(cfg, w, x.astype(np.int64), tgt, valid)
    assert ref.z.sum() > 100, "too few spikes to test anything"
    for name in ("z", "u", "a", "y", "e"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name), err_msg=name)
    # psi is zero exactly where the neuron was refractory or far from threshold, positive elsewhere
    assert (got.psi >= 0).all() and (got.psi > 0).any()
    # the backward pass of a fixed run is the float formula applied to its record
    grads = backward(cfg, w.astype(np.float64), got)
    assert set(grads) == set(NAMES) and all(np.isfinite(g).all() for g in grads.values())


def test_quantize_rounds_and_clips_each_matrix_to_its_width():
    cfg = tiny_cfg(w_bits=6, wout_bits=10, out_shift=0)
    q = quantize(cfg, {"w_in": np.array([[0.49, 0.5, -40.0]]), "w_out": np.array([[600.0, -2.6]])})
    assert q["w_in"].tolist() == [[0, 0, -32]] and q["w_out"].tolist() == [[511, -3]]


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("stop_reset", [True, False])
def test_bptt_matches_central_differences_on_smooth_network(reset, stop_reset):
    cfg = tiny_cfg(reset=reset)
    rng = np.random.default_rng(3)
    w = float_weights(cfg, rng)
    x, tgt, valid = data(cfg, rng, T=30, B=2, valid_from=10)
    width = 150.0
    J, grads = loss_and_gradients(cfg, w, x, tgt, valid, stop_reset_gradient=stop_reset, smooth_width=width)
    frozen = forward(cfg, w, x, smooth_width=width).z if stop_reset else None

    def f(weights):
        return objective(forward(cfg, weights, x, tgt, valid, smooth_width=width, reset_spikes=frozen))

    assert J == pytest.approx(f(w), rel=1e-12)
    fds = central_differences(f, w, NAMES, copy=lambda w_: w_.astype(np.float64), eps=1e-4)
    for name in NAMES:
        g, fd = grads[name], fds[name]
        assert np.abs(g).max() > 1e-2, f"{name}: gradient too small to test anything"
        np.testing.assert_allclose(g, fd, rtol=0, atol=1e-6 * np.abs(g).max(), err_msg=name)


def test_extra_spike_term_is_differentiated_with_the_readout():
    """``backward(dz_extra=c)`` is the gradient of ``L + sum(c * z) / batch`` (smooth network,
    full reset gradient: exact)."""
    cfg = tiny_cfg()
    rng = np.random.default_rng(5)
    w = float_weights(cfg, rng)
    x, tgt, valid = data(cfg, rng, T=25, B=2, valid_from=10)
    width = 150.0
    c = rng.normal(size=(25, 2, cfg.n_rec)) * 2e3
    run_ = forward(cfg, w, x, tgt, valid, smooth_width=width)
    grads = backward(cfg, w, run_, stop_reset_gradient=False, dz_extra=c)

    def f(weights):
        r = forward(cfg, weights, x, tgt, valid, smooth_width=width)
        return objective(r) + float(np.sum(c * r.z)) / x.shape[1]

    fds = central_differences(f, w, NAMES, copy=lambda w_: w_.astype(np.float64), eps=1e-4)
    plain = backward(cfg, w, run_, stop_reset_gradient=False)
    for name in ("w_in", "w_rec"):
        assert np.abs(grads[name] - plain[name]).max() > 1e-3 * np.abs(plain[name]).max(), name
        np.testing.assert_allclose(grads[name], fds[name], rtol=0, atol=1e-6 * np.abs(grads[name]).max(), err_msg=name)


def test_stopping_the_reset_gradient_changes_it():
    cfg = tiny_cfg()
    rng = np.random.default_rng(3)
    w = float_weights(cfg, rng)
    x, tgt, valid = data(cfg, rng, T=30, B=2)
    ga = loss_and_gradients(cfg, w, x, tgt, valid, smooth_width=150.0)[1]
    gb = loss_and_gradients(cfg, w, x, tgt, valid, smooth_width=150.0, stop_reset_gradient=False)[1]
    assert not np.allclose(ga["w_in"], gb["w_in"])
    np.testing.assert_array_equal(ga["w_out"], gb["w_out"])


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_gradients_by_hand_without_recurrence(reset):
    """No W_rec, no ALIF: dL/dWout = 2**out_shift sum_t dy(t) z(t)^T with dy(t) = sum_{s>=t}
    kappa**(s-t) e(s); dL/dWin = 2**w_shift sum_t psi(t) L(t) x_bar(t)^T, L = 2**out_shift Wout^T dy,
    x_bar(t) = sum_{s<=t} prod(leak) x(s) (stop-gradient reset)."""
    cfg = Config(
        n_in=12,
        n_rec=20,
        n_alif=0,
        n_out=3,
        refractory=2,
        reset=reset,
        out_shift=2,
        pseudo_derivative="piecewise_linear",
        pd_window=512,
        threshold=512,
    )
    w = init_weights(cfg, 2, in_scale=0.7, rec_scale=0.0, out_scale=0.5).astype(np.float64)
    assert not w.w_rec.any()
    rng = np.random.default_rng(1)
    x, tgt, valid = data(cfg, rng, T=60, B=2, rate=0.25, valid_from=15)
    J, g = loss_and_gradients(cfg, w, x, tgt, valid)
    r = forward(cfg, w, x, tgt, valid)
    assert r.z.sum() > 50 and (r.psi > 0).sum() > 50
    T, B = x.shape[:2]
    kappa = cfg.kappa_q / (1 << cfg.decay_bits)
    alpha = cfg.alpha_q / (1 << cfg.decay_bits)
    gw_out = np.zeros_like(w.w_out)
    gw_in = np.zeros_like(w.w_in)
    for b in range(B):
        for t in range(T):
            dy = sum(kappa ** (s - t) * r.e[s, b] for s in range(t, T))
            gw_out += 4.0 * np.outer(dy, r.z[t, b])
            learning_signal = 4.0 * (w.w_out.T @ dy)
            for s in range(t + 1):  # membrane impulse response from x(s) to u(t)
                leak = np.ones(cfg.n_rec)
                for q in range(s, t):
                    leak = leak * (alpha if reset == "subtract" else alpha * (1.0 - r.z[q, b]))
                gw_in += 16.0 * np.outer(r.psi[t, b] * learning_signal * leak, x[s, b])
    np.testing.assert_allclose(g["w_out"], gw_out / B, rtol=1e-10, atol=1e-9 * np.abs(gw_out).max())
    np.testing.assert_allclose(g["w_in"], gw_in / B, rtol=1e-9, atol=1e-9 * np.abs(gw_in).max())
    assert J == pytest.approx(0.5 * np.sum(r.e**2) / B)


def test_bptt_trains_in_float_and_fixed_point():
    task = make_task("xor", 1, n_train=16, n_test=8)
    spec = dataclasses.replace(TASK_SPECS["xor"], config=dict(TASK_SPECS["xor"].config, n_rec=32, n_alif=16))
    calls = []

    def progress(it, desc, total):
        calls.append((desc, total))
        return it

    res = train(task, "bptt", "float", epochs=2, seed=1, batch=4, spec=spec, progress=progress)
    assert res.rule == "bptt" and res.numerics == "float" and len(res.curve) == 2
    assert res.value == res.curve[-1] and 0.0 <= res.value <= 1.0
    assert calls == [("xor bptt float epoch 1/2", 4), ("xor bptt float epoch 2/2", 4)]
    w0 = init_weights(res.config, 1, **spec.init)
    for name in NAMES:
        assert not np.array_equal(getattr(w0, name), getattr(res.weights, name)), name
    assert np.all(np.diag(res.weights.w_rec) == 0)
    again = train(task, "bptt", "float", epochs=2, seed=1, batch=4, spec=spec)
    np.testing.assert_array_equal(again.weights.w_in, res.weights.w_in)

    fix = train(task, "bptt", "fixed", epochs=2, seed=1, batch=2, spec=spec)
    assert fix.numerics == "fixed" and len(fix.curve) == 2
    fix.weights.check(fix.config)  # integers within their widths
    for name in NAMES:
        m = getattr(fix.weights, name)
        assert m.dtype == np.int64, name
        assert not np.array_equal(getattr(w0, name), m), name
    # the score is the fixed-point network's on the returned integers
    from plasticore.golden.numerics import FixedNumerics
    from plasticore.training.train import evaluate

    assert fix.value == evaluate(fix.config, FixedNumerics(), fix.weights, task, spec.target_scale)


def test_bptt_learns_the_readout_alone_after_hidden_epochs():
    """``TaskSpec.hidden_epochs`` holds for BPTT as for the hardware rules: after that many
    epochs only Wout moves."""
    task = make_task("xor", 1, n_train=8, n_test=4)
    spec = dataclasses.replace(TASK_SPECS["xor"], config=dict(TASK_SPECS["xor"].config, n_rec=16, n_alif=8))
    one = train(task, "bptt", "float", epochs=1, seed=1, batch=4, spec=dataclasses.replace(spec, hidden_epochs=1))
    two = train(task, "bptt", "float", epochs=2, seed=1, batch=4, spec=dataclasses.replace(spec, hidden_epochs=1))
    for name in ("w_in", "w_rec"):
        np.testing.assert_array_equal(getattr(one.weights, name), getattr(two.weights, name))
    assert not np.array_equal(one.weights.w_out, two.weights.w_out)


def test_bptt_lowers_the_training_loss():
    """A few Adam steps on one batch reduce L (the gradient points downhill)."""
    cfg = Config(n_in=16, n_rec=32, n_alif=16, n_out=2, decay_bits=12, tau_a=100.0, adapt_inc=200)
    w = init_weights(cfg, 1).astype(np.float64)
    rng = np.random.default_rng(2)
    x, tgt, valid = data(cfg, rng, T=50, B=8, rate=0.2, valid_from=30)
    opt = Adam(0.5)
    params = {k: getattr(w, k) for k in NAMES}
    losses = []
    for _ in range(30):
        J, g = loss_and_gradients(cfg, Weights(**params, b_fb=w.b_fb), x, tgt, valid)
        losses.append(J)
        params = opt.step(params, g)
    assert losses[-1] < 0.5 * losses[0], losses


def test_smooth_network_refuses_refractoriness():
    cfg = tiny_cfg(refractory=2)
    w = float_weights(cfg, np.random.default_rng(0))
    with pytest.raises(ValueError, match="refractory"):
        forward(cfg, w, np.zeros((5, 1, cfg.n_in)), smooth_width=10.0)
