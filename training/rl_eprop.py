"""eprop-ac in float: reward-based e-prop (:mod:`plasticore.reference.eprop_ac`) on CartPole.

Each agent step: the observation, encoded as Ponghiran's 40 one-hot buckets
(:func:`plasticore.tasks.cartpole.encode_buckets`), drives Bernoulli input spikes at
``input_rate`` per tick on the hot inputs for ``ticks_per_step`` ticks; the policy readout's
softmax gives the action (sampled: the entropy bonus, not epsilon, keeps exploring); after the
environment step the next observation's ticks give ``V(s')`` and the TD error
``delta = reward_scale r + gamma V(s') - V(s)`` (``reward_scale r - V(s)`` at a failure; the v1
time limit bootstraps), and the agent takes one Adam step on ``delta`` times its
F_gamma-filtered eligibility. An episode starts from a reset network.

Random streams (one :class:`numpy.random.SeedSequence` per seed): weights, input spikes, actions;
the environment gets the seed at its first reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plasticore.reference.eprop_ac import EpropAC, EpropACSpec
from plasticore.tasks.cartpole import CARTPOLE_VERSIONS, encode_buckets, make_cartpole

from .common import Progress, no_progress
from .rl import RLResult, episode_statistics, run_length

__all__ = ["EpropACSettings", "run_eprop_ac"]


@dataclass(frozen=True)
class EpropACSettings:
    """The float eprop-ac run's constants.

    Parameters
    ----------
    spec : EpropACSpec
        The LSNN and its learning rule.
    input_rate : float
        Spike probability per tick of a hot input.
    reward_scale : float
        Reward multiplier (the official flag ``reward_scale``, 1 there): 0.01 keeps CartPole's
        values (up to 100 at gamma 0.99) within reach of Adam's fixed step size (chosen on
        validation seed 0, docs/results.md).
    """

    spec: EpropACSpec = field(default_factory=EpropACSpec)
    input_rate: float = 0.5
    reward_scale: float = 0.01


def run_eprop_ac(
    seed: int,
    version: str = "v1",
    episodes: int | None = 100,
    max_steps: int | None = None,
    settings: EpropACSettings | None = None,
    progress: Progress = no_progress,
) -> RLResult:
    """Train eprop-ac in float on CartPole (module docstring); deterministic per seed."""
    s = settings or EpropACSettings()
    spec = s.spec
    step_limit = run_length(max_steps, episodes)
    rng_build, rng_spikes, rng_agent = (np.random.default_rng(q) for q in np.random.SeedSequence(seed).spawn(3))
    env = make_cartpole(version)
    if int(env.action_space.n) != spec.n_actions:
        raise ValueError(f"spec.n_actions: {spec.n_actions}, CartPole has {env.action_space.n} actions")
    agent = EpropAC(spec, rng_build)

    def observe(obs: np.ndarray) -> tuple[np.ndarray, float]:
        rates = encode_buckets(obs) * s.input_rate
        return agent.observe((rng_spikes.random((spec.ticks_per_step, rates.size)) < rates).astype(float))

    pi, value = observe(env.reset(seed=seed)[0])
    returns: list[float] = []
    actions: list[int] = []
    episode_return = 0.0
    steps = 0
    for t in progress(range(step_limit), "eprop-ac", max_steps):
        action = int(rng_agent.choice(spec.n_actions, p=pi))
        actions.append(action)
        agent.choose(action, pi)
        obs, reward, terminated, truncated, _ = env.step(action)
        episode_return += float(reward)
        delta = s.reward_scale * float(reward) - value
        if not terminated:
            pi, next_value = observe(obs)
            delta += spec.gamma * next_value
            value = next_value
        agent.learn(delta)
        steps = t + 1
        if terminated or truncated:
            returns.append(episode_return)
            episode_return = 0.0
            if episodes is not None and len(returns) >= episodes:
                break
            agent.reset()
            pi, value = observe(env.reset()[0])
    env.close()
    solved_at, best = episode_statistics(returns, CARTPOLE_VERSIONS[version].solved_mean)
    return RLResult(returns, steps, solved_at, best, actions)
