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
from plasticore.golden.learning import init_learning, learned_rows
from plasticore.golden.learning import learn as golden_learn
from plasticore.golden.network import Weights
from plasticore.golden.registers import REGISTER_FIELDS, LearningRegisters, register_ranges
from plasticore.golden.rules import RULES

from .driver import CoreDriver

__all__ = ["Mismatch", "LockstepReport", "lockstep", "STATES"]

#: the states compared every tick, in the order a mismatch is looked for
STATES = ("z", "u", "a", "ref", "v", "y", "e", "x_bar", "z_bar")
#: the readout's own trace, compared after them when the config keeps one (tau_readout_trace)
READOUT_TRACE = "zo_bar"
WEIGHTS = ("w_in", "w_rec", "w_out", "b_fb")
#: the sparse synapse table's fields, compared slot by slot (wiring and weights)
TABLE = ("slot_column", "slot_weight")
#: a region read back over the bus right after the bench wrote it ("read-back w_in")
READ_BACK = "read-back "
#: the padding values of a weight region (lanes of targets past the last neuron or output),
#: which hold zero ("w_out padding")
PADDING = " padding"
#: the handshakes of the bus and tick controls a port checks (``CoreDriver.take_handshake_faults``)
HANDSHAKES = {
    "rvalid": "bus.rvalid a cycle after a bus access (index: address)",
    "busy": "ctl.busy in the tick's first cycle, in FINISH, back in IDLE (index: 0, 1, 2)",
    "done": "ctl.done in FINISH and back in IDLE (index: 1, 2)",
    "busy_cycles": "cycles ctl.busy was high against ctl.cycles (index: 0)",
}


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
        if self.state in HANDSHAKES:
            return (
                f"tick {self.tick}: {HANDSHAKES[self.state]} ({self.index}): RTL {self.rtl} != expected {self.golden}"
            )
        if self.state == "params":
            return f"tick {self.tick}: params[register {self.index}] RTL {self.rtl} != written {self.golden}"
        if self.state.endswith(PADDING):
            return f"tick {self.tick}: {self.state}[value {self.index}] RTL {self.rtl} != 0"
        if self.state.startswith(READ_BACK):
            return f"tick {self.tick}: {self.state}[value {self.index}] RTL {self.rtl} != written {self.golden}"
        if self.state in WEIGHTS or self.state in TABLE:
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
    rewired : int or None
        With the sparse synapse table: slots re-targeted over the run (golden's count, every
        one checked by the table comparisons); None with dense weights.
    """

    ticks: int = 0
    mismatches: int = 0  # (tick, state, element) differences, weights and cycles included
    first: Mismatch | None = None
    cycles: list[int] = field(default_factory=list)
    predicted_cycles: list[int] = field(default_factory=list)
    learn_cycles: list[int] = field(default_factory=list)  # the learning phases' share, per tick
    weight_checks: int = 0
    spikes: int = 0
    rewired: int | None = None

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
        if self.rewired is not None:
            out["rewired"] = self.rewired
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


async def _read_back(report: LockstepReport, t: int, driver: CoreDriver, name: str, values: np.ndarray) -> None:
    """Every word of region ``name`` (padding included) against the ``values`` written there."""
    _compare(report, t, READ_BACK + name, await driver.read_region(name), driver.as_written(name, values))


#: the regions golden's first tick finds at zero (init_state, init_traces; x and the targets
#: are written every tick)
START_AT_ZERO = ("u", "a", "ref", "v", "y", "e", "target", "x", "z", "xbar", "zbar", "zobar")
#: seeds the values of the bus round trip (any values do: they are read back, then overwritten)
ROUND_TRIP_SEED = 0xB05


def _random_words(driver: CoreDriver, name: str, rng: np.random.Generator) -> np.ndarray:
    """Random values that fit every lane of region ``name``, zero where no memory holds them."""
    region = driver.g.regions[name]
    lo = -(1 << (region.bits - 1)) if region.signed else 0
    hi = (1 << (region.bits - 1)) - 1 if region.signed else (1 << region.bits) - 1
    values = rng.integers(lo, hi, size=region.depth * region.lanes, endpoint=True)
    return np.where(driver.unheld(name), 0, values)


def _complement(driver: CoreDriver, name: str, values: np.ndarray) -> np.ndarray:
    """Every bit of every lane of ``values`` inverted (``-1 - v`` signed, ``2**bits - 1 - v``
    unsigned: still in range), zero where no memory holds them."""
    region = driver.g.regions[name]
    inverted = -1 - values if region.signed else (1 << region.bits) - 1 - values
    return np.where(driver.unheld(name), 0, inverted)


async def _round_trip(report: LockstepReport, driver: CoreDriver) -> None:
    """Write random values into every region, read every word back, the same with every bit
    inverted (each bit seen as 0 and as 1), then leave the regions as
    golden's first tick finds them (state at zero; the registers as they were, compared with
    golden's next; the weights are loaded next). The bus decodes the region and the word of each access: a
    decode that hits a second memory, or a read multiplexer that picks the wrong one, shows
    here, whatever the runs' own values are (many lanes are padding, zero in every run).
    The registers keep an in-range value and ignore an out-of-range one."""
    cfg, rng = driver.cfg, np.random.default_rng(ROUND_TRIP_SEED)
    # the registers as the core holds them (its reset values), put back at the end: writing
    # golden's would hide a core built with other values (tests/test_cosim.py's fault injection)
    held = await driver.read_region("params")
    written = {name: _random_words(driver, name, rng) for name in driver.g.regions if name != "params"}
    ranges = register_ranges(cfg)
    regs = LearningRegisters.from_words(cfg, [int(rng.integers(*ranges[f], endpoint=True)) for f in REGISTER_FIELDS])
    # twice: the random values, then each with every bit inverted, so that every bit of every
    # word travels the bus both as 0 and as 1 (a bit stuck, or mixed with another bit of the
    # word, shows whatever the random draw was)
    for inverted in (False, True):
        if inverted:
            written = {name: _complement(driver, name, values) for name, values in written.items()}
        for name, values in written.items():  # all written before any is read: a write must not reach another
            await driver.write_region(name, values)
        if not inverted:
            await driver.write_learning_registers(regs)
        for name, values in written.items():
            rtl = await driver.read_region(name)  # a read of a gap answers nothing defined: not compared
            _compare(
                report, 0, READ_BACK + name, np.where(driver.unheld(name), 0, rtl), driver.as_written(name, values)
            )
    # out of range, above (some far above, in the word's top bit) and below: ignored
    above = [ranges[f][1] + 1 + (1 << 31) * (i % 2) for i, f in enumerate(REGISTER_FIELDS)]
    below = [ranges[f][0] - 1 if ranges[f][0] > 0 else ranges[f][1] + 2 for f in REGISTER_FIELDS]
    for words in (above, below):
        await driver.write_region("params", np.asarray(words))
        _compare(report, 0, "params", await driver.read_region("params"), np.asarray(regs.words()))
    await clear_state(driver)
    await driver.write_region("params", held)


async def clear_state(driver: CoreDriver) -> None:
    """Zero the regions golden's first tick finds at zero (:data:`START_AT_ZERO`)."""
    for name in START_AT_ZERO:
        if name not in driver.g.regions:
            continue  # zobar: only with the readout's own trace
        region = driver.g.regions[name]
        await driver.write_region(name, np.zeros(region.depth * region.lanes, dtype=np.int64))


def _note_handshakes(report: LockstepReport, t: int, driver: CoreDriver) -> None:
    for signal, index, seen, expected in driver.take_handshake_faults():
        report.note(Mismatch(t, signal, index, seen, expected))


async def _compare_weights(report: LockstepReport, t: int, driver: CoreDriver, w: Weights) -> None:
    regions = await driver.read_weight_regions()
    rtl = driver.weights_from_regions(regions)
    report.weight_checks += 1
    for name in WEIGHTS:
        _compare(report, t, name, getattr(rtl, name), getattr(w, name))
    if w.synapses is not None:  # the table itself: every slot's column (wiring) and weight
        _compare(report, t, "slot_column", rtl.synapses.column.reshape(-1), w.synapses.column.reshape(-1))
        _compare(report, t, "slot_weight", rtl.synapses.weight.reshape(-1), w.synapses.weight.reshape(-1))
    # the padding of the weight memories: still zero (a write of a padding lane is a bug the
    # weights alone do not show: those lanes feed only padding outputs and errors)
    for name, padding in driver.weight_padding().items():
        _compare(report, t, name + PADDING, np.where(padding, regions[name], 0), np.zeros(padding.size, dtype=np.int64))


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

    What the bench writes is read back too, every word of the region, padding included
    (``"read-back <region>"``): the weights after loading them, the input spikes and targets
    after each tick (the core only reads them), and the registers before the first tick (their
    reset values, which golden's first ticks assume) and after the last. A port that checks
    the handshakes of the bus and the tick controls (``bus.rvalid``, ``ctl.busy``, ``ctl.done``)
    has its violations noted at the tick they were seen in or before.
    """
    fx = FixedNumerics()
    s = init_state(cfg, fx, 1)
    ls = init_learning(cfg, fx, 1)
    table = None if w.synapses is None else w.synapses.astype(np.int64)
    w = Weights(*(np.asarray(getattr(w, k), dtype=np.int64) for k in WEIGHTS), table)
    if RULES[cfg.rule].symmetric_feedback:
        w = Weights(w.w_in, w.w_rec, w.w_out, w.w_out.T.copy(), table)  # B is Wout^T, kept so by both
    report = LockstepReport()
    await _round_trip(report, driver)
    await driver.load_weights(w)
    # the bus's decoding and read paths: a word written in the wrong place, or read from the
    # wrong one, shows here before any tick could hide it
    for name, values in driver.weight_regions(w).items():
        await _read_back(report, 0, driver, name, values)
    regs = LearningRegisters.of(cfg)
    _compare(report, 0, "params", await driver.read_region("params"), np.asarray(regs.words()))
    _note_handshakes(report, 0, driver)
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
            learn_rows, learn_out_rows = learned_rows(tick_cfg, fx, ls.traces, x[None, :], prev.z, s.z)
        visits: dict[int, int] = {}  # rewiring: the rows that pruned, and their candidates
        w, ls, _ = golden_learn(tick_cfg, fx, w, prev, s, out, x[None, :], np.array([learning_tick]), ls, visits)
        if RULES[cfg.rule].symmetric_feedback:
            w = Weights(w.w_in, w.w_rec, w.w_out, w.w_out.T.copy(), w.synapses)
        predicted = tick_cycles(tick_cfg, x, prev.z[0], prev.e[0], out.z[0], learn_rows, learn_out_rows, visits)

        cycles = await driver.tick(x, tgt, vld, learn=learn)
        rtl = await driver.read_state()
        rtl.update(await driver.read_traces())
        # the tick left what the bench wrote as it was (the core only reads x and the targets)
        await _read_back(report, t, driver, "x", driver.bitmap("x", x))
        if tgt is not None:
            await _read_back(report, t, driver, "target", tgt)
        report.ticks += 1
        report.spikes += int(out.z.sum())
        report.cycles.append(cycles)
        report.predicted_cycles.append(predicted.total)
        if learn:
            report.learn_cycles.append(predicted.learn)
        gold = {"z": out.z[0], "x_bar": ls.traces.x_bar[0], "z_bar": ls.traces.z_bar[0]}
        if ls.traces.zo_bar is not None:
            gold["zo_bar"] = ls.traces.zo_bar[0]
        for name in STATES + (READOUT_TRACE,) * ("zo_bar" in gold):
            _compare(report, t, name, rtl[name], gold[name] if name in gold else getattr(s, name)[0])
        if cycles != predicted.total:
            report.note(Mismatch(t, "cycles", 0, cycles, predicted.total))
        if learn and ((t + 1) % weights_every == 0 or t == ticks - 1):
            await _compare_weights(report, t, driver, w)
        _note_handshakes(report, t, driver)
        if stop_at_first and report.first is not None:
            break
    if w.synapses is not None:
        report.rewired = w.synapses.rewired
    if not learn and report.ticks:
        await _compare_weights(report, report.ticks - 1, driver, w)  # inference never writes weights
    if report.ticks and not (stop_at_first and report.first is not None):
        # the registers the ticks ran under, still as written (a tick never writes them)
        _compare(report, report.ticks - 1, "params", await driver.read_region("params"), np.asarray(regs.words()))
        _note_handshakes(report, report.ticks - 1, driver)
    return report
