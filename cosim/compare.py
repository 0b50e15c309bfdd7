"""Run the RTL and golden side by side, tick for tick, and report the first difference.

:func:`lockstep` is the heart of the bit-exactness promise: every tick it compares the
spikes, U, a, r, V, Y, e and the cycle count of the RTL with golden's fixed-point model and
with the cycle model of ``hdl.cycles``. It is async and transport-agnostic (see
``cosim.driver``): the same function runs under the Amaranth simulator and under cocotb.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from golden import FixedNumerics, init_state, tick as golden_tick
from golden.config import Config
from golden.network import Weights
from hdl.cycles import tick_cycles

from .driver import CoreDriver

__all__ = ["Mismatch", "LockstepReport", "lockstep", "STATES"]

#: the states compared every tick, in the order a mismatch is looked for
STATES = ("z", "u", "a", "ref", "v", "y", "e")


@dataclass
class Mismatch:
    tick: int
    state: str
    index: int
    rtl: int
    golden: int

    def __str__(self):
        who = "output" if self.state in ("y", "e") else "neuron"
        return (f"tick {self.tick}: {self.state}[{who} {self.index}] RTL {self.rtl} != golden {self.golden}")


@dataclass
class LockstepReport:
    ticks: int = 0
    mismatches: int = 0            # number of (tick, state, element) differences, cycles included
    first: Mismatch | None = None
    cycles: list[int] = field(default_factory=list)
    predicted_cycles: list[int] = field(default_factory=list)
    spikes: int = 0

    def as_dict(self) -> dict:
        c = np.asarray(self.cycles) if self.cycles else np.zeros(1)
        return {
            "ticks": self.ticks,
            "mismatches": self.mismatches,
            "first_mismatch": None if self.first is None else str(self.first),
            "cycles_per_tick": {"mean": float(c.mean()), "max": int(c.max())},
            "spikes": self.spikes,
        }


async def lockstep(cfg: Config, driver: CoreDriver, w: Weights, x_seq: np.ndarray,
                   targets: np.ndarray | None = None, valid: np.ndarray | None = None,
                   stop_at_first: bool = False, progress=None) -> LockstepReport:
    """Load ``w``, then run ``x_seq`` (ticks, n_in) on both models, comparing every tick."""
    fx = FixedNumerics()
    s = init_state(cfg, fx, 1)
    await driver.load_weights(w)
    report = LockstepReport()
    ticks = x_seq.shape[0]
    steps = range(ticks) if progress is None else progress(range(ticks))
    for t in steps:
        tgt = None if targets is None else targets[t]
        vld = bool(valid[t]) if valid is not None else False
        z_prev, e_prev = s.z[0], s.e[0]
        s, out = golden_tick(cfg, fx, w, s, x_seq[t][None, :],
                             None if tgt is None else tgt[None, :], np.array([vld]))
        predicted = tick_cycles(cfg, x_seq[t], z_prev, e_prev, out.z[0])
        cycles = await driver.tick(x_seq[t], tgt, vld)
        rtl = await driver.read_state()
        report.ticks += 1
        report.spikes += int(out.z.sum())
        report.cycles.append(cycles)
        report.predicted_cycles.append(predicted.total)
        for name in STATES:
            gold = (out.z if name == "z" else getattr(s, name))[0]
            diff = np.flatnonzero(rtl[name] != gold)
            if diff.size:
                report.mismatches += int(diff.size)
                if report.first is None:
                    j = int(diff[0])
                    report.first = Mismatch(t, name, j, int(rtl[name][j]), int(gold[j]))
        if cycles != predicted.total:
            report.mismatches += 1
            if report.first is None:
                report.first = Mismatch(t, "cycles", 0, cycles, predicted.total)
        if stop_at_first and report.first is not None:
            break
    return report
