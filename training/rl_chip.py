"""lsm-q in the chip's hardware form: the liquid as the chip's network, the readout learned on chip.

The float agent (:mod:`plasticore.training.rl`) reads a liquid and trains a DQN on the host.
Here everything but the environment and the TD target runs on the golden model
(:func:`plasticore.golden.learning.learning_tick`, fixed point, bit for bit what the RTL
computes); docs/rl.md explains the mapping and what it approximates. In short:

* **Network.** The liquid of :func:`plasticore.reference.lsm.liquid_weights` (same rules,
  same random stream) becomes Win and Wrec, quantized at ``weight_scale`` LSBs per unit; the
  chip's neurons are LIF with reset to zero, no refractory period, threshold 0.5 in the same
  unit. Wrec is applied one tick late for every pair (the chip has one recurrent delay), so
  E->E and I->I arrive one tick earlier than in the official code. B = 0: the dendrites stay
  at 0, so Win and Wrec never change (a fixed reservoir), whatever the rule.
* **Q values.** Wout (``n_out`` = actions x ``n_rec``) starts at 0; Q(s, a) is the readout
  ``Y_a`` on the last tick of the window in which s was presented (``window_ticks`` ticks of
  Bernoulli input spikes drawn by the host from the encoded observation). With
  ``tau_out == tau_trace``, ``Y_a = 2**out_shift / trace_inc * sum_j Wout[a, j] z̄_j`` up to
  rounding: a linear Q function of the chip's spike traces.
* **Learning.** After a transition (s, a, r, s'), the host presents s' (no target) and reads
  Q(s'), computes the TD target ``y* = r_lsb * r + gamma * max Q(s')`` (``r_lsb * r`` at a
  failure), then presents s again for ``replay_ticks`` ticks (fresh input spikes) and, on the
  last of them, sets the target: ``y*`` on output a and ``Y_b`` of the previous tick on every
  other output b. The chip computes ``e_a = Y_a - y*`` (minus the TD error of the taken
  action) and updates ``Wout[a, j] -= sround(e_a z̄_j, out_lr_shift)``: the semi-gradient
  Q-learning step of a linear Q function of z̄. ``e_b = Y_b(t) - Y_b(t-1)`` (one tick's
  change, zero on average) moves the other rows a little: the one approximation the chip's
  all-outputs error adds.

No replay buffer, no target network, no hidden layer, no Huber loss, no RMSprop: one
stochastically rounded step per environment step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from plasticore.golden import Config, Weights, init_state, numerics
from plasticore.golden.learning import init_learning, learning_tick
from plasticore.golden.registers import LearningRegisters, register_ranges
from plasticore.reference.dqn import LinearSchedule
from plasticore.reference.lsm import LiquidSpec, liquid_weights
from plasticore.tasks.cartpole import CARTPOLE_VERSIONS, encode_buckets, make_cartpole

from .common import Progress, no_progress
from .rl import RLResult, episode_statistics, run_length

__all__ = [
    "ChipLsmQSettings",
    "chip_liquid_config",
    "chip_liquid_weights",
    "TargetRule",
    "q_target",
    "ChipBackend",
    "ChipFactory",
    "GoldenChip",
    "LearningRateAnneal",
    "ChipLsmQ",
    "run_chip_lsm_q",
]


@dataclass(frozen=True)
class ChipLsmQSettings:
    """The hardware form's constants (docs/rl.md says why each is what it is).

    Parameters
    ----------
    liquid : LiquidSpec
        The liquid (sizes, k, w, threshold, input rate); its ``ticks`` is not used here.
    window_ticks, replay_ticks : int
        Ticks per presentation of a new state and per re-presentation of the last one.
    weight_scale : float
        Weight LSBs per unit of the float liquid's weights (threshold 0.5 = 0.5 * weight_scale
        weight LSBs).
    w_bits, w_shift, decay_bits, tau_m : int, int, int, float
        Liquid weight width and gain, decay precision, membrane time constant in ticks (19.5:
        the official ``1 - dt / tau`` = 0.95 per tick is ``exp(-1 / 19.5)``).
    tau_out : float
        Readout and trace time constant in ticks (equal, so that Y is linear in z̄).
    trace_inc, trace_bits : int
        Trace increment per spike and trace width.
    wout_bits, out_lr_shift : int
        Readout weight width and learning-rate shift (17: stable on validation seed 0, where 13
        diverged; docs/rl.md, "Step size").
    reward_lsb : int
        Readout LSBs per unit of reward (the Q scale).
    gamma : float
        Discount.
    explore_steps, final_epsilon : int, float
        Epsilon-greedy schedule over environment steps (1 -> final; 3,000 steps, not the float
        agent's 20,000, because the golden model's runs are short).
    bootstrap_truncated : bool
        Whether a time-limit step bootstraps (True: only a failure is terminal).
    lfsr_seed : int
        The chip's stochastic-rounding seed.
    """

    liquid: LiquidSpec = field(default_factory=LiquidSpec)
    window_ticks: int = 20
    replay_ticks: int = 20
    weight_scale: float = 800.0
    w_bits: int = 10
    w_shift: int = 4
    decay_bits: int = 12
    tau_m: float = 19.5
    tau_out: float = 20.0
    trace_inc: int = 32
    trace_bits: int = 8
    wout_bits: int = 16
    out_lr_shift: int = 17
    reward_lsb: int = 64
    gamma: float = 0.95
    explore_steps: int = 3_000
    final_epsilon: float = 1e-3
    bootstrap_truncated: bool = True
    lfsr_seed: int = 0xACE1_2468


def chip_liquid_config(s: ChipLsmQSettings, n_actions: int = 2, seed: int = 1) -> Config:
    """The chip's Config for the liquid with an ``n_actions``-output readout."""
    spec = s.liquid
    return Config(
        name="lsm-q",
        n_in=spec.n_inputs,
        n_rec=spec.n_neurons,
        n_out=n_actions,
        w_bits=s.w_bits,
        wout_bits=s.wout_bits,
        w_shift=s.w_shift,
        out_shift=0,
        threshold=int(round(spec.threshold * s.weight_scale)) << s.w_shift,
        refractory=0,
        reset="zero",
        tau_m=s.tau_m,
        tau_out=s.tau_out,
        tau_trace=s.tau_out,
        decay_bits=s.decay_bits,
        trace_inc=s.trace_inc,
        trace_bits=s.trace_bits,
        rule="erbp",  # B = 0 makes every rule's Win/Wrec update zero; eRBP visits the fewest rows
        out_lr_shift=s.out_lr_shift,
        learn_readout=True,
        seed=seed,
        lfsr_seed=s.lfsr_seed,
    )


def chip_liquid_weights(cfg: Config, liquid: dict[str, np.ndarray], weight_scale: float) -> Weights:
    """The float liquid (:func:`~plasticore.reference.lsm.liquid_weights`) as the chip's integer
    weights (rows post, columns pre; E neurons first); Wout and B zero."""
    n_e = liquid["ee"].shape[0]
    pre_post = np.zeros((cfg.n_rec, cfg.n_rec))
    pre_post[:n_e, :n_e], pre_post[:n_e, n_e:] = liquid["ee"], liquid["ei"]
    pre_post[n_e:, :n_e], pre_post[n_e:, n_e:] = liquid["ie"], liquid["ii"]
    w_in = np.concatenate([liquid["pe"], liquid["pi"]], axis=1).T
    lo, hi = -(1 << (cfg.w_bits - 1)), (1 << (cfg.w_bits - 1)) - 1

    def quantize(w: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(w * weight_scale), lo, hi).astype(np.int64)

    weights = Weights(
        quantize(w_in),
        quantize(pre_post.T),
        np.zeros((cfg.n_out, cfg.n_rec), dtype=np.int64),
        np.zeros((cfg.n_rec, cfg.n_out), dtype=np.int64),
    )
    weights.check(cfg)
    return weights


#: the host's targets for a learning tick, from the readout Y of the tick before
TargetRule = Callable[[np.ndarray], np.ndarray]


def q_target(action: int, y_star: int) -> TargetRule:
    """Q-learning's targets: ``y*`` on the taken action, every other output its last readout."""

    def targets(y_prev: np.ndarray) -> np.ndarray:
        out = y_prev.copy()
        out[action] = y_star
        return out

    return targets


class ChipBackend(Protocol):
    """The chip as the RL host sees it: a network that runs windows of input spikes and can
    learn its readout on a window's last tick (golden fixed point or the RTL behind the host
    driver; both start from the same weights and a fresh chip's LFSRs)."""

    def present(self, spikes: np.ndarray, targets: TargetRule | None = None, learn_ticks: int = 1) -> np.ndarray:
        """Run ``spikes`` (ticks, n_in) and return the readout Y of the last tick.

        ``targets``: the last ``learn_ticks`` ticks learn, all with the targets ``targets(Y)``
        the host computes from the readout Y of the tick before the first of them; the other
        ticks do not learn.
        """
        ...

    def read_weights(self) -> Weights:
        """The chip's weights now."""
        ...

    def write_learning_registers(self, regs: LearningRegisters) -> None:
        """Set the run-time learning registers (learning-rate shifts, enables, threshold) for the
        ticks that follow."""
        ...


class GoldenChip:
    """:class:`ChipBackend` on the golden model (fixed point, batch 1).

    Parameters
    ----------
    cfg : Config
        The chip's configuration.
    weights : Weights
        Initial weights (integers).

    Members
    -------
    weights : Weights
        The weights now.
    """

    def __init__(self, cfg: Config, weights: Weights) -> None:
        self.cfg = cfg
        self.num = numerics("fixed")
        self.weights = weights
        self.state = init_state(cfg, self.num)
        self.learning = init_learning(cfg, self.num)

    def present(self, spikes: np.ndarray, targets: TargetRule | None = None, learn_ticks: int = 1) -> np.ndarray:
        cfg, num = self.cfg, self.num
        w, st, ls = self.weights, self.state, self.learning
        # the RTL's buffers hold a target and a valid flag for every tick: zeros, not valid
        no_target, not_valid = np.zeros((1, cfg.n_out), dtype=np.int64), np.zeros(1, dtype=bool)
        first_learning = len(spikes) - learn_ticks if targets is not None else len(spikes)
        y_target, valid = no_target, not_valid
        for t in range(len(spikes)):
            if t == first_learning and targets is not None:
                y_target = np.asarray(targets(np.asarray(st.y[0], dtype=np.int64)), dtype=np.int64)[None, :]
                valid = np.ones(1, dtype=bool)
            w, st, ls, _ = learning_tick(cfg, num, w, st, ls, spikes[t][None, :], y_target, valid)
        self.weights, self.state, self.learning = w, st, ls
        return np.asarray(st.y[0], dtype=np.int64)

    def read_weights(self) -> Weights:
        return self.weights

    def write_learning_registers(self, regs: LearningRegisters) -> None:
        self.cfg = regs.applied(self.cfg)  # every register field is replaced: no drift from the start


#: builds the chip a run trains: (config, initial weights) -> backend
ChipFactory = Callable[[Config, Weights], ChipBackend]


class LearningRateAnneal:
    """The host's learning-rate schedule for an RL run: after every ``every`` learning steps,
    both learning-rate shifts grow by one (the host rewrites the chip's run-time registers), up
    to the registers' limit. A fixed step keeps moving the weights by the TD errors' noise
    once the policy is good; halving it step by step lets the readout settle (docs/rl.md).

    Parameters
    ----------
    chip : ChipBackend
        The chip whose registers are written.
    cfg : Config
        Its config (the registers start at its values).
    every : int or None
        Learning steps per halving (None: never; the registers are not written).

    Members
    -------
    registers : LearningRegisters
        The values last written (the config's before the first).
    """

    def __init__(self, chip: ChipBackend, cfg: Config, every: int | None) -> None:
        if every is not None and every < 1:
            raise ValueError(f"anneal_steps: {every} is not a positive number of learning steps")
        self.chip, self.every = chip, every
        self.registers = LearningRegisters.of(cfg)
        ranges = register_ranges(cfg)
        self._limits = ranges["lr_shift"][1], ranges["out_lr_shift"][1]
        self._steps = 0

    def step(self) -> None:
        """Count one learning step, before it runs; on every ``every``-th, the shifts grow."""
        if self.every is None:
            return
        self._steps += 1
        if self._steps % self.every:
            return
        r = self.registers
        grown = r.replace(
            lr_shift=min(r.lr_shift + 1, self._limits[0]), out_lr_shift=min(r.out_lr_shift + 1, self._limits[1])
        )
        if grown != r:
            self.chip.write_learning_registers(grown)
            self.registers = grown


class ChipLsmQ:
    """The chip running the liquid, and the host's side of Q-learning.

    Parameters
    ----------
    settings : ChipLsmQSettings
        Constants.
    n_actions : int
        Readout outputs, one Q value per action.
    seed : int
        Liquid construction (the float agent's stream for the same seed) and input spikes.
    chip : ChipFactory
        The chip model (default: golden fixed point).

    Members
    -------
    cfg : Config
        The chip's configuration.
    chip : ChipBackend
        The chip (Win, Wrec fixed; Wout learned on chip).
    """

    def __init__(self, settings: ChipLsmQSettings, n_actions: int, seed: int, chip: ChipFactory = GoldenChip) -> None:
        self.s = settings
        streams = [np.random.default_rng(q) for q in np.random.SeedSequence(seed).spawn(5)]
        rng_build, self.rng_spikes = streams[0], streams[1]
        liquid = liquid_weights(settings.liquid, rng_build)
        self.cfg = chip_liquid_config(settings, n_actions, seed)
        self.chip = chip(self.cfg, chip_liquid_weights(self.cfg, liquid, settings.weight_scale))

    @property
    def weights(self) -> Weights:
        """The chip's weights now."""
        return self.chip.read_weights()

    def present(self, obs: np.ndarray, ticks: int, target_a: tuple[int, int] | None = None) -> np.ndarray:
        """Run ``ticks`` ticks on the encoded ``obs``; returns the readout Y of the last tick.

        ``target_a``: (action, y*) to learn on the last tick (other outputs: their last Y).
        """
        rates = encode_buckets(obs) * self.s.liquid.rate_scale
        spikes = (self.rng_spikes.random((ticks, rates.size)) <= rates).astype(np.int64)
        return self.chip.present(spikes, None if target_a is None else q_target(*target_a))


def run_chip_lsm_q(
    seed: int,
    version: str = "v1",
    episodes: int | None = 100,
    max_steps: int | None = None,
    settings: ChipLsmQSettings | None = None,
    progress: Progress = no_progress,
    chip_factory: ChipFactory = GoldenChip,
) -> RLResult:
    """Train lsm-q in its hardware form on CartPole (module docstring); deterministic per seed.

    ``chip_factory``: the chip model (golden fixed point, or the RTL through the host driver:
    the same run, bit for bit)."""
    s = settings or ChipLsmQSettings()
    step_limit = run_length(max_steps, episodes)
    env = make_cartpole(version)
    n_actions = int(env.action_space.n)
    chip = ChipLsmQ(s, n_actions, seed, chip_factory)
    rng_agent = np.random.default_rng(np.random.SeedSequence(seed).spawn(5)[2])
    epsilon = LinearSchedule(s.explore_steps, s.final_epsilon)
    y_max = (1 << (chip.cfg.y_bits - 1)) - 1

    obs = env.reset(seed=seed)[0]
    q = chip.present(obs, s.window_ticks)
    returns: list[float] = []
    actions: list[int] = []
    episode_return = 0.0
    steps = 0
    for t in progress(range(step_limit), "lsm-q chip", max_steps):
        if rng_agent.random() < epsilon.value(t):
            action = int(rng_agent.integers(n_actions))
        else:
            action = int(np.argmax(q))
        actions.append(action)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        episode_return += float(reward)
        done = terminated or truncated
        terminal = terminated or (truncated and not s.bootstrap_truncated)
        y_star = s.reward_lsb * float(reward)
        if not terminal:
            q_next = chip.present(next_obs, s.window_ticks)
            y_star += s.gamma * float(np.max(q_next))
        chip.present(obs, s.replay_ticks, (action, int(np.clip(round(y_star), -y_max - 1, y_max))))
        if done:
            obs = env.reset()[0]
            q = chip.present(obs, s.window_ticks)
        else:
            obs, q = next_obs, q_next
        steps = t + 1
        if done:
            returns.append(episode_return)
            episode_return = 0.0
            if episodes is not None and len(returns) >= episodes:
                break
    env.close()
    solved_at, best = episode_statistics(returns, CARTPOLE_VERSIONS[version].solved_mean)
    return RLResult(returns, steps, solved_at, best, actions, chip.weights)
