"""Reinforcement learning on CartPole: the liquid's construction rules, the encoding, the DQN
readout's gradient, a short deterministic run and the ``plasticore rl`` command."""

import json

import numpy as np
import pytest

from plasticore.cli import main
from plasticore.golden import Weights, init_state, numerics
from plasticore.golden.learning import init_learning, learning_tick
from plasticore.reference.dqn import DQN, huber, mlp_forward, mlp_init, q_loss_and_grads
from plasticore.reference.lsm import CARTPOLE_K, CARTPOLE_W, Liquid, LiquidSpec, liquid_weights
from plasticore.reference.optimizers import RMSprop
from plasticore.tasks.cartpole import encode_buckets
from plasticore.training.rl import episode_statistics, run_lsm_q
from plasticore.training.rl_chip import ChipLsmQ, ChipLsmQSettings, run_chip_lsm_q


def test_liquid_counts_signs_and_zero_diagonals():
    spec = LiquidSpec()
    assert (spec.n_e, spec.n_i) == (120, 30)
    w = liquid_weights(spec, np.random.default_rng(0))
    shapes = {"pe": (40, 120), "pi": (40, 30), "ee": (120, 120), "ei": (120, 30), "ie": (30, 120), "ii": (30, 30)}
    assert {k: v.shape for k, v in w.items()} == shapes
    for name in ("pe", "ee", "ei"):
        assert w[name].min() >= 0
    for name in ("ie", "ii"):
        assert w[name].max() <= 0
    assert not w["pi"].any()  # k_pi = 0: no input reaches the inhibitory neurons
    assert np.abs(w["pe"]).max() <= CARTPOLE_W["pe"] and np.abs(w["ei"]).max() <= CARTPOLE_W["ei"]
    assert not np.diag(w["ee"]).any() and not np.diag(w["ii"]).any()
    # an E neuron's links to and from the I population never share an I neuron
    assert not ((w["ei"] != 0) & (w["ie"] != 0).T).any()
    # E->E exists only where an E->I->E path does (and likewise I->I through E)
    paths_ee = (w["ei"] != 0).astype(int) @ (w["ie"] != 0).astype(int)
    paths_ii = (w["ie"] != 0).astype(int) @ (w["ei"] != 0).astype(int)
    assert not ((w["ee"] != 0) & (paths_ee == 0)).any() and not ((w["ii"] != 0) & (paths_ii == 0)).any()
    # a present E->E weight is U(0, w_ee) times its number of paths
    assert (np.abs(w["ee"]) <= CARTPOLE_W["ee"] * paths_ee).all()


def test_liquid_fan_in_matches_k_on_average():
    spec = LiquidSpec()
    pe, ei, ie = [], [], []
    for seed in range(8):
        w = liquid_weights(spec, np.random.default_rng(seed))
        pe.append((w["pe"] != 0).sum(axis=0).mean())  # inputs per E neuron
        ei.append((w["ei"] != 0).sum(axis=1).mean())  # I targets per E neuron
        ie.append((w["ie"] != 0).sum(axis=0).mean())  # I sources per E neuron
    # expected k_pe = 3 and k_ei = 4 per E neuron each way (standard errors ~0.05 and ~0.06)
    assert abs(np.mean(pe) - CARTPOLE_K["pe"]) < 0.25
    assert abs(np.mean(ei) - CARTPOLE_K["ei"]) < 0.3 and abs(np.mean(ie) - CARTPOLE_K["ei"]) < 0.3


def _tiny_liquid(ticks):
    """4 E + 1 I neurons, one input driving E0 over threshold on every tick it spikes."""
    spec = LiquidSpec(n_inputs=1, n_neurons=5, rate_scale=1.0, ticks=ticks)
    w = {
        "pe": np.array([[0.6, 0.0, 0.0, 0.0]]),
        "pi": np.zeros((1, 1)),
        "ee": np.zeros((4, 4)),
        "ei": np.zeros((4, 1)),
        "ie": np.zeros((1, 4)),
        "ii": np.zeros((1, 1)),
    }
    w["ee"][0, 1] = 0.6  # E0 -> E1: arrives two ticks after E0 spikes
    w["ei"][0, 0] = 0.6  # E0 -> I0: arrives one tick after
    w["ie"][0, 2] = 0.6  # I0 -> E2 (a positive weight only to make the arrival visible)
    return Liquid(spec, w, np.random.default_rng(0))


def test_liquid_delays_and_reset_follow_the_official_update_order():
    liquid = _tiny_liquid(ticks=1)
    spikes = []
    for x in (1.0, 0.0, 0.0, 0.0):
        liquid.step(np.array([x]))
        spikes.append(liquid.z.copy())
    spikes = np.array(spikes)
    assert spikes[0].tolist() == [1, 0, 0, 0, 0]  # input -> E0 in the same tick, then reset to 0
    assert spikes[1].tolist() == [0, 0, 0, 0, 1]  # E0 -> I0 one tick later
    assert spikes[2].tolist() == [0, 1, 1, 0, 0]  # E0 -> E1 (delayed) and I0 -> E2, both at t+2
    assert liquid.v[0] == 0.0 and liquid.v[1] == 0.0
    # the features are excitatory spike counts per tick, membranes carried between calls
    liquid = _tiny_liquid(ticks=4)
    assert liquid.step(np.array([1.0])).tolist() == [1.0, 0.5, 0.5, 0.0]


def test_encoding_is_one_hot_per_variable_with_clipping():
    x = encode_buckets(np.array([0.0, 0.5, -0.28, 10.0]))
    assert x.shape == (40,) and x.sum() == 4
    buckets = x.reshape(4, 10).argmax(axis=1)
    # 9 * 0.5 = 4.5 rounds half to even (Python's round, as the official code); bounds map to 0 / 9
    assert buckets.tolist() == [4, 9, 0, 9]
    assert encode_buckets(np.array([-3.0, 0.1, 0.14, -0.44])).reshape(4, 10).argmax(axis=1).tolist() == [0, 5, 7, 2]
    with pytest.raises(ValueError, match="obs"):
        encode_buckets(np.zeros(3))


def test_q_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    params = mlp_init(6, 5, 2, rng)
    x = rng.random((7, 6))
    actions = rng.integers(0, 2, 7)
    q, _ = mlp_forward(params, x)
    # targets that put some differences inside the quadratic zone of the Huber loss and some outside
    targets = q[np.arange(7), actions] + np.array([0.3, -0.4, 2.5, -3.0, 0.1, 1.7, -0.8])
    _, grads = q_loss_and_grads(params, x, actions, targets)
    eps = 1e-6
    for name, value in params.items():
        fd = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][idx] += eps
            minus[name][idx] -= eps
            fd[idx] = (
                q_loss_and_grads(plus, x, actions, targets)[0] - q_loss_and_grads(minus, x, actions, targets)[0]
            ) / (2 * eps)
        np.testing.assert_allclose(grads[name], fd, atol=1e-7, rtol=1e-5)
    assert huber(np.array([0.5, -2.0]))[0].tolist() == [0.125, 1.5]


def test_rmsprop_is_torch_form():
    opt = RMSprop(0.1, alpha=0.9, eps=1e-6)
    w = {"a": np.array([1.0])}
    w = opt.step(w, {"a": np.array([2.0])})
    v1 = 0.1 * 4.0
    assert w["a"][0] == pytest.approx(1.0 - 0.1 * 2.0 / (np.sqrt(v1) + 1e-6))
    w2 = opt.step(w, {"a": np.array([-1.0])})
    v2 = 0.9 * v1 + 0.1 * 1.0
    assert w2["a"][0] == pytest.approx(w["a"][0] + 0.1 / (np.sqrt(v2) + 1e-6))


def test_dqn_step_lowers_the_loss_of_its_batch():
    rng = np.random.default_rng(0)
    dqn = DQN(8, 4, 2, rng, lr=1e-2)
    s, s_next = rng.random((32, 8)), rng.random((32, 8))
    a, r, term = rng.integers(0, 2, 32), np.ones(32), rng.random(32) < 0.2
    first = dqn.train(s, a, r, s_next, term)
    for _ in range(20):
        last = dqn.train(s, a, r, s_next, term)
    assert last < first


def test_episode_statistics():
    returns = [10.0] * 100 + [500.0] * 100
    solved_at, best = episode_statistics(returns, 475.0)
    assert best == 500.0 and solved_at == 195  # episodes 96..195: 5 x 10 + 95 x 500 = 47,550 / 100
    assert episode_statistics([1.0] * 99, 475.0) == (None, None)


def test_lsm_q_run_is_deterministic_per_seed():
    a = run_lsm_q(3, "v0", max_steps=300)
    b = run_lsm_q(3, "v0", max_steps=300)
    c = run_lsm_q(4, "v0", max_steps=300)
    assert a.returns == b.returns and a.steps == b.steps == 300 and len(a.returns) >= 5
    assert a.returns != c.returns


def test_cli_rl_json_keys_report_and_refusals(tmp_path, capsys):
    out = tmp_path / "r.json"
    args = ["rl", "--agent", "lsm-q", "--version", "v0", "--seed", "2", "--episodes", "3", "--quiet"]
    assert main([*args, "--json", str(out), "--report", str(tmp_path / "rep")]) == 0
    obj = json.loads(out.read_text())
    for key in ("env", "agent", "numerics", "backend", "episodes", "solved_at", "best_mean100", "returns", "seconds"):
        assert key in obj
    assert (obj["env"], obj["agent"], obj["numerics"], obj["backend"]) == ("cartpole", "lsm-q", "float", "golden")
    assert obj["episodes"] == len(obj["returns"]) == 3 and obj["solved_at"] is None and obj["best_mean100"] is None
    assert (tmp_path / "rep" / "returns.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["rl", "--agent", "lsm-q", "--backend", "rtl"]) == 2
    assert "--numerics fixed" in capsys.readouterr().err
    assert main(["rl", "--agent", "lsm-q", "--episodes", "0"]) == 2
    assert "--episodes" in capsys.readouterr().err


def test_chip_liquid_is_the_float_liquid_quantized():
    settings = ChipLsmQSettings()
    chip = ChipLsmQ(settings, 2, seed=5)
    liquid = liquid_weights(settings.liquid, np.random.default_rng(np.random.SeedSequence(5).spawn(5)[0]))
    w = chip.weights
    assert chip.cfg.threshold == round(0.5 * settings.weight_scale) << settings.w_shift
    assert np.array_equal(w.w_in[:120], np.rint(liquid["pe"].T * settings.weight_scale))
    assert np.array_equal(w.w_rec[120:, :120], np.rint(liquid["ei"].T * settings.weight_scale))  # E -> I
    assert np.array_equal(w.w_rec[:120, 120:], np.rint(liquid["ie"].T * settings.weight_scale))  # I -> E
    assert (w.w_rec[:, 120:] <= 0).all() and (w.w_rec[:, :120] >= 0).all()
    assert not np.diag(w.w_rec).any() and not w.w_out.any() and not w.b_fb.any()


def test_chip_readout_is_linear_in_the_traces_in_the_float_twin():
    """tau_out == tau_trace: Y = 2**out_shift / trace_inc * Wout z_bar, the Q function of docs/rl.md."""
    settings = ChipLsmQSettings()
    chip = ChipLsmQ(settings, 2, seed=1)
    cfg, num = chip.cfg, numerics("float")
    rng = np.random.default_rng(0)
    w = chip.weights.astype(num.dtype)
    w = Weights(w.w_in, w.w_rec, rng.integers(-50, 50, (2, cfg.n_rec)).astype(float), w.b_fb)
    state, ls = init_state(cfg, num), init_learning(cfg, num)
    x = (rng.random((40, 1, cfg.n_in)) < 0.05).astype(np.int64)
    for t in range(40):
        w, state, ls, _ = learning_tick(cfg, num, w, state, ls, x[t])
    assert ls.traces.z_bar.sum() > 0
    np.testing.assert_allclose(state.y[0], (w.w_out @ ls.traces.z_bar[0]) / cfg.trace_inc, rtol=1e-12)


def test_chip_learning_moves_only_the_readout_toward_the_target():
    chip = ChipLsmQ(ChipLsmQSettings(), 2, seed=2)
    obs = np.array([0.0, 0.1, 0.02, -0.1])
    w_in, w_rec = chip.weights.w_in.copy(), chip.weights.w_rec.copy()
    y = chip.present(obs, 20)
    chip.present(obs, 20, (1, int(y[1]) + 20_000))  # a TD target far above Q(s, 1)
    w_out = chip.weights.w_out
    assert np.array_equal(chip.weights.w_in, w_in) and np.array_equal(chip.weights.w_rec, w_rec)
    assert (w_out[1] >= 0).all() and w_out[1].sum() > 10 * np.abs(w_out[0]).sum()


def test_chip_lsm_q_run_is_deterministic_per_seed():
    a = run_chip_lsm_q(3, "v1", episodes=2)
    b = run_chip_lsm_q(3, "v1", episodes=2)
    assert a.returns == b.returns and len(a.returns) == 2 and a.steps == sum(a.returns)


def test_cli_rl_fixed_runs_the_chip_agent(tmp_path):
    out = tmp_path / "r.json"
    args = ["rl", "--agent", "lsm-q", "--numerics", "fixed", "--seed", "3", "--episodes", "1", "--quiet"]
    assert main([*args, "--json", str(out), "--report", str(tmp_path / "rep")]) == 0
    obj = json.loads(out.read_text())
    assert (obj["version"], obj["numerics"], obj["backend"]) == ("v1", "fixed", "golden")
    assert obj["returns"] == run_chip_lsm_q(3, "v1", episodes=1).returns
