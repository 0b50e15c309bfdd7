"""Huh & Sejnowski (2018) reference (plasticore.reference.huh_sejnowski).

* The analytic BPTT gradient equals central differences of the loss (float64, both losses).
* The gate delivers unit charge for one threshold crossing, whatever its speed.
* As the active zone shrinks to nothing the network is the chip's hard-threshold LIF with
  subtractive reset.
* A short training run on a tiny delayed-memory XOR lowers the loss by a real margin.
"""

import numpy as np
import pytest

from plasticore.reference import huh_sejnowski as hs
from plasticore.reference.optimizers import Adam
from plasticore.tasks.xor import xor_task

NAMES = ("w_in", "w_rec", "w_out")


def small_net(loss, reset_mode="subtract"):
    p = hs.HSParams(
        n_in=3,
        n_rec=5,
        n_out=2,
        alpha=0.95,
        theta=1.0,
        delta=0.8,
        kappa_s=0.8,
        kappa_out=0.9,
        loss=loss,
        reset_mode=reset_mode,
    )
    w = hs.init_weights(p, seed=1, in_scale=3.0, rec_scale=1.0)
    rng = np.random.default_rng(0)
    x = rng.random((2, 30, 3))
    if loss == "cross_entropy":
        tgt = np.zeros((2, 30, 2))
        tgt[0, 20:, 0] = tgt[1, 20:, 1] = 1.0
        valid = None
    else:
        tgt = rng.normal(size=(2, 30, 2))
        valid = np.zeros((2, 30), dtype=bool)
        valid[:, 15:] = True
    return p, w, x, tgt, valid


def central_differences(p, w, x, tgt, valid, eps):
    out = {}
    for name in NAMES:
        fd = np.zeros_like(w[name])
        for idx in np.ndindex(fd.shape):
            plus = {k: v.copy() for k, v in w.items()}
            minus = {k: v.copy() for k, v in w.items()}
            plus[name][idx] += eps
            minus[name][idx] -= eps
            fd[idx] = (hs.loss(p, plus, x, tgt, valid) - hs.loss(p, minus, x, tgt, valid)) / (2 * eps)
        out[name] = fd
    return out


@pytest.mark.parametrize("reset_mode", hs.RESET_MODES)
@pytest.mark.parametrize("loss", hs.LOSSES)
def test_gradient_matches_central_differences(loss, reset_mode):
    p, w, x, tgt, valid = small_net(loss, reset_mode)
    eps = 1e-6
    value, grads, run = hs.loss_and_gradients(p, w, x, tgt, valid)
    assert value == hs.loss(p, w, x, tgt, valid)
    # the map is piecewise linear in the membrane: no potential may sit within the FD step of a zone edge
    edges = np.array([p.theta - p.delta / 2, p.theta + p.delta / 2])
    gap = min(np.abs(run.u_pre[..., None] - edges).min(), np.abs(run.u[..., None] - edges).min())
    assert gap > 1e-4
    # and the gate is really in play: graded charges, not only 0/1
    graded = (np.abs(run.c) > 1e-3) & (np.abs(run.c) < 1 - 1e-3)
    assert graded.sum() >= 10
    fd = central_differences(p, w, x, tgt, valid, eps)
    worst = 0.0
    for name in NAMES:
        scale = np.abs(fd[name]).max()
        assert scale > 1e-3, name
        rel = np.abs(grads[name] - fd[name]) / np.maximum(
            np.maximum(np.abs(grads[name]), np.abs(fd[name])), 1e-3 * scale
        )
        worst = max(worst, float(rel.max()))
        assert np.linalg.norm(grads[name] - fd[name]) <= 1e-6 * np.linalg.norm(fd[name]), name
    print(f"max relative error ({loss}, reset {reset_mode}): {worst:.2e}")
    assert worst <= 1e-4


def test_one_crossing_delivers_unit_charge():
    theta, delta = 1.0, 0.3
    # integral of g(v) dv along a linear drive through the zone (midpoint rule on a fine grid)
    v = np.linspace(theta - 2 * delta, theta + 2 * delta, 100_001)
    mid = 0.5 * (v[1:] + v[:-1])
    assert np.sum(hs.gate(mid, theta, delta) * np.diff(v)) == pytest.approx(1.0, abs=1e-4)
    # the model's per-tick charge G(end) - G(start) sums to exactly 1, fast or slow
    for ticks in (1, 3, 17, 1000):
        v = np.linspace(theta - delta, theta + delta, ticks + 1)
        assert np.sum(np.diff(hs.gate_integral(v, theta, delta))) == pytest.approx(1.0, abs=1e-12)
    # a neuron without reset driven through threshold at different speeds: total charge and
    # total synaptic current 1 (the paper's Fig. 1 A-B)
    for drive in (0.05, 0.2, 1.5):
        p = hs.HSParams(
            n_in=1, n_rec=1, n_out=1, alpha=1.0, theta=theta, delta=delta, kappa_s=0.9, reset=0.0, loss="mse"
        )
        w = {"w_in": np.array([[drive]]), "w_rec": np.zeros((1, 1)), "w_out": np.ones((1, 1))}
        x = np.zeros((1, 400, 1))
        x[0, : int(np.ceil(1.5 / drive)), 0] = 1.0  # ramp from 0 to about 1.5: one full crossing
        run = hs.forward(p, w, x)
        assert run.c.sum() == pytest.approx(1.0, abs=1e-12)
        assert run.s.sum() == pytest.approx(1.0, abs=1e-12)
        assert run.c.min() >= 0.0
    # with the reset: a one-tick crossing is one unit of charge and leaves the membrane below the zone
    p = hs.HSParams(n_in=1, n_rec=1, n_out=1, alpha=0.9, theta=theta, delta=delta, loss="mse")
    w = {"w_in": np.array([[1.3]]), "w_rec": np.zeros((1, 1)), "w_out": np.ones((1, 1))}
    x = np.zeros((1, 5, 1))
    x[0, 0, 0] = 1.0
    run = hs.forward(p, w, x)
    assert run.c[0, 0, 0] == 1.0 and run.c[1:].sum() == 0.0
    assert run.u[0, 0, 0] == pytest.approx(1.3 - theta / 0.9) and run.u[0, 0, 0] < theta - delta / 2


def test_partial_entry_delivers_graded_charge():
    """A depolarization that reaches only part way into the zone delivers that fraction (Fig. 1 C-E)."""
    theta, delta = 1.0, 0.4
    p = hs.HSParams(n_in=1, n_rec=1, n_out=1, alpha=1.0, theta=theta, delta=delta, kappa_s=0.0, loss="mse")
    w = {"w_in": np.array([[theta - delta / 2 + 0.25 * delta]]), "w_rec": np.zeros((1, 1)), "w_out": np.ones((1, 1))}
    run = hs.forward(p, w, np.array([[[1.0], [0.0]]]))
    assert run.c[0, 0, 0] == pytest.approx(0.25)
    assert run.u[0, 0, 0] == pytest.approx(theta - delta / 2 + 0.25 * delta - 0.25 * theta)


def test_narrow_zone_is_the_chips_hard_lif():
    """Delta -> 0 with kappa_s = 0: golden's LIF, U <- alpha U + I - theta z(t-1), z = [U >= theta].

    Holds while one reset brings the membrane back below threshold (pre-reset U < theta (1 + 1/alpha)):
    above that the chip spikes on every tick, the gate's neuron only once per crossing.
    """
    rng = np.random.default_rng(5)
    n_in, n, n_out, T, B = 4, 6, 2, 60, 3
    p = hs.HSParams(n_in=n_in, n_rec=n, n_out=n_out, alpha=0.9, theta=1.0, delta=1e-9, kappa_s=0.0, kappa_out=0.8)
    w = {
        "w_in": rng.uniform(-0.2, 0.5, (n, n_in)),
        "w_rec": rng.uniform(-0.2, 0.2, (n, n)),
        "w_out": rng.normal(size=(n_out, n)),
    }
    x = (rng.random((B, T, n_in)) < 0.3).astype(float)
    run = hs.forward(p, w, x)
    assert run.u_pre.max() < p.theta * (1 + 1 / p.alpha)
    U, z, Y = np.zeros((B, n)), np.zeros((B, n)), np.zeros((B, n_out))
    for t in range(T):
        U = p.alpha * U + x[:, t] @ w["w_in"].T + z @ w["w_rec"].T - p.theta * z
        z = (U >= p.theta).astype(float)
        Y = p.kappa_out * Y + z @ w["w_out"].T
        np.testing.assert_allclose(run.u_pre[t], U, atol=1e-9)
        np.testing.assert_array_equal(run.c[t], z)
        np.testing.assert_allclose(run.y[t], Y, atol=1e-9)
    assert run.c.sum() > 50


def test_narrow_zone_with_zero_reset_is_the_chips_zero_reset_lif_at_any_drive():
    """Delta -> 0, reset_mode "zero": golden's U <- (1 - z(t-1)) alpha U + I, z = [U >= theta],
    also under drives far above threshold, where the neuron spikes on every tick."""
    rng = np.random.default_rng(6)
    n_in, n, n_out, T, B = 4, 6, 2, 60, 3
    p = hs.HSParams(
        n_in=n_in, n_rec=n, n_out=n_out, alpha=0.9, delta=1e-9, kappa_s=0.0, kappa_out=0.8, reset_mode="zero"
    )
    w = {
        "w_in": rng.uniform(-0.5, 3.0, (n, n_in)),
        "w_rec": rng.uniform(-0.5, 0.5, (n, n)),
        "w_out": rng.normal(size=(n_out, n)),
    }
    x = (rng.random((B, T, n_in)) < 0.5).astype(float)
    run = hs.forward(p, w, x)
    assert run.u_pre.max() > 3 * p.theta  # far above the subtractive form's range
    U, z, Y = np.zeros((B, n)), np.zeros((B, n)), np.zeros((B, n_out))
    for t in range(T):
        U = (1 - z) * p.alpha * U + x[:, t] @ w["w_in"].T + z @ w["w_rec"].T
        z = (U >= p.theta).astype(float)
        Y = p.kappa_out * Y + z @ w["w_out"].T
        np.testing.assert_allclose(run.u_pre[t], U, atol=1e-9)
        np.testing.assert_array_equal(run.c[t], z)
        np.testing.assert_allclose(run.y[t], Y, atol=1e-9)
    assert (run.c[1:] * run.c[:-1]).sum() > 20  # spikes on consecutive ticks


def test_short_training_on_delayed_xor_lowers_the_loss():
    task = xor_task(
        0, n_train=64, n_test=64, group=4, pulse_ticks=5, delay_ticks=5, go_ticks=5, rate=0.5, noise_rate=0.0
    )
    tr = task.train
    p = hs.HSParams(n_in=tr.x.shape[2], n_rec=20, n_out=2, alpha=0.9, delta=0.5, kappa_s=0.8, kappa_out=0.8)
    w0 = hs.init_weights(p, seed=0, in_scale=2.0, rec_scale=1.0)
    w, losses = hs.train(p, w0, tr.x, tr.target, tr.valid, steps=60, optimizer=Adam(0.03))
    final = hs.loss(p, w, tr.x, tr.target, tr.valid)
    print(f"delayed XOR: loss {losses[0]:.3f} -> {final:.4f}")
    assert losses[0] > 0.6  # chance is log 2
    assert final < 0.25 * losses[0]
    pred = hs.forward(p, w, tr.x).y[-1].argmax(axis=-1)
    assert (pred == tr.labels).mean() >= 0.9


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="delta"):
        hs.HSParams(n_in=1, n_rec=1, n_out=1, delta=0.0)
    with pytest.raises(ValueError, match="loss"):
        hs.HSParams(n_in=1, n_rec=1, n_out=1, loss="hinge")
    p = hs.HSParams(n_in=2, n_rec=3, n_out=1)
    with pytest.raises(ValueError, match="w_in"):
        hs.forward(
            p, {"w_in": np.zeros((2, 3)), "w_rec": np.zeros((3, 3)), "w_out": np.zeros((1, 3))}, np.zeros((1, 4, 2))
        )
