"""eprop-ac in the chip's hardware form: reward-based e-prop with the chip's e-prop lanes.

The float agent (:mod:`plasticore.training.rl_eprop`) filters every synapse's eligibility once
more (F_gamma) and steps Adam on ``delta`` times it. The chip learns from an output error the
host sets on a tick (docs/numerics.md, "Learning"): ``e_k = Y_k - y*_k``, the learning signal
``L_j = sum_k B_jk e_k`` (B = Wout^T with ``eprop_symmetric``), and
``dW_ji = -sround(L_j h_j e_bar_i)``, ``dWout_kj = -sround(e_k z_bar_j)``. The host makes that
error the actor-critic's, scaled by the TD error (docs/rl.md, "eprop-ac on the chip"):

* outputs ``0 .. A-1`` are the policy logits (``logit_lsb`` readout LSBs per unit), output
  ``A`` the value (``reward_lsb`` LSBs per unit of reward);
* after a transition (s, a, r, s') the host presents s' (no learning), reads ``pi(s')`` and
  ``V(s')``, computes ``delta = r + gamma V(s') - V(s)`` (``r - V(s)`` at a failure), then
  presents s again and on its last ``learn_ticks`` ticks sets the targets ``y*_k = Y_k(t-1) - reward_lsb delta
  (pi_k(s) - 1[a = k])`` and ``y*_A = Y_A(t-1) + reward_lsb c_V delta``: the chip's error is
  the derivative of the policy-gradient and value losses times delta (plus the change of Y
  since the tick before, which the host cannot know in advance), so its update is e-prop's
  with ``delta`` folded in at once. The hidden weights learn from the second learning tick on:
  the chip's dendrite integrates the error of the tick before (docs/numerics.md, step 3).

What the chip drops: the per-synapse F_gamma filter (each step's eligibility meets only its own
delta: TD(0) advantages instead of the float agent's Monte-Carlo ones), the ALIF part of the
eligibility (``e_bar`` is the presynaptic trace alone), the readout filter of the
eligibility, the entropy bonus, Adam (a fixed step ``2**-lr_shift``, stochastically rounded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticore.golden import Config, Weights
from plasticore.golden.network import init_weights
from plasticore.tasks.cartpole import CARTPOLE_VERSIONS, encode_buckets, make_cartpole

from .common import Progress, no_progress
from .rl import RLResult, episode_statistics, run_length
from .rl_chip import ChipFactory, GoldenChip, LearningRateAnneal, TargetRule

__all__ = ["ChipEpropACSettings", "chip_eprop_config", "ac_targets", "run_chip_eprop_ac"]


#: how the host computes the advantage that scales the chip's errors (ChipEpropACSettings)
ADVANTAGES = ("td", "monte-carlo")


@dataclass(frozen=True)
class ChipEpropACSettings:
    """The hardware form's constants.

    Parameters
    ----------
    n_rec, n_alif : int
        Neurons and how many of them (the last) are ALIF.
    tau_m, tau_a, tau_out : float
        Membrane, adaptation and readout time constants (ticks).
    refractory : int
        Refractory ticks.
    window_ticks, replay_ticks : int
        Ticks per presentation of a new state and per re-presentation of the last one.
    learn_ticks : int
        The last ticks of a re-presentation that learn (at least 2: the dendrite, and so the
        hidden weights' learning signal, sees an error one tick after the readout makes it).
    input_rate : float
        Spike probability per tick of a hot input (of the 40 one-hot buckets).
    rule : str
        ``eprop_symmetric`` (B = Wout^T, as the official code's autodiff) or ``eprop_random``.
    lr_shift, out_lr_shift, fb_shift : int
        Learning-rate shifts (Win/Wrec, Wout) and the feedback sum's shift.
    reward_lsb, logit_lsb : int
        Readout LSBs per unit of value and per unit of policy logit (8192: the policy moves 32x
        slower in logits than the value in reward units, which kept validation seed 0 from
        settling on one action; docs/results.md).
    value_cost, gamma : float
        Value-loss weight ``c_V`` and discount.
    entropy_cost : float
        Entropy bonus ``c_H`` per unit of reward, folded into the logits' targets by the host
        (the float agent's 0.0025 at its ``reward_scale`` 0.01 is 0.25 here; 0: none).
    delta_clip : float or None
        Bound on the TD error's magnitude before it scales the targets (None: unbounded).
    y_bits : int
        Width of the readout Y and of its error (16: V up to 128 units of reward).
    learn_hidden : bool
        Whether Win and Wrec learn (the chip's ``learn_input`` and ``learn_recurrent``
        registers); False: only the readouts learn, on a fixed random LSNN.
    delta_rms_steps : float or None
        Divide the advantage by its running RMS over about this many steps (None: not).
    advantage : str
        ``"td"``: learn after every step from the TD error (s' presented for V(s'), s
        re-presented); ``"monte-carlo"``: replay the episode's states at its end, each with
        ``G - V(s)`` (F_gamma's gradient without its per-synapse state; docs/rl.md).
    anneal_steps : int or None
        Every ``anneal_steps`` learning steps both learning-rate shifts grow by one, written to
        the chip's run-time registers (:class:`~plasticore.training.rl_chip.LearningRateAnneal`;
        None: a fixed step).
    in_scale, rec_scale, out_scale : float
        Initial weight scales (:func:`plasticore.golden.network.init_weights`).
    """

    n_rec: int = 100
    n_alif: int = 40
    tau_m: float = 15.0
    tau_a: float = 70.0
    tau_out: float = 5.0
    refractory: int = 5
    window_ticks: int = 10
    replay_ticks: int = 10
    learn_ticks: int = 2
    input_rate: float = 0.5
    rule: str = "eprop_symmetric"
    lr_shift: int = 14
    out_lr_shift: int = 14
    fb_shift: int = 10
    reward_lsb: int = 256
    logit_lsb: int = 8192
    value_cost: float = 1.0
    gamma: float = 0.99
    entropy_cost: float = 0.0
    delta_clip: float | None = None
    y_bits: int = 16
    learn_hidden: bool = True
    delta_rms_steps: float | None = None
    advantage: str = "td"
    anneal_steps: int | None = None
    in_scale: float = 0.5
    rec_scale: float = 0.25
    out_scale: float = 0.01

    def __post_init__(self) -> None:
        if self.advantage not in ADVANTAGES:
            raise ValueError(f"advantage: {self.advantage!r} is not one of {', '.join(ADVANTAGES)}")
        if self.anneal_steps is not None and self.anneal_steps < 1:
            raise ValueError(f"anneal_steps: {self.anneal_steps} is not a positive number of learning steps")


def chip_eprop_config(s: ChipEpropACSettings, n_actions: int = 2, seed: int = 1) -> Config:
    """The chip's Config: 40 inputs, the LSNN, ``n_actions`` policy outputs and one value."""
    return Config(
        name="eprop-ac",
        n_in=40,
        n_rec=s.n_rec,
        n_alif=s.n_alif,
        n_out=n_actions + 1,
        wout_bits=16,
        out_shift=0,  # Y = sum Wout z_bar: 16-bit readout weights into Y
        y_bits=s.y_bits,
        e_bits=s.y_bits,
        tau_m=s.tau_m,
        tau_a=s.tau_a,
        tau_out=s.tau_out,
        refractory=s.refractory,
        rule=s.rule,
        lr_shift=s.lr_shift,
        out_lr_shift=s.out_lr_shift,
        fb_shift=s.fb_shift,
        learn_input=s.learn_hidden,
        learn_recurrent=s.learn_hidden,
        seed=seed,
    )


def ac_targets(pi: np.ndarray, action: int, delta: float, s: ChipEpropACSettings, y_bits: int) -> TargetRule:
    """The actor-critic's targets for a learning tick (module docstring), clipped to Y's range."""
    err = delta * (pi - (np.arange(pi.size) == action))
    if s.entropy_cost:
        log_pi = np.log(np.maximum(pi, 1e-30))
        err = err + s.entropy_cost * pi * (log_pi - float(pi @ log_pi))  # d(-c_H H) / dy
    err = s.reward_lsb * err
    lo, hi = -(1 << (y_bits - 1)), (1 << (y_bits - 1)) - 1

    def targets(y_prev: np.ndarray) -> np.ndarray:
        out = y_prev.astype(float)
        out[: pi.size] -= err
        out[pi.size] += s.reward_lsb * s.value_cost * delta
        return np.clip(np.rint(out), lo, hi).astype(np.int64)

    return targets


def run_chip_eprop_ac(
    seed: int,
    version: str = "v1",
    episodes: int | None = 100,
    max_steps: int | None = None,
    settings: ChipEpropACSettings | None = None,
    progress: Progress = no_progress,
    chip_factory: ChipFactory = GoldenChip,
) -> RLResult:
    """Train eprop-ac in its hardware form on CartPole; deterministic per seed."""
    s = settings or ChipEpropACSettings()
    if not 1 <= s.learn_ticks <= s.replay_ticks:
        raise ValueError(f"learn_ticks: {s.learn_ticks} is outside the allowed range 1..replay_ticks={s.replay_ticks}")
    step_limit = run_length(max_steps, episodes)
    env = make_cartpole(version)
    n_actions = int(env.action_space.n)
    cfg = chip_eprop_config(s, n_actions, seed)
    weights: Weights = init_weights(cfg, seed, s.in_scale, s.rec_scale, s.out_scale)
    chip = chip_factory(cfg, weights)
    anneal = LearningRateAnneal(chip, cfg, s.anneal_steps)
    rng_spikes, rng_agent = (np.random.default_rng(q) for q in np.random.SeedSequence(seed).spawn(2))

    def present(obs: np.ndarray, ticks: int, targets: TargetRule | None = None) -> tuple[np.ndarray, float]:
        rates = encode_buckets(obs) * s.input_rate
        y = chip.present((rng_spikes.random((ticks, rates.size)) < rates).astype(np.int64), targets, s.learn_ticks)
        logits = y[:n_actions] / s.logit_lsb
        p = np.exp(logits - logits.max())
        return p / p.sum(), float(y[n_actions]) / s.reward_lsb

    returns: list[float] = []
    actions: list[int] = []
    delta_ms = 1.0  # running mean square of the advantage (delta_rms_steps)

    def choose(pi: np.ndarray) -> int:
        action = int(rng_agent.choice(n_actions, p=pi))
        actions.append(action)
        return action

    def learn(obs: np.ndarray, pi: np.ndarray, action: int, advantage: float) -> None:
        """Re-present ``obs`` with the actor-critic's targets for ``advantage``."""
        nonlocal delta_ms
        if s.delta_rms_steps is not None:
            # Adam's normalization for the whole step at once: the advantage in units of its RMS
            delta_ms += (advantage * advantage - delta_ms) / s.delta_rms_steps
            advantage /= float(np.sqrt(delta_ms))
        if s.delta_clip is not None:
            advantage = float(np.clip(advantage, -s.delta_clip, s.delta_clip))
        anneal.step()
        present(obs, s.replay_ticks, ac_targets(pi, action, advantage, s, cfg.y_bits))

    loop = _monte_carlo_loop if s.advantage == "monte-carlo" else _td_loop
    ticks = progress(range(step_limit), "eprop-ac chip", max_steps)
    steps = loop(s, env.reset(seed=seed)[0], env, ticks, present, choose, learn, episodes, returns)
    env.close()
    solved_at, best = episode_statistics(returns, CARTPOLE_VERSIONS[version].solved_mean)
    return RLResult(returns, steps, solved_at, best, actions, chip.read_weights())


def _td_loop(s, obs, env, ticks, present, choose, learn, episodes, returns) -> int:
    """One-step actor-critic: after each step, s' is presented for V(s') and s re-presented to
    learn from the TD error. Returns the steps taken."""
    pi, value = present(obs, s.window_ticks)
    episode_return = 0.0
    steps = 0
    for t in ticks:
        action = choose(pi)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        episode_return += float(reward)
        delta = float(reward) - value
        if not terminated:
            next_pi, next_value = present(next_obs, s.window_ticks)
            delta += s.gamma * next_value
        learn(obs, pi, action, delta)
        steps = t + 1
        if terminated or truncated:
            returns.append(episode_return)
            episode_return = 0.0
            if episodes is not None and len(returns) >= episodes:
                break
            obs = env.reset()[0]
            pi, value = present(obs, s.window_ticks)
        else:
            obs, pi, value = next_obs, next_pi, next_value
    return steps


def _monte_carlo_loop(s, obs, env, ticks, present, choose, learn, episodes, returns) -> int:
    """Monte-Carlo actor-critic: the episode runs without learning; at its end the host replays
    its states in order, each with the advantage ``G - V(s)`` of its discounted return. Returns
    the steps taken."""
    episode: list[tuple[np.ndarray, int, np.ndarray, float, float]] = []
    steps = 0
    for t in ticks:
        pi, value = present(obs, s.window_ticks)
        action = choose(pi)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        episode.append((obs, action, pi, value, float(reward)))
        steps = t + 1
        if not (terminated or truncated):
            obs = next_obs
            continue
        g = 0.0 if terminated else present(next_obs, s.window_ticks)[1]  # the time limit bootstraps
        advantages = []
        for _, _, _, value, reward in reversed(episode):
            g = reward + s.gamma * g
            advantages.append(g - value)
        for (o, a, p, _, _), advantage in zip(episode, reversed(advantages), strict=True):
            learn(o, p, a, advantage)
        returns.append(sum(step[4] for step in episode))
        episode = []
        if episodes is not None and len(returns) >= episodes:
            break
        obs = env.reset()[0]
    return steps
