"""DEEP R (reference/deep_r.py): the official LSNN rewiring step, its invariants and a short training run.

* Properties (hypothesis): the active count stays at the target after every step, active weights
  keep their sign, dormant weights are exactly 0, each step reconnects as many as it prunes, and
  nothing dormant becomes active except through a reconnection (momentum cannot revive it).
* Reconnected positions are uniform among the dormant ones, and the split across matrices
  follows ``size_i * p_i`` (chi-square tests, fixed seeds).
* One step worked out by hand from the published update.
* DEEP R with BPTT and with e-prop gradients on a tiny task: fixed count, falling loss.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticore.reference.bptt import bptt_loss_and_gradients
from plasticore.reference.deep_r import EPSILON, DeepRState, deep_r_step, eprop_weights, init_deep_r
from plasticore.reference.eprop import EpropSpec, eprop_gradients, network_inputs
from plasticore.reference.eprop_model import SnnParams, simulate
from plasticore.reference.optimizers import Adam, GradientDescent

#: chi-square 0.999 quantiles (scipy.stats.chi2.ppf(0.999, df)), for df = 1 and 20
CHI2_999 = {1: 10.828, 20: 45.315}


def _chi_square(observed, expected):
    observed = np.asarray(observed, dtype=float)
    return float(np.sum((observed - expected) ** 2 / expected))


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dims=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=3),
    p=st.floats(0.05, 1.0),
    adam=st.booleans(),
    lr=st.floats(0.01, 0.5),
    l1=st.sampled_from([0.0, 0.1, 1.0]),
    temperature=st.sampled_from([0.0, 1e-3, 0.1]),
    grad_scale=st.floats(0.1, 10.0),
    steps=st.integers(1, 6),
)
def test_invariants_hold_after_every_step(seed, dims, p, adam, lr, l1, temperature, grad_scale, steps):
    rng = np.random.default_rng(seed)
    shapes = {name: shape for name, shape in zip(("w_in", "w_rec", "w_out"), dims, strict=False)}
    state = init_deep_r(shapes, p, rng)
    target = state.target
    assert state.n_active() == target
    signs = {n: s.copy() for n, s in state.sign.items()}
    opt = Adam(lr, epsilon_on="v") if adam else GradientDescent(lr)
    for _ in range(steps):
        grads = {n: grad_scale * rng.standard_normal(shape) for n, shape in shapes.items()}
        before = state.active()
        state, counts = deep_r_step(state, grads, rng, opt, l1=l1, temperature=temperature)
        assert state.n_active() == target
        assert counts.n_reconnected == counts.n_pruned
        w = state.weights()
        for n in shapes:
            on = state.theta[n] > 0
            assert np.array_equal(state.sign[n], signs[n])  # signs never change
            assert np.all(np.sign(w[n][on]) == signs[n][on])  # active: the stored sign
            assert np.all(w[n][~on] == 0.0) and np.all(state.theta[n][~on] == 0.0)  # dormant: exactly 0
            revived = ~before[n] & on
            assert np.all(state.theta[n][revived] == EPSILON)  # only through reconnection
            assert revived.sum() <= counts.reconnected[n]


def test_momentum_cannot_revive_a_dormant_connection():
    # 1 x 4, p = 0.5: target 2, positions 0 and 1 active with large theta, so nothing is pruned
    # and nothing is reconnected; positions 2 and 3 dormant, 2 pushed upward by the gradient
    state = DeepRState({"w": np.array([[1.0, 1.0, 0.0, 0.0]])}, {"w": np.ones((1, 4))}, {"w": 0.5})
    opt, plain = Adam(0.1), Adam(0.1)
    free = {"w": state.theta["w"].copy()}
    push = {"w": np.array([[0.0, 0.0, -5.0, 0.0]])}
    zero = {"w": np.zeros((1, 4))}
    rng = np.random.default_rng(0)
    for grads in (push, push, push, zero, zero):
        state, counts = deep_r_step(state, grads, rng, opt)
        free = plain.step(free, grads)
        assert counts.n_pruned == counts.n_reconnected == 0
        assert state.theta["w"][0, 2] == 0.0 and state.theta["w"][0, 3] == 0.0
    assert free["w"][0, 2] > 0.1  # unguarded, Adam's momentum would have revived it


def test_one_step_by_hand():
    # theta (3 of 6 active, p = 0.5: target 3), fixed signs, dL/dw, plain gradient descent
    theta = np.array([[0.5, 0.0, 0.2], [0.0, 0.3, 0.0]])
    sign = np.array([[1.0, -1.0, -1.0], [1.0, 1.0, -1.0]])
    g = np.array([[0.4, 1.0, -3.0], [2.0, -0.5, 0.7]])
    z = np.array([[0.5, 2.0, 3.0], [1.5, -0.4, 3.0]])
    eta, alpha, T = 0.1, 0.2, 0.05
    state = DeepRState({"w": theta}, {"w": sign}, {"w": 0.5})
    new, counts = deep_r_step(
        state, {"w": g}, np.random.default_rng(3), GradientDescent(eta), l1=alpha, temperature=T, noise={"w": z}
    )
    # gradient step on theta with dL/dtheta = dL/dw * sign:
    #   (0,0): 0.5 - 0.1 * 0.4 = 0.46      (0,2): 0.2 - 0.1 * 3.0 = -0.1 -> pruned
    #   (1,1): 0.3 - 0.1 * -0.5 = 0.35     dormant (0,1), (1,0), (1,2) moved by the step, guarded back to 0
    # then on the active ones theta += -eta * alpha + sqrt(2 eta T) * z, sqrt(2 * 0.1 * 0.05) = 0.1:
    #   (0,0): 0.46 - 0.02 + 0.1 * 0.5 = 0.49      (1,1): 0.35 - 0.02 + 0.1 * -0.4 = 0.29
    # (0,2) is no longer active (mask_connected(th_)), so its noise (+0.3) does not lift it back
    noise_amp = math.sqrt(2 * eta * T)
    assert noise_amp == pytest.approx(0.1)
    assert new.theta["w"][0, 0] == pytest.approx(0.5 - eta * 0.4 * 1.0 - eta * alpha + noise_amp * 0.5, abs=1e-15)
    assert new.theta["w"][0, 0] == pytest.approx(0.49, abs=1e-15)
    assert new.theta["w"][1, 1] == pytest.approx(0.29, abs=1e-15)
    # one pruned, so one of the four theta <= 0 positions (the pruned one included) is re-activated at 1e-12
    assert counts.pruned == {"w": 1} and counts.reconnected == {"w": 1}
    rest = new.theta["w"][[0, 0, 1, 1], [1, 2, 0, 2]]
    assert sorted(rest) == [0.0, 0.0, 0.0, 1e-12]
    w = new.weights()["w"]
    assert np.count_nonzero(w) == 3 and np.all(np.sign(w[w != 0]) == sign[w != 0])
    assert np.array_equal(state.theta["w"], theta)  # the old state is untouched


def _pruning_state():
    """5 x 6, p = 0.4 (target 12): positions 0-11 active at theta 1; a gradient of 20 with
    learning rate 0.1 prunes positions 0-2, so 3 of the 21 positions with theta <= 0 are picked."""
    theta = np.zeros(30)
    theta[:12] = 1.0
    g = np.zeros(30)
    g[:3] = 20.0
    return DeepRState({"w": theta.reshape(5, 6)}, {"w": np.ones((5, 6))}, {"w": 0.4}), {"w": g.reshape(5, 6)}


def test_reconnections_are_uniform_among_dormant_positions():
    state, grads = _pruning_state()
    rng = np.random.default_rng(12345)
    hits = np.zeros(30)
    n = 2000
    for _ in range(n):
        new, counts = deep_r_step(state, grads, rng, GradientDescent(0.1))
        assert counts.n_pruned == counts.n_reconnected == 3
        hits += (new.theta["w"] == EPSILON).ravel()
    candidates = np.r_[0:3, 12:30]
    assert hits[3:12].sum() == 0  # survivors are not candidates
    assert hits[candidates].sum() == 3 * n
    assert _chi_square(hits[candidates], 3 * n / 21) < CHI2_999[20]
    # the same test detects a bias: half as often on the just-pruned positions
    biased = hits[candidates].copy()
    biased[:3] *= 0.5
    assert _chi_square(biased, biased.sum() / 21) > CHI2_999[20]


def test_split_across_matrices_follows_size_times_connectivity():
    # "a": 4 x 5, p 0.5 (10 active); "b": 2 x 5, p 0.5 (5); 3 pruned in "a" per step, so the
    # 3 reconnections go to "a" with probability 20 * 0.5 / 15 = 2/3 and to "b" with 1/3
    ta = np.zeros(20)
    ta[:10] = 1.0
    tb = np.zeros(10)
    tb[:5] = 1.0
    state = DeepRState(
        {"a": ta.reshape(4, 5), "b": tb.reshape(2, 5)},
        {"a": np.ones((4, 5)), "b": np.ones((2, 5))},
        {"a": 0.5, "b": 0.5},
    )
    ga = np.zeros(20)
    ga[:3] = 20.0
    grads = {"a": ga.reshape(4, 5), "b": np.zeros((2, 5))}
    rng = np.random.default_rng(7)
    n = 1500
    got = np.zeros(2)
    for _ in range(n):
        new, counts = deep_r_step(state, grads, rng, GradientDescent(0.1))
        assert new.n_active() == 15
        got += [counts.reconnected["a"], counts.reconnected["b"]]
    assert _chi_square(got, 3 * n * np.array([2 / 3, 1 / 3])) < CHI2_999[1]


def test_clip_is_the_official_shortfall_and_the_next_step_tops_up():
    # "a" 1 x 2 fully active (no dormant position), "b" 1 x 10 at p = 0.5: prune all 5 of "b";
    # the split sends some of the 5 reconnections to "a", which has no room
    theta = {"a": np.ones((1, 2)), "b": np.r_[np.ones(5), np.zeros(5)].reshape(1, 10)}
    state = DeepRState(theta, {"a": np.ones((1, 2)), "b": np.ones((1, 10))}, {"a": 1.0, "b": 0.5})
    grads = {"a": np.zeros((1, 2)), "b": np.r_[np.full(5, 20.0), np.zeros(5)].reshape(1, 10)}
    zero = {"a": np.zeros((1, 2)), "b": np.zeros((1, 10))}
    short = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        redrawn, counts = deep_r_step(state, grads, rng, GradientDescent(0.1))
        assert redrawn.n_active() == 7 and counts.n_reconnected == 5
        clipped, counts = deep_r_step(state, grads, rng, GradientDescent(0.1), on_full="clip")
        assert counts.reconnected["a"] == 0 and clipped.n_active() == 2 + counts.reconnected["b"]
        if clipped.n_active() < 7:
            short += 1
            topped, counts = deep_r_step(clipped, zero, rng, GradientDescent(0.1), on_full="clip")
            assert topped.n_active() == 7 or counts.reconnected["a"] == 0
    assert short > 0


def test_init_places_the_target_with_random_signs():
    rng = np.random.default_rng(0)
    shapes = {"w_in": (30, 7), "w_rec": (30, 30), "w_out": (3, 30)}
    state = init_deep_r(shapes, 0.15, rng)
    # int(31.5 + 135 + 13.5) = 180, one more than int(31.5) + 135 + int(13.5): the remainder is placed too
    assert state.target == 180 == state.n_active()
    signs = np.concatenate([s.ravel() for s in state.sign.values()])
    assert set(np.unique(signs)) == {-1.0, 1.0} and abs(signs.mean()) < 0.1
    dale = init_deep_r({"w": (4, 3)}, 0.5, rng, signs={"w": np.array([1.0, -1.0, 1.0])})
    assert np.array_equal(dale.sign["w"], np.tile([1.0, -1.0, 1.0], (4, 1)))


def test_bad_inputs_are_refused():
    state, grads = _pruning_state()
    opt = GradientDescent(0.1)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="shape"):
        deep_r_step(state, {"w": np.zeros((6, 5))}, rng, opt)
    with pytest.raises(ValueError, match="NaN or Inf"):
        deep_r_step(state, {"w": np.full((5, 6), np.nan)}, rng, opt)
    with pytest.raises(ValueError, match="on_full"):
        deep_r_step(state, grads, rng, opt, on_full="drop")
    over = DeepRState({"w": np.ones((5, 6))}, {"w": np.ones((5, 6))}, {"w": 0.4})
    with pytest.raises(ValueError, match="exceed the target"):
        deep_r_step(over, grads, rng, opt)
    with pytest.raises(ValueError, match="signs"):
        DeepRState({"w": np.ones((1, 2))}, {"w": np.zeros((1, 2))}, {"w": 0.5})
    with pytest.raises(ValueError, match=">= 0"):
        DeepRState({"w": -np.ones((1, 2))}, {"w": np.ones((1, 2))}, {"w": 0.5})


def _bptt(p, spec, w, x, tgt):
    return bptt_loss_and_gradients(p, w, x, tgt, spec)


def _eprop(p, spec, w, x, tgt):
    grads, loss = eprop_gradients(p, spec, w, simulate(p, w, network_inputs(spec, x)), tgt)
    return loss, grads


@pytest.mark.parametrize("gradients", [_bptt, _eprop], ids=["bptt", "eprop"])
def test_deep_r_trains_a_tiny_network_at_fixed_connection_count(gradients):
    rng = np.random.default_rng(0)
    n_in, n_rec, n_out, T, B = 6, 12, 2, 40, 4
    p = SnnParams(n_in=n_in, n_rec=n_rec, n_out=n_out, tau_m=20.0, v_th=0.6, tau_out=20.0, loss="mean_squared_error")
    spec = EpropSpec(drop_first_step_input=False)
    x = (rng.random((T, B, n_in)) < 0.3).astype(float)
    phase = 2 * np.pi * np.arange(T) / T
    tgt = np.repeat(0.5 * np.stack([np.sin(phase), np.cos(phase)], axis=-1)[:, None, :], B, axis=1)
    state = init_deep_r(
        {"w_in": (n_rec, n_in), "w_rec": (n_rec, n_rec), "w_out": (n_out, n_rec)},
        {"w_in": 0.5, "w_rec": 0.3, "w_out": 0.5},
        rng,
        w_scale=2.0,
    )
    b_fb = rng.normal(size=(n_rec, n_out))
    opt = Adam(0.05, epsilon_on="v")
    losses, pruned = [], 0
    for _ in range(40):
        w = eprop_weights(state, b_fb)
        assert np.all(np.diag(w.w_rec) == 0)
        loss, grads = gradients(p, spec, w, x, tgt)
        losses.append(loss)
        state, counts = deep_r_step(state, grads, rng, opt, l1=1e-3, temperature=1e-5)
        assert state.n_active() == state.target == 6 * 12 // 2 + int(144 * 0.3) + 12
        assert counts.n_reconnected == counts.n_pruned
        pruned += counts.n_pruned
    assert pruned > 10  # rewiring did happen
    assert np.mean(losses[-5:]) < 0.6 * losses[0], losses
