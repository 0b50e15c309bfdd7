"""Reinforcement learning in closed loop: CartPole through a liquid and a learning readout.

:func:`run_lsm_q` is Ponghiran et al.'s (2019) agent as run_cartpole.py trains it (the float
reference, :mod:`plasticore.reference.lsm` and :mod:`plasticore.reference.dqn`):

1. build the liquid and the DQN; reset the environment (seeded) and run the liquid on the
   encoded first observation;
2. warm the liquid up with 100 random-action steps (episodes restart as needed), then reset;
3. every step: epsilon-greedy action from the DQN on the current liquid state, environment
   step, liquid on the encoded new observation (100 ticks, membranes carried over), store the
   transition (terminal at every episode end, time limit included, unless
   ``bootstrap_truncated``), one replay batch of Q-learning after the first 100 steps, the
   target network refreshed every 10,000 steps;
4. stop after ``max_steps`` steps or ``episodes`` finished episodes, whichever comes first.

Random streams (one :class:`numpy.random.SeedSequence` per seed): liquid construction, input
spikes, agent (initialisation and exploration), replay sampling, warm-up actions; the
environment gets the seed at its first reset.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from plasticore.golden import Weights
from plasticore.reference.dqn import DQN, LinearSchedule, ReplayBuffer
from plasticore.reference.lsm import Liquid, LiquidSpec, liquid_weights
from plasticore.tasks.cartpole import CARTPOLE_VERSIONS, encode_buckets, make_cartpole

from .common import Progress, no_progress

__all__ = ["LsmQSettings", "RLResult", "episode_statistics", "run_length", "run_lsm_q"]

#: episodes in the moving window of the "solved" rule
WINDOW = 100


@dataclass(frozen=True)
class LsmQSettings:
    """The lsm-q agent's hyperparameters (defaults: run_cartpole.py's).

    Parameters
    ----------
    liquid : LiquidSpec
        The liquid (150 LIF, 40 inputs, 100 ticks per step).
    hidden : int
        Hidden units of the readout.
    lr, gamma : float
        RMSprop step size and discount.
    batch, buffer : int
        Replay batch and capacity.
    target_every : int
        Steps between target-network refreshes.
    start_steps : int
        Training starts after this many steps.
    warmup_steps : int
        Random-action steps that warm the liquid up before training.
    explore_steps : int
        Epsilon goes linearly from 1 to ``final_epsilon`` over these steps (20 % of 100k).
    final_epsilon : float
        Exploration after the ramp.
    bootstrap_truncated : bool
        False (as published): the time limit ends an episode like a failure (target r);
        True: a truncated step bootstraps from the next state.
    """

    liquid: LiquidSpec = field(default_factory=LiquidSpec)
    hidden: int = 32
    lr: float = 2e-4
    gamma: float = 0.95
    batch: int = 32
    buffer: int = 100_000
    target_every: int = 10_000
    start_steps: int = 100
    warmup_steps: int = 100
    explore_steps: int = 20_000
    final_epsilon: float = 1e-3
    bootstrap_truncated: bool = False


@dataclass
class RLResult:
    """One training run.

    Parameters
    ----------
    returns : list of float
        Return of every finished episode, in order.
    steps : int
        Environment steps taken in training (warm-up excluded).
    solved_at : int or None
        First episode (1-based) at which the mean of the last 100 returns reaches the bar.
    best_mean100 : float or None
        Best mean return over 100 consecutive episodes (None if fewer than 100 episodes).
    actions : list of int
        Every action taken, in order (the chip agents record them: RTL and golden must agree).
    weights : Weights or None
        The chip's weights at the end (chip agents only).
    """

    returns: list[float]
    steps: int
    solved_at: int | None
    best_mean100: float | None
    actions: list[int] = field(default_factory=list)
    weights: Weights | None = None


def episode_statistics(returns: list[float], solved_mean: float) -> tuple[int | None, float | None]:
    """``solved_at`` and ``best_mean100`` of a list of episode returns (see :class:`RLResult`)."""
    if len(returns) < WINDOW:
        return None, None
    means = np.convolve(np.asarray(returns, dtype=float), np.ones(WINDOW) / WINDOW, mode="valid")
    reached = np.flatnonzero(means >= solved_mean)
    solved_at = int(reached[0]) + WINDOW if reached.size else None
    return solved_at, float(means.max())


def run_length(max_steps: int | None, episodes: int | None) -> int:
    """Check a run's limits (at least one, each positive); returns its loop's bound on steps."""
    if max_steps is None and episodes is None:
        raise ValueError("max_steps and episodes: at least one must be given")
    for name, n in (("max_steps", max_steps), ("episodes", episodes)):
        if n is not None and n <= 0:
            raise ValueError(f"{name}: {n} is outside the allowed range 1..")
    return sys.maxsize if max_steps is None else max_steps


def run_lsm_q(
    seed: int,
    version: str = "v0",
    max_steps: int | None = 100_000,
    episodes: int | None = None,
    settings: LsmQSettings | None = None,
    progress: Progress = no_progress,
) -> RLResult:
    """Train the float lsm-q agent on CartPole (module docstring); deterministic per seed."""
    s = settings or LsmQSettings()
    step_limit = run_length(max_steps, episodes)
    streams = [np.random.default_rng(q) for q in np.random.SeedSequence(seed).spawn(5)]
    rng_build, rng_spikes, rng_agent, rng_replay, rng_warmup = streams
    env = make_cartpole(version)
    liquid = Liquid(s.liquid, liquid_weights(s.liquid, rng_build), rng_spikes)
    n_actions = int(env.action_space.n)
    dqn = DQN(s.liquid.n_e, s.hidden, n_actions, rng_agent, lr=s.lr, gamma=s.gamma)
    replay = ReplayBuffer(s.buffer, s.liquid.n_e)
    epsilon = LinearSchedule(s.explore_steps, s.final_epsilon)

    def observe(obs: np.ndarray) -> np.ndarray:
        return liquid.step(encode_buckets(obs))

    state = observe(env.reset(seed=seed)[0])
    for _ in range(s.warmup_steps):
        obs, _, terminated, truncated, _ = env.step(int(rng_warmup.integers(n_actions)))
        state = observe(obs)
        if terminated or truncated:
            state = observe(env.reset()[0])
    state = observe(env.reset()[0])

    returns: list[float] = []
    episode_return = 0.0
    steps = 0
    for t in progress(range(step_limit), "lsm-q", max_steps):
        action = dqn.act(state, epsilon.value(t))
        obs, reward, terminated, truncated, _ = env.step(action)
        next_state = observe(obs)
        terminal = terminated or (truncated and not s.bootstrap_truncated)
        replay.add(state, action, float(reward), None if terminal else next_state)
        episode_return += float(reward)
        if t > s.start_steps:
            dqn.train(*replay.sample(s.batch, rng_replay))
            if t % s.target_every == 0:
                dqn.update_target()
        state = next_state
        steps = t + 1
        if terminated or truncated:
            returns.append(episode_return)
            episode_return = 0.0
            state = observe(env.reset()[0])
            if episodes is not None and len(returns) >= episodes:
                break
    env.close()
    solved_at, best = episode_statistics(returns, CARTPOLE_VERSIONS[version].solved_mean)
    return RLResult(returns, steps, solved_at, best)
