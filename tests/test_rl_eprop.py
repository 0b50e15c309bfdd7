"""eprop-ac: the float agent's eligibility traces against a hand-computed run, its extra filter
F_gamma, the chip form's targets, short deterministic runs and ``plasticore rl --agent eprop-ac``."""

import dataclasses
import json

import numpy as np
import pytest

from plasticore.cli import main
from plasticore.golden.network import init_weights
from plasticore.reference.eprop_ac import EpropAC, EpropACSpec
from plasticore.training.rl_chip import GoldenChip, LearningRateAnneal
from plasticore.training.rl_chip_eprop import ChipEpropACSettings, ac_targets, chip_eprop_config, run_chip_eprop_ac
from plasticore.training.rl_eprop import run_eprop_ac


def _one_neuron(fraction_adaptive, alif_eligibility=True):
    spec = EpropACSpec(n_in=1, n_rec=1, fraction_adaptive=fraction_adaptive, alif_eligibility=alif_eligibility)
    agent = EpropAC(spec, np.random.default_rng(0))
    agent.params["w_in"][:] = 0.6
    return agent


@pytest.mark.parametrize("adaptive, alif_eligibility", [(False, True), (True, True), (True, False)])
def test_eligibility_of_one_neuron_by_hand(adaptive, alif_eligibility):
    """x = 1, 1, 0 into one neuron (w_in 0.6): below threshold, a spike, then refractory; the
    chip's form (``alif_eligibility=False``) drops the adaptation part of the eligibility."""
    agent = _one_neuron(1.0 if adaptive else 0.0, alif_eligibility)
    alpha, kappa, beta = np.exp(-1 / 15), np.exp(-1 / 2), 0.1 if adaptive and alif_eligibility else 0.0
    agent.tick(np.array([1.0]))
    psi1 = 0.3 * (1 - abs(0.6 - 1.0))  # v = 0.6, threshold 1
    assert agent.z[0] == 0 and agent.e_bar[0, 0] == pytest.approx(psi1)
    agent.tick(np.array([1.0]))
    v2 = 0.6 * alpha + 0.6
    psi2 = 0.3 * (1 - abs(v2 - 1.0))
    assert agent.z[0] == 1 and agent.v[0] == pytest.approx(v2)
    e2 = psi2 * ((1 + alpha) - beta * psi1)  # eps_a(2) = psi(1) eps_v(1) = psi1 (ALIF only)
    assert agent.e_bar[0, 0] == pytest.approx(kappa * psi1 + e2)
    agent.tick(np.array([0.0]))
    assert agent.z[0] == 0 and agent.psi[0] == 0  # refractory: no spike, no pseudo-derivative
    assert agent.e_bar[0, 0] == pytest.approx(kappa * (kappa * psi1 + e2))
    assert agent.z_bar[0] == pytest.approx(kappa)


def test_readout_terms_are_the_policy_and_value_derivatives_and_f_gamma_filters_them():
    spec = EpropACSpec(n_in=4, n_rec=6)
    agent = EpropAC(spec, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    pi, _ = agent.observe((rng.random((20, 4)) < 0.8).astype(float))
    assert agent.z_bar.any()
    agent.choose(1, pi)
    first = {k: v.copy() for k, v in agent.filtered.items()}
    # -log pi_1 of logits z_bar @ w_pi + b_pi: derivative (pi - onehot) z_bar; value: -c_V z_bar
    np.testing.assert_allclose(first["w_pi"], np.outer(agent.z_bar, pi - np.array([0.0, 1.0])))
    np.testing.assert_allclose(first["w_v"][:, 0], -spec.value_cost * agent.z_bar)
    # the learning signal through B = W_pi (symmetric feedback) reaches Win's terms
    signal = agent.params["w_pi"] @ (pi - [0.0, 1.0]) - spec.value_cost * agent.params["w_v"][:, 0]
    np.testing.assert_allclose(first["w_in"], agent.e_bar[:4] * signal[None, :])
    agent.learn(0.5)
    pi2, _ = agent.observe((rng.random((5, 4)) < 0.8).astype(float))
    before = {k: v.copy() for k, v in agent.filtered.items()}
    agent.choose(0, pi2)
    np.testing.assert_allclose(
        agent.filtered["w_pi"], spec.gamma * before["w_pi"] + np.outer(agent.z_bar, pi2 - [1.0, 0.0])
    )


def test_without_f_gamma_each_step_keeps_only_its_own_terms():
    agent = EpropAC(EpropACSpec(n_in=4, n_rec=6, eligibility_filter=0.0), np.random.default_rng(1))
    rng = np.random.default_rng(2)
    for action in (1, 0):
        pi, _ = agent.observe((rng.random((10, 4)) < 0.8).astype(float))
        agent.choose(action, pi)
        agent.learn(0.5)
    np.testing.assert_allclose(agent.filtered["w_pi"], np.outer(agent.z_bar, pi - [1.0, 0.0]))


def test_float_eprop_ac_runs_are_deterministic_and_learn():
    a = run_eprop_ac(3, "v1", episodes=4)
    b = run_eprop_ac(3, "v1", episodes=4)
    assert a.returns == b.returns and a.actions == b.actions and len(a.actions) == a.steps == sum(a.returns)
    assert run_eprop_ac(4, "v1", episodes=4).actions != a.actions


def test_chip_targets_carry_the_td_error_with_the_actor_critic_signs():
    s = ChipEpropACSettings()
    pi = np.array([0.25, 0.75])
    y_prev = np.array([100, -50, 400])
    targets = ac_targets(pi, 1, 0.5, s, 16)(y_prev)
    errors = y_prev - targets  # what the chip computes, up to one tick's change of Y
    # policy: delta (pi - onehot) (a positive delta lowers the loss of the taken action 1)
    assert errors.tolist() == [round(256 * 0.5 * 0.25), round(256 * 0.5 * -0.25), round(-256 * 0.5)]
    assert ac_targets(pi, 0, 1e6, s, 16)(y_prev).max() == 32767  # clipped to Y's range


def test_chip_entropy_term_pushes_the_logits_toward_uniform_without_delta():
    s = ChipEpropACSettings(entropy_cost=0.5)
    pi = np.array([0.2, 0.8])
    y_prev = np.array([0, 0, 0])
    errors = y_prev - ac_targets(pi, 0, 0.0, s, 16)(y_prev)
    # d(-c_H H)/dy_k = c_H pi_k (log pi_k + H): the likelier action's logit is pushed down
    h = -(pi @ np.log(pi))
    assert errors.tolist() == [round(256 * 0.5 * p * (np.log(p) + h)) for p in pi] + [0]
    assert errors[1] > 0 > errors[0]


def test_chip_delta_clip_bounds_the_td_error():
    small = ChipEpropACSettings(n_rec=16, n_alif=4, window_ticks=4, replay_ticks=4, learn_ticks=2)
    clipped = dataclasses.replace(small, delta_clip=0.0)  # no policy or value error at all
    run = run_chip_eprop_ac(2, "v1", episodes=2, settings=clipped)
    start = init_weights(chip_eprop_config(clipped, 2, 2), 2, small.in_scale, small.rec_scale, small.out_scale)
    # only the readout's one-tick change of Y is left in the error: Wout moves far less
    free = run_chip_eprop_ac(2, "v1", episodes=2, settings=small)
    moved = np.abs(run.weights.w_out - start.w_out).sum()
    assert moved < np.abs(free.weights.w_out - start.w_out).sum()
    wide = run_chip_eprop_ac(2, "v1", episodes=2, settings=dataclasses.replace(small, delta_clip=1e9))
    assert wide.actions == free.actions and np.array_equal(wide.weights.w_out, free.weights.w_out)


def test_chip_learning_tick_moves_the_value_toward_the_td_target():
    s = ChipEpropACSettings(out_lr_shift=10)
    cfg = chip_eprop_config(s, 2, seed=0)
    from plasticore.golden.network import init_weights

    chip = GoldenChip(cfg, init_weights(cfg, 0, s.in_scale, s.rec_scale, s.out_scale))
    x = (np.random.default_rng(0).random((40, 40)) < 0.3).astype(np.int64)
    chip.present(x[:28])
    w_out, w_in = chip.weights.w_out.copy(), chip.weights.w_in.copy()
    z_bar_before = chip.learning.traces.z_bar[0].copy()
    chip.present(x[28:], ac_targets(np.array([0.5, 0.5]), 0, 5.0, s, cfg.y_bits), learn_ticks=2)
    silent = (z_bar_before == 0) & (chip.learning.traces.z_bar[0] == 0)
    assert z_bar_before.any() and silent.any()
    dv = chip.weights.w_out[2] - w_out[2]
    assert dv.sum() > 0 and not dv[silent].any()  # V rises, through the neurons that were active
    assert not np.array_equal(chip.weights.w_in, w_in)  # and e-prop moved the hidden weights


def test_chip_eprop_ac_run_is_deterministic():
    small = ChipEpropACSettings(n_rec=16, n_alif=4, window_ticks=4, replay_ticks=4)
    a = run_chip_eprop_ac(2, "v1", episodes=2, settings=small)
    b = run_chip_eprop_ac(2, "v1", episodes=2, settings=small)
    assert a.returns == b.returns and a.actions == b.actions and len(a.actions) == sum(a.returns)
    for name in ("w_in", "w_rec", "w_out"):
        assert np.array_equal(getattr(a.weights, name), getattr(b.weights, name))


@pytest.mark.parametrize("num", ["float", "fixed"])
def test_cli_rl_eprop_ac(tmp_path, num):
    out = tmp_path / "r.json"
    args = ["rl", "--agent", "eprop-ac", "--numerics", num, "--seed", "3", "--episodes", "1", "--quiet"]
    assert main([*args, "--json", str(out), "--report", str(tmp_path / "rep")]) == 0
    obj = json.loads(out.read_text())
    assert (obj["agent"], obj["numerics"], obj["backend"], obj["episodes"]) == ("eprop-ac", num, "golden", 1)
    run = run_eprop_ac if num == "float" else run_chip_eprop_ac
    assert obj["returns"] == run(3, "v1", episodes=1).returns


def test_cli_rl_settings_change_the_agent_and_refuse_unknown_fields(tmp_path, capsys):
    out = tmp_path / "r.json"
    change = {"n_rec": 16, "n_alif": 4, "window_ticks": 4, "replay_ticks": 4, "learn_hidden": False}
    args = ["rl", "--agent", "eprop-ac", "--numerics", "fixed", "--seed", "3", "--episodes", "2", "--quiet"]
    rep = ["--report", str(tmp_path / "rep")]
    assert main([*args, "--settings", json.dumps(change), "--json", str(out), *rep]) == 0
    obj = json.loads(out.read_text())
    settings = dataclasses.replace(ChipEpropACSettings(), **change)
    assert obj["settings"] == change
    assert obj["returns"] == run_chip_eprop_ac(3, "v1", episodes=2, settings=settings).returns
    capsys.readouterr()
    assert main([*args, "--settings", '{"lr_shfit": 30}', *rep]) == 2
    assert "lr_shfit" in capsys.readouterr().err
    assert main([*args, "--settings", "[1]", *rep]) == 2
    assert "not a JSON object" in capsys.readouterr().err


def test_chip_readout_only_keeps_the_hidden_weights():
    small = ChipEpropACSettings(n_rec=16, n_alif=4, window_ticks=4, replay_ticks=4, learn_hidden=False)
    run = run_chip_eprop_ac(2, "v1", episodes=2, settings=small)
    start = init_weights(chip_eprop_config(small, 2, 2), 2, small.in_scale, small.rec_scale, small.out_scale)
    assert np.array_equal(run.weights.w_in, start.w_in) and np.array_equal(run.weights.w_rec, start.w_rec)
    assert not np.array_equal(run.weights.w_out, start.w_out)


def test_chip_monte_carlo_replays_each_step_once_with_its_return():
    small = ChipEpropACSettings(n_rec=16, n_alif=4, window_ticks=4, replay_ticks=4, advantage="monte-carlo")
    presented = []

    class Counting(GoldenChip):
        def present(self, spikes, targets=None, learn_ticks=1):
            presented.append(targets is not None)
            return super().present(spikes, targets, learn_ticks)

    run = run_chip_eprop_ac(2, "v1", episodes=2, settings=small, chip_factory=Counting)
    # per episode: one reading per step, then the replay of every step (the pole fell: no bootstrap)
    assert sum(presented) == run.steps and len(presented) == 2 * run.steps
    first = int(run.returns[0])
    assert presented[:first] == [False] * first and presented[first : 2 * first] == [True] * first
    td = run_chip_eprop_ac(2, "v1", episodes=2, settings=dataclasses.replace(small, advantage="td"))
    assert not np.array_equal(run.weights.w_out, td.weights.w_out)
    with pytest.raises(ValueError, match="advantage"):
        ChipEpropACSettings(advantage="mc")


def test_chip_delta_rms_of_one_step_leaves_the_sign_of_the_td_error():
    small = ChipEpropACSettings(n_rec=16, n_alif=4, window_ticks=4, replay_ticks=4, delta_rms_steps=1)
    value_errors = []

    class Recording(GoldenChip):
        def present(self, spikes, targets=None, learn_ticks=1):
            if targets is not None:
                y = np.array([0, 0, 0])
                value_errors.append(int(targets(y)[2] - y[2]))
            return super().present(spikes, targets, learn_ticks)

    run = run_chip_eprop_ac(2, "v1", episodes=2, settings=small, chip_factory=Recording)
    # the running mean square over one step is delta**2: every advantage is +-1, +-reward_lsb LSBs
    assert len(value_errors) == run.steps and set(value_errors) <= {-256, 256} and len(set(value_errors)) == 2


def test_chip_anneal_halves_both_learning_rates_every_n_learning_steps():
    small = ChipEpropACSettings(n_rec=16, n_alif=4, window_ticks=4, replay_ticks=4, anneal_steps=3)
    seen = []  # (learning presentation?, lr_shift, out_lr_shift) as each presentation runs

    class Recording(GoldenChip):
        def present(self, spikes, targets=None, learn_ticks=1):
            seen.append((targets is not None, self.cfg.lr_shift, self.cfg.out_lr_shift))
            return super().present(spikes, targets, learn_ticks)

    run = run_chip_eprop_ac(2, "v1", episodes=2, settings=small, chip_factory=Recording)
    learning = [(lr, out) for learns, lr, out in seen if learns]
    assert len(learning) == run.steps > 6
    # the n-th learning step (from 1) runs with the shifts grown by n // 3
    assert learning == [(small.lr_shift + n // 3, small.out_lr_shift + n // 3) for n in range(1, run.steps + 1)]
    fixed = run_chip_eprop_ac(2, "v1", episodes=2, settings=dataclasses.replace(small, anneal_steps=None))
    assert not np.array_equal(run.weights.w_out, fixed.weights.w_out)
    with pytest.raises(ValueError, match="anneal_steps"):
        ChipEpropACSettings(anneal_steps=0)


def test_learning_rate_anneal_stops_at_the_registers_limit():
    cfg = chip_eprop_config(ChipEpropACSettings(lr_shift=31, out_lr_shift=30), 2, 1)
    written = []

    class Chip:
        def write_learning_registers(self, regs):
            written.append((regs.lr_shift, regs.out_lr_shift))

    anneal = LearningRateAnneal(Chip(), cfg, every=1)
    for _ in range(5):
        anneal.step()
    assert written == [(32, 31), (32, 32)]  # then nothing left to change: no more writes
    untouched = LearningRateAnneal(Chip(), cfg, every=None)
    untouched.step()
    assert len(written) == 2 and untouched.registers.lr_shift == 31
