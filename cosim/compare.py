"""Run the RTL and golden side by side, tick for tick, and report the first difference.

:func:`lockstep` is the heart of the bit-exactness promise: every tick it compares the
spikes, U, a, r, V, Y, e, the traces and the cycle count of the RTL with golden's fixed-point
model and with the cycle model of ``plasticore.contract.cycles``; with learning on it also compares all
weights every ``weights_every`` ticks and after the last tick. It is async and
transport-agnostic (see ``plasticore.cosim.driver``): the same function runs under the Amaranth simulator
and under cocotb.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plasticore.contract.cycles import tick_cycles
from plasticore.golden import FixedNumerics, init_state
from plasticore.golden import tick as golden_tick
from plasticore.golden.config import Config
from plasticore.golden.learning import init_learning, presynaptic_factors, update_traces
from plasticore.golden.learning import learn as golden_learn
from plasticore.golden.network import Weights
from plasticore.golden.registers import LearningRegisters
from plasticore.golden.rules import RULES

from .driver import CoreDriver

__all__ = ["Mismatch", "LockstepReport", "lockstep", "STATES"]

#: the states compared every tick, in the order a mismatch is looked for
STATES = ("z", "u", "a", "ref", "v", "y", "e", "x_bar", "z_bar")
WEIGHTS = ("w_in", "w_rec", "w_out", "b_fb")


@dataclass
class Mismatch:
    """One difference between the RTL and the golden model.

    Attributes
    ----------
    tick : int
        Tick of the difference.
    state : str
        What differs: a state (``STATES``), a weight matrix (``WEIGHTS``) or ``"cycles"``.
    index : int
        Element of it (flat index for weights).
    rtl : int
        The RTL's value.
    golden : int
        The golden model's (or the cycle model's) value.
    """

    tick: int
    state: str
    index: int
    rtl: int
    golden: int

    def __str__(self):
        if self.state == "cycles":
            return f"tick {self.tick}: cycle count RTL {self.rtl} != model {self.golden}"
        if self.state in WEIGHTS:
            return f"tick {self.tick}: {self.state}[flat {self.index}] RTL {self.rtl} != golden {self.golden}"
        who = "output" if self.state in ("y", "e") else "input" if self.state == "x_bar" else "neuron"
        return f"tick {self.tick}: {self.state}[{who} {self.index}] RTL {self.rtl} != golden {self.golden}"


@dataclass
class LockstepReport:
    """What a lockstep run of the RTL against the golden model found.

    Attributes
    ----------
    ticks : int
        Ticks compared.
    mismatches : int
        Differences found (tick, state, element), weights and cycle counts included.
    first : Mismatch or None
        The first difference.
    cycles : list of int
        Cycles of each tick, as the RTL counted them.
    predicted_cycles : list of int
        Cycles of each tick, as the cycle model predicts them.
    learn_cycles : list of int
        The learning phases' share of each tick.
    weight_checks : int
        Times the weights were compared.
    spikes : int
        Spikes of the run.
    """

    ticks: int = 0
    mismatches: int = 0  # (tick, state, element) differences, weights and cycles included
    first: Mismatch | None = None
    cycles: list[int] = field(default_factory=list)
    predicted_cycles: list[int] = field(default_factory=list)
    learn_cycles: list[int] = field(default_factory=list)  # the learning phases' share, per tick
    weight_checks: int = 0
    spikes: int = 0

    def note(self, mismatch: Mismatch, count: int = 1) -> None:
        self.mismatches += count
        if self.first is None:
            self.first = mismatch

    def as_dict(self) -> dict:
        c = np.asarray(self.cycles) if self.cycles else np.zeros(1)
        out = {
            "ticks": self.ticks,
            "mismatches": self.mismatches,
            "first_mismatch": None if self.first is None else str(self.first),
            "cycles_per_tick": {"mean": float(c.mean()), "max": int(c.max())},
            "spikes": self.spikes,
            "weight_checks": self.weight_checks,
        }
        if self.learn_cycles:
            lc = np.asarray(self.learn_cycles)
            out["learn_cycles_per_tick"] = {"mean": float(lc.mean()), "max": int(lc.max())}
        return out


def _compare(report: LockstepReport, t: int, name: str, rtl: np.ndarray, gold: np.ndarray) -> None:
    rtl, gold = np.asarray(rtl).reshape(-1), np.asarray(gold).reshape(-1)
    diff = np.flatnonzero(rtl != gold)
    if diff.size:
        j = int(diff[0])
        report.note(Mismatch(t, name, j, int(rtl[j]), int(gold[j])), int(diff.size))


async def _compare_weights(report: LockstepReport, t: int, driver: CoreDriver, w: Weights) -> None:
    rtl = await driver.read_weights()
    report.weight_checks += 1
    for name in WEIGHTS:
        _compare(report, t, name, getattr(rtl, name), getattr(w, name))


async def lockstep(
    cfg: Config,
    driver: CoreDriver,
    w: Weights,
    x_seq: np.ndarray,
    targets: np.ndarray | None = None,
    valid: np.ndarray | None = None,
    learn: bool = False,
    weights_every: int = 50,
    stop_at_first: bool = False,
    progress=None,
    registers: dict[int, LearningRegisters] | None = None,
) -> LockstepReport:
    """Load ``w``, then run ``x_seq`` (ticks, n_in) on both models, comparing every tick.

    ``learn``: learning on (the weights change on ticks whose target is valid).
    ``registers``: run-time learning registers written before the tick of each key (golden
    runs that tick and the next ones under :meth:`LearningRegisters.applied`); read back from
    the RTL and compared (``"params"``) after each write.
    """
    fx = FixedNumerics()
    s = init_state(cfg, fx, 1)
    ls = init_learning(cfg, fx, 1)
    w = Weights(*(np.asarray(getattr(w, k), dtype=np.int64) for k in WEIGHTS))
    if RULES[cfg.rule].symmetric_feedback:
        w = Weights(w.w_in, w.w_rec, w.w_out, w.w_out.T.copy())  # B is Wout^T, kept so by both
    await driver.load_weights(w)
    report = LockstepReport()
    ticks = x_seq.shape[0]
    steps = range(ticks) if progress is None else progress(range(ticks))
    tick_cfg = cfg  # the config under the registers written so far
    for t in steps:
        if registers and t in registers:
            regs = registers[t]
            tick_cfg = regs.applied(cfg)
            await driver.write_learning_registers(regs)
            _compare(report, t, "params", await driver.read_region("params"), np.asarray(regs.words()))
        x = x_seq[t]
        tgt = None if targets is None else targets[t]
        vld = bool(valid[t]) if valid is not None else False
        learning_tick = learn and vld
        prev = s
        s, out = golden_tick(tick_cfg, fx, w, s, x[None, :], None if tgt is None else tgt[None, :], np.array([vld]))
        learn_rows = learn_out_rows = None
        if learning_tick:
            new_traces = update_traces(tick_cfg, fx, ls.traces, x[None, :], s.z)
            e_in, e_rec = presynaptic_factors(tick_cfg, ls.traces, new_traces, x[None, :], prev.z)
            learn_rows = np.concatenate([e_in[0], e_rec[0]]) != 0
            learn_out_rows = new_traces.z_bar[0] != 0
        w, ls, _ = golden_learn(tick_cfg, fx, w, prev, s, out, x[None, :], np.array([learning_tick]), ls)
        if RULES[cfg.rule].symmetric_feedback:
            w = Weights(w.w_in, w.w_rec, w.w_out, w.w_out.T.copy())
        predicted = tick_cycles(tick_cfg, x, prev.z[0], prev.e[0], out.z[0], learn_rows, learn_out_rows)

        cycles = await driver.tick(x, tgt, vld, learn=learn)
        rtl = await driver.read_state()
        rtl.update(await driver.read_traces())
        report.ticks += 1
        report.spikes += int(out.z.sum())
        report.cycles.append(cycles)
        report.predicted_cycles.append(predicted.total)
        if learn:
            report.learn_cycles.append(predicted.learn)
        gold = {"z": out.z[0], "x_bar": ls.traces.x_bar[0], "z_bar": ls.traces.z_bar[0]}
        for name in STATES:
            _compare(report, t, name, rtl[name], gold[name] if name in gold else getattr(s, name)[0])
        if cycles != predicted.total:
            report.note(Mismatch(t, "cycles", 0, cycles, predicted.total))
        if learn and ((t + 1) % weights_every == 0 or t == ticks - 1):
            await _compare_weights(report, t, driver, w)
        if stop_at_first and report.first is not None:
            break
    if not learn and report.ticks:
        await _compare_weights(report, report.ticks - 1, driver, w)  # inference never writes weights
    return report
