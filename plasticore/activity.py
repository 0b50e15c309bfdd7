"""Cycles per tick of the RTL at a stated activity, from golden runs and the cycle model.

The cycle model (``plasticore.contract.cycles``) is checked against the RTL's own counter on every tick of
every co-simulation, so these are the RTL's cycle counts. Synthesis reports and benchmarks
turn them into ticks per second with a board's clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from plasticore.contract.cycles import Breakdown, tick_cycles
from plasticore.golden import FixedNumerics, init_state, init_weights, tick
from plasticore.golden.config import Config
from plasticore.golden.learning import init_learning, learn, learned_rows
from plasticore.golden.synapses import wired

__all__ = ["ActivityCycles", "TickActivity", "activity", "cycles_at_activity", "DEFAULT_RATE"]

#: the activity figures are quoted at: each input spikes with this probability per tick
DEFAULT_RATE = 0.05


@dataclass(frozen=True)
class ActivityCycles:
    """Mean RTL cycles per tick at one input activity.

    Attributes
    ----------
    rate : float
        Input activity (spikes per input per tick).
    ticks : int
        Ticks measured.
    infer_mean : float
        Mean cycles of a tick without learning (no valid target).
    learn_mean : float
        Mean cycles of a tick with a valid target and learning on.
    """

    rate: float
    ticks: int
    infer_mean: float  # a tick without learning (no valid target)
    learn_mean: float  # a tick with a valid target and learning on (inference + learning)

    def ticks_per_s(self, clock_hz: float) -> tuple[float, float]:
        return clock_hz / self.infer_mean, clock_hz / self.learn_mean


@dataclass(frozen=True)
class TickActivity:
    """One tick of a golden run and its RTL cycle breakdown."""

    x: np.ndarray  # input spikes
    z_prev: np.ndarray  # spikes of the tick before
    z_new: np.ndarray  # spikes of this tick
    learn_rows: np.ndarray  # presynaptic rows with a nonzero factor (all False without learning)
    cycles: Breakdown  # with learning when ``learning`` is on
    infer_cycles: int  # the same tick without a target (no feedback, no learning)


def activity(
    cfg: Config,
    rate: float = DEFAULT_RATE,
    ticks: int = 200,
    seed: int = 1,
    supervised: bool = True,
    learning: bool = True,
) -> Iterator[TickActivity]:
    """Golden fixed-point ticks of Poisson input at ``rate`` with random weights, and their
    cycle counts: ``supervised`` gives every tick a valid target (the feedback engine works);
    ``learning`` then also updates the weights with the config's rule, as the RTL would."""
    fx = FixedNumerics()
    w = wired(cfg, init_weights(cfg, seed=seed), seed=seed)  # a sparse config's synapse table
    rng = np.random.default_rng(seed)
    s, ls = init_state(cfg, fx, 1), init_learning(cfg, fx, 1)
    no_error = np.zeros(cfg.n_out, dtype=np.int64)
    for _ in range(ticks):
        x = (rng.random(cfg.n_in) < rate).astype(np.int64)
        target = rng.integers(-1000, 1000, size=cfg.n_out)
        prev = s
        s, out = tick(cfg, fx, w, s, x[None], target[None], np.array([supervised]))
        learned, learned_out = learned_rows(cfg, fx, ls.traces, x[None], prev.z, s.z)
        rows = learned if learning else np.zeros(cfg.n_in + cfg.n_rec, dtype=bool)
        visits: dict[int, int] = {}  # rewiring candidates of the rows that pruned
        w, ls, _ = learn(cfg, fx, w, prev, s, out, x[None], np.array([supervised and learning]), ls, visits)
        breakdown = tick_cycles(cfg, x, prev.z[0], prev.e[0], out.z[0], rows if learning else None, learned_out, visits)
        infer = tick_cycles(cfg, x, prev.z[0], no_error, out.z[0]).total
        yield TickActivity(x, prev.z[0], out.z[0], rows, breakdown, infer)


def cycles_at_activity(cfg: Config, rate: float = DEFAULT_RATE, ticks: int = 200, seed: int = 1) -> ActivityCycles:
    """Mean cycles per tick over ``ticks`` ticks of Poisson input at ``rate``, with the
    config's own rule learning on every tick (a valid target each tick) and without."""
    ticks_seen = list(activity(cfg, rate, ticks, seed))
    return ActivityCycles(
        rate,
        ticks,
        float(np.mean([t.infer_cycles for t in ticks_seen])),
        float(np.mean([t.cycles.total for t in ticks_seen])),
    )
