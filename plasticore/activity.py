"""Cycles per tick of the RTL at a stated activity, from golden runs and the cycle model.

The cycle model (``hdl.cycles``) is checked against the RTL's own counter on every tick of
every co-simulation, so these are the RTL's cycle counts. Synthesis reports and benchmarks
turn them into ticks per second with a board's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden import FixedNumerics, init_state, init_weights, tick
from golden.config import Config
from golden.learning import init_learning, learn, presynaptic_factors, update_traces
from hdl.cycles import tick_cycles

__all__ = ["ActivityCycles", "cycles_at_activity", "DEFAULT_RATE"]

#: the activity figures are quoted at: each input spikes with this probability per tick
DEFAULT_RATE = 0.05


@dataclass(frozen=True)
class ActivityCycles:
    rate: float
    ticks: int
    infer_mean: float      # a tick without learning (no valid target)
    learn_mean: float      # a tick with a valid target and learning on (inference + learning)

    def ticks_per_s(self, clock_hz: float) -> tuple[float, float]:
        return clock_hz / self.infer_mean, clock_hz / self.learn_mean


def cycles_at_activity(cfg: Config, rate: float = DEFAULT_RATE, ticks: int = 200, seed: int = 1) -> ActivityCycles:
    """Mean cycles per tick over ``ticks`` ticks of Poisson input at ``rate``, with the
    config's own rule learning on every tick (a valid target each tick) and without."""
    fx = FixedNumerics()
    w = init_weights(cfg, seed=seed)
    rng = np.random.default_rng(seed)
    s, ls = init_state(cfg, fx, 1), init_learning(cfg, fx, 1)
    infer, total = [], []
    for _ in range(ticks):
        x = (rng.random(cfg.n_in) < rate).astype(np.int64)
        target = rng.integers(-1000, 1000, size=cfg.n_out)
        prev = s
        s, out = tick(cfg, fx, w, s, x[None], target[None], np.array([True]))
        new_tr = update_traces(cfg, fx, ls.traces, x[None], s.z)
        e_in, e_rec = presynaptic_factors(cfg, ls.traces, new_tr, x[None], prev.z)
        rows = np.concatenate([e_in[0], e_rec[0]]) != 0
        w, ls, _ = learn(cfg, fx, w, prev, s, out, x[None], np.array([True]), ls)
        b = tick_cycles(cfg, x, prev.z[0], prev.e[0], out.z[0], rows, new_tr.z_bar[0] != 0)
        no_error = np.zeros(cfg.n_out, dtype=np.int64)  # inference: no target, so no error to feed back
        infer.append(tick_cycles(cfg, x, prev.z[0], no_error, out.z[0]).total)
        total.append(b.total)
    return ActivityCycles(rate, ticks, float(np.mean(infer)), float(np.mean(total)))
