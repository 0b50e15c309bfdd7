"""Golden float e-prop on its own: the vectorized gradient against the per-synapse definition,
the time scans against plain loops, the optimizers, feedback modes and the spec's checks."""

import math

import numpy as np
import pytest

from plasticore.reference.eprop import EpropSpec, Optimizer, eprop_gradients, nest_spec, network_inputs, train_eprop
from plasticore.reference.eprop_model import Buffers, EpropWeights, ParamsError, SnnParams, simulate
from plasticore.reference.eprop_scan import _loop, leaky_scan, varying_scan


def small_net(seed=0, n_alif=4, t_ref=2.0, loss="cross_entropy", rec=0.3):
    rng = np.random.default_rng(seed)
    p = SnnParams(
        n_in=6,
        n_rec=9,
        n_out=2,
        n_alif=n_alif,
        tau_m=15.0,
        v_th=0.5,
        t_ref=t_ref,
        tau_a=150.0,
        adapt_beta=0.25,
        tau_out=12.0,
        rec_regular_spike_arrival=False,
        loss=loss,
    )
    w_rec = rng.normal(size=(9, 9)) * rec
    np.fill_diagonal(w_rec, 0)
    w = EpropWeights(rng.normal(size=(9, 6)) * 3.0, w_rec, rng.normal(size=(2, 9)), rng.normal(size=(9, 2)))
    x = (rng.random((120, 2, 6)) < 0.3).astype(float)
    tgt = np.zeros((120, 2, 2))
    tgt[:, 0, 0] = tgt[:, 1, 1] = 1.0
    return p, w, x, tgt


def eprop_by_definition(p, spec, w, traj, tgt):
    """e-prop written as in Bellec et al.: per-synapse eligibility vectors stepped in time,
    e = psi (zbar - beta eps_a), eps_a <- rho eps_a + e, ebar = kappa-filter of e,
    g = sum_t L ebar + reg sum_t e. Loops over time; arrays over synapses."""
    T, B, _ = traj.z.shape
    window = spec.window_mask(T)
    err = (traj.out - tgt) * window[:, None, None]
    fb = w.w_out.T if spec.feedback == "symmetric" else w.b_fb
    L = err @ fb.T
    rate = traj.z.sum(0) / T
    reg = spec.reg_coefficient * (rate - spec.reg_target_rate_hz * p.dt / 1000.0) / T
    beta = p.beta
    z_del = np.concatenate([np.zeros_like(traj.z[:1]), traj.z[:-1]])
    grads = {}
    for name, pre in (("w_in", traj.x), ("w_rec", z_del)):
        g = np.zeros((B,) + getattr(w, name).shape)
        zbar = np.zeros((B, pre.shape[2]))
        eps = np.zeros_like(g)
        ebar = np.zeros_like(g)
        for t in range(T):
            zbar = p.alpha * zbar + p.rec_input_scale * pre[t]
            e = traj.psi[t][:, :, None] * (zbar[:, None, :] - beta[None, :, None] * eps)
            eps = p.rho * eps + e
            ebar = p.kappa * ebar + p.out_input_scale * e
            g += L[t][:, :, None] * ebar + reg[:, :, None] * e
        grads[name] = g.mean(0)
    np.fill_diagonal(grads["w_rec"], 0)
    zbar_out = np.zeros((B, p.n_rec))
    g_out = np.zeros((B, p.n_out, p.n_rec))
    for t in range(T):
        zbar_out = p.kappa * zbar_out + p.out_input_scale * traj.z[t]
        g_out += err[t][:, :, None] * zbar_out[:, None, :]
    grads["w_out"] = g_out.mean(0)
    scale = 1.0 / window.sum() if spec.average_gradient else 1.0
    return {k: v * scale for k, v in grads.items()}


@pytest.mark.parametrize("feedback", ["random", "symmetric"])
@pytest.mark.parametrize("n_alif,t_ref", [(0, 0.0), (4, 2.0), (9, 3.0)])
def test_vectorized_eprop_equals_per_synapse_definition(feedback, n_alif, t_ref):
    p, w, x, tgt = small_net(n_alif=n_alif, t_ref=t_ref)
    spec = EpropSpec(feedback=feedback, learning_window=60, average_gradient=True, reg_coefficient=30.0)
    traj = simulate(p, w, network_inputs(spec, x))
    assert traj.z.sum() > 50
    got, _ = eprop_gradients(p, spec, w, traj, tgt)
    want = eprop_by_definition(p, spec, w, traj, tgt)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-9, atol=1e-12 * np.abs(want[k]).max(), err_msg=k)


@pytest.mark.parametrize("n_alif,t_ref", [(0, 0.0), (4, 2.0)])
def test_early_trigger_drops_the_last_learning_signal_of_late_inputs(n_alif, t_ref):
    """NEST's early trigger: the synapses of the late inputs miss L[T-1] ebar[T-1] (LIF: folded
    into their columns; ALIF: extra lanes through the adaptation recursion)."""
    p, w, x, tgt = small_net(seed=3, n_alif=n_alif, t_ref=t_ref)
    spec = EpropSpec(learning_window=60, average_gradient=True, reg_coefficient=30.0)
    traj = simulate(p, w, network_inputs(spec, x))
    late = np.zeros((2, p.n_in), dtype=bool)
    late[0, [1, 4]] = True
    late[1, 2] = True
    got, _ = eprop_gradients(p, spec, w, traj, tgt, late)
    full, _ = eprop_gradients(p, spec, w, traj, tgt)
    # ebar[T-1] of the input synapses by the per-synapse definition
    T, B, _ = traj.z.shape
    err = (traj.out - tgt) * spec.window_mask(T)[:, None, None]
    L_last = err[T - 1] @ w.b_fb.T  # (B, n_rec)
    zbar = np.zeros((B, p.n_in))
    eps = np.zeros((B, p.n_rec, p.n_in))
    ebar = np.zeros_like(eps)
    for t in range(T):
        zbar = p.alpha * zbar + p.rec_input_scale * traj.x[t]
        e = traj.psi[t][:, :, None] * (zbar[:, None, :] - p.beta[None, :, None] * eps)
        eps = p.rho * eps + e
        ebar = p.kappa * ebar + p.out_input_scale * e
    missed = (L_last[:, :, None] * ebar * late[:, None, :]).mean(0) / spec.window_mask(T).sum()
    np.testing.assert_allclose(got["w_in"], full["w_in"] - missed, rtol=1e-9, atol=1e-12 * np.abs(missed).max())
    assert np.abs(missed).max() > 0
    for name in ("w_rec", "w_out"):
        np.testing.assert_array_equal(got[name], full[name])


def simulate_by_definition(p, w, x):
    """The neuron equations step by step (NEST's order), for checking the fast loop."""
    T, B, _ = x.shape
    v = np.zeros((B, p.n_rec))
    a = np.zeros_like(v)
    r = np.zeros_like(v)
    z = np.zeros_like(v)
    zs, vs, thrs = [], [], []
    for t in range(T):
        r = np.maximum(r - 1, 0)
        v = p.alpha * v + p.rec_input_scale * (x[t] @ w.w_in.T + z @ w.w_rec.T) - p.v_th * z
        a = p.rho * a + z
        z = ((v >= p.v_th + p.beta * a) & (r == 0)).astype(float)
        r = np.where(z > 0, p.refractory_steps, r)
        zs.append(z)
        vs.append(v)
        thrs.append(p.v_th + p.beta * a)
    return np.array(zs), np.array(vs), np.array(thrs)


@pytest.mark.parametrize("n_alif,t_ref", [(0, 0.0), (0, 4.0), (9, 1.0), (4, 3.0)])
def test_fast_simulation_matches_step_by_step_equations(n_alif, t_ref):
    p, w, x, _ = small_net(seed=2, n_alif=n_alif, t_ref=t_ref)
    traj = simulate(p, w, x)
    z, v, thr = simulate_by_definition(p, w, x)
    np.testing.assert_array_equal(traj.z, z)
    np.testing.assert_allclose(traj.v, v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(traj.thr, thr, rtol=1e-12, atol=1e-12)
    assert traj.z.sum() > 50


@pytest.mark.parametrize("T", [1, 2, 15, 16, 17, 31, 32, 33, 250, 256, 257, 2250])
@pytest.mark.parametrize("reverse", [False, True])
def test_scans_equal_loops(T, reverse):
    rng = np.random.default_rng(T)
    u = rng.normal(size=(T, 2, 5))
    for decay in (0.0, 0.3, math.exp(-1 / 30), 0.9995, 1.0):
        np.testing.assert_allclose(leaky_scan(u, decay, reverse), _loop(u, decay, reverse), rtol=1e-12, atol=1e-12)
        out = np.empty_like(u)
        assert leaky_scan(u, decay, reverse, gain=2.5, out=out) is out
        np.testing.assert_allclose(out, _loop(2.5 * u, decay, reverse), rtol=1e-12, atol=1e-12)
    # a decay that varies along time and across columns (the ALIF adaptation trace)
    for a in (rng.random(u.shape), 0.99 + 0.01 * rng.random(u.shape), np.zeros(u.shape)):
        np.testing.assert_allclose(varying_scan(a, u, reverse), _loop(u, a, reverse), rtol=1e-12, atol=1e-12)
        out = np.empty_like(u)
        assert varying_scan(a, u, reverse, out=out, work=Buffers()) is out
        np.testing.assert_allclose(out, _loop(u, a, reverse), rtol=1e-12, atol=1e-12)


def test_adam_follows_the_tensorflow_form():
    spec = EpropSpec(optimizer="adam", eta=0.01, adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8)
    w = EpropWeights(np.ones((1, 1)), np.zeros((1, 1)), np.ones((1, 1)), np.ones((1, 1)))
    opt = Optimizer(spec)
    m = v = 0.0
    ref = 1.0
    for step, g in enumerate([0.5, -0.2, 0.3], start=1):
        opt.apply(w, {"w_in": np.array([[g]])})
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref -= 0.01 * math.sqrt(1 - 0.999**step) / (1 - 0.9**step) * m / (math.sqrt(v) + 1e-8)
        assert w.w_in[0, 0] == pytest.approx(ref, rel=1e-14)


def test_gradient_descent_clips_to_weight_range():
    spec = EpropSpec(eta=1.0, w_min=-0.5, w_max=0.5)
    w = EpropWeights(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)))
    Optimizer(spec).apply(w, {"w_in": np.array([[-3.0]]), "w_out": np.array([[3.0]])})
    assert w.w_in[0, 0] == 0.5 and w.w_out[0, 0] == -0.5


@pytest.mark.parametrize("feedback", ["random", "symmetric", "adaptive"])
def test_feedback_modes_learn_a_small_task(feedback):
    p, w, x, tgt = small_net(seed=4, n_alif=3, t_ref=0.0, rec=0.1)
    inputs = np.repeat(np.swapaxes(x, 0, 1)[:1], 30, axis=0)
    targets = np.repeat(np.swapaxes(tgt, 0, 1)[:1], 30, axis=0)
    spec = EpropSpec(feedback=feedback, optimizer="adam", eta=0.02, average_gradient=True, drop_first_step_input=False)
    res = train_eprop(p, spec, w, inputs, targets)
    assert res.losses[-5:].mean() < 0.8 * res.losses[:5].mean(), res.losses
    if feedback == "adaptive":
        # B moved with the readout: B - B0 == (Wout - Wout0)^T
        np.testing.assert_allclose(res.weights.b_fb - w.b_fb, (res.weights.w_out - w.w_out).T, atol=1e-12)
    else:
        np.testing.assert_array_equal(res.weights.b_fb, w.b_fb)


def test_nest_spec_and_validation_messages():
    assert nest_spec().nest_early_trigger and not EpropSpec().nest_early_trigger
    cases = [
        (dict(learning_window=0), "learning_window"),
        (dict(learning_window=20, update_interval=10), "learning_window"),
        (dict(reset_on_update=False), "reset_on_update"),
        (dict(feedback="sometimes"), "feedback"),
        (dict(optimizer="sgd"), "optimizer"),
        (dict(eta=-1.0), "eta"),
        (dict(adam_beta1=1.0), "adam_beta1"),
        (dict(w_min=1.0, w_max=0.0), "w_min"),
        (dict(learn=("w_in", "bias")), "learn"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ParamsError, match=field):
            EpropSpec(**kwargs)
    with pytest.raises(ParamsError, match="update_interval"):
        EpropSpec(update_interval=100).check_sequence(50)
    with pytest.raises(ParamsError, match="n_alif"):
        SnnParams(n_in=1, n_rec=2, n_out=1, n_alif=3)
    with pytest.raises(ParamsError, match="t_ref"):
        SnnParams(n_in=1, n_rec=2, n_out=1, t_ref=1.5)
    with pytest.raises(ParamsError, match="surrogate"):
        SnnParams(n_in=1, n_rec=2, n_out=1, surrogate="boxcar")


def test_weights_are_checked():
    p, w, x, _ = small_net()
    bad = w.copy()
    bad.w_rec[0, 0] = 1.0
    with pytest.raises(ParamsError, match="diagonal"):
        simulate(p, bad, x)
    bad = w.copy()
    bad.w_in = bad.w_in[:, :3]
    with pytest.raises(ParamsError, match="w_in"):
        simulate(p, bad, x)


def test_batch_split_into_parallel_groups_gives_the_same_update():
    p, w, x, tgt = small_net(seed=6)
    inputs = np.concatenate([np.swapaxes(x, 0, 1)] * 3)  # 6 sequences
    targets = np.concatenate([np.swapaxes(tgt, 0, 1)] * 3)
    spec = nest_spec(optimizer="adam", eta=0.01, learning_window=40, average_gradient=True)
    inputs[:, 1, :2] = 1  # early-trigger corrections happen
    runs = [train_eprop(p, spec, w, inputs, targets, batch=3, max_parallel=k) for k in (1, 2, 3)]
    for r in runs[1:]:
        np.testing.assert_allclose(r.losses, runs[0].losses, rtol=1e-12)
        for name in ("w_in", "w_rec", "w_out"):
            np.testing.assert_allclose(getattr(r.weights, name), getattr(runs[0].weights, name), rtol=1e-10, atol=1e-13)
    with pytest.raises(ParamsError, match="max_parallel"):
        train_eprop(p, spec, w, inputs, targets, batch=3, max_parallel=0)
