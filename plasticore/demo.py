"""``plasticore demo``: the main job, what a new user runs first.

1. A task (8x8 digits, eRBP) trained three ways: golden float, golden fixed point, and
   on-chip on the RTL in simulation (Verilator with the native bench, driven by the host
   driver with the protocol bytes a board would receive); RTL and fixed point must end bit for
   bit equal. The network and rates are ``plasticore train --task digits``'s (64 in, 200 LIF,
   10 out, four lanes, 40 ticks per image, all 1,438 training images), 2 of its 5 epochs.
2. A synthesis (yosys + nextpnr from YoWASP) with its resource and timing report: by default
   of the network the demo trains, for the ULX3S (ECP5-85F), the board that holds it; the
   report says how many learning ticks per second that board runs it at. ``--board
   icebreaker`` synthesizes the preset ``ice40`` instead (16 in, 32 LIF, 2 out, one lane), the
   shape the iCE40UP5K takes; ``--synth-config`` any config.
3. One report folder (Markdown, PNG plots, JSON); the last line printed says where it is.

The phases overlap on the machine's cores: the synthesis and the two golden runs each run in a
process of their own (spawned at the start) while this one builds the simulated chip and
trains it; the report lists each phase's wall time, CPU time and start/end (``--sequential``
runs them one after the other). Both golden runs and the synthesis are single-threaded, as is
the simulated chip, so on two cores the chip is the critical path.

Exit code 0 only when RTL == fixed point (a synthesis that does not fit is reported, not an
error: the report says by how much).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import resource
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .progress import progress_bar

if TYPE_CHECKING:
    from plasticore.chip_train import ChipTraining
    from plasticore.compare import Comparison, Way
    from plasticore.golden.config import Config
    from plasticore.tasks import Task
    from plasticore.training.train import TaskSpec

__all__ = [
    "demo",
    "demo_spec",
    "DEMO_SAMPLES",
    "DEMO_HARDWARE",
    "SYNTH_CONFIGS",
    "DEFAULT_BOARD",
    "Phase",
    "format_phases",
    "board_speed",
    "synth_target",
]

#: the board the demo synthesizes when not told: the smallest supported one that holds its
#: network (Win + Wrec = 52,800 8-bit weights; docs/results.md, "The demo on the chip")
DEFAULT_BOARD = "ulx3s-85f"

#: what the demo synthesizes per board when not told (otherwise: the demo's own network)
SYNTH_CONFIGS = {"icebreaker": "ice40"}

#: the demo's share of the digits task: every training and held-out image (None: the whole
#: split, 1,438 / 359), 2 epochs (docs/results.md, "The demo on the chip")
DEMO_SAMPLES: dict[str, Any] = dict(task="digits", n_train=None, n_test=None, epochs=2)

_GOLDEN = ("float", "fixed")


#: hardware options of the demo's network that change no value (``plasticore.golden.config``):
#: a register in the middle of the lane arithmetic, the decays as adders, the update products
#: factored. The digits network without them misses the ULX3S's 20 MHz (nextpnr's Fmax 10.1
#: MHz on the ECP5-85F); with them it meets it (28.4 MHz; docs/results.md, "The demo on the chip")
DEMO_HARDWARE: dict[str, Any] = dict(pipelined=True, decay_multipliers="logic", learn_multipliers="factored")


def demo_spec() -> TaskSpec:
    """The demo's network and schedule: the digits task's own (``TASK_SPECS["digits"]``: 200
    LIF, 40 ticks per image, constant rates 20 / 21, so the same weights and scores as
    ``plasticore train --task digits``), with the hardware options DEMO_HARDWARE, for the
    demo's epochs."""
    from plasticore.training.train import TASK_SPECS

    spec = TASK_SPECS["digits"]
    return dataclasses.replace(spec, epochs=DEMO_SAMPLES["epochs"], config={**spec.config, **DEMO_HARDWARE})


@dataclasses.dataclass
class Phase:
    """One phase of the demo: wall seconds from ``start`` to ``end`` (seconds after the demo
    began) and the CPU seconds it used (all its processes)."""

    name: str
    start: float
    end: float
    cpu: float

    @property
    def wall(self) -> float:
        return self.end - self.start


def format_phases(phases: list[Phase], total_wall: float, load: tuple[float, float]) -> str:
    """The phases as a plain-text table, with the total and the load average seen."""
    rows = [f"{'phase':<34}{'wall s':>8}{'CPU s':>8}{'from':>8}{'to':>8}"]
    rows += [f"{p.name:<34}{p.wall:>8.1f}{p.cpu:>8.1f}{p.start:>8.1f}{p.end:>8.1f}" for p in phases]
    cpu = sum(p.cpu for p in phases)
    rows.append(f"{'total':<34}{total_wall:>8.1f}{cpu:>8.1f}")
    rows.append(
        f"{total_wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU on {os.cpu_count()} cores; "
        f"load average (1 min) {load[0]:.2f} at the start, {load[1]:.2f} at the end"
    )
    return "\n".join(rows)


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# -- the processes beside the chip: golden float and fixed, the synthesis ---------------------


def _golden_child(out: Any, task: Task, spec: TaskSpec, cfg_dict: dict, rule: str, epochs: int) -> None:
    """Golden float then fixed point (``plasticore.compare``'s ways) of the config ``cfg_dict``
    (``Config.to_dict``: a Config's cached properties do not pickle); sends each way, its CPU
    seconds and its progress (one message per sample) to ``out``."""
    from plasticore.compare import golden_way
    from plasticore.golden.config import Config

    cfg = Config.from_dict(cfg_dict)

    def progress(it, desc, total):
        out.put(("bar", desc, total))
        for x in it:
            yield x
            out.put(("step", desc))
        out.put(("end", desc))

    try:
        cpu = 0.0  # the first way's CPU seconds include the process's start
        for name in _GOLDEN:
            way = golden_way(name, task, spec, cfg, rule, epochs, progress)
            out.put(("way", name, way, _cpu_self() - cpu))
            cpu = _cpu_self()
    except BaseException:
        out.put(("error", "golden", traceback.format_exc()))


def _synth_child(out: Any, board_name: str, cfg_dict: dict, folder: Path, log: Path) -> None:
    """The synthesis of the config ``cfg_dict`` for the board, its report written into ``folder``
    (synth-<board>.md and .json); yosys's and nextpnr's output go to ``log``. Sends the report
    and the CPU seconds."""
    from plasticore.golden.config import Config

    cfg = Config.from_dict(cfg_dict)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
    try:
        out.put(("synth", _synth(board_name, cfg, folder), _cpu_self() + _cpu_children()))
    except BaseException:
        out.put(("error", "synthesis", traceback.format_exc()))


def _synth(board_name: str, cfg: Config, folder: Path) -> dict:
    from plasticore.boards.platforms import board as board_by_name
    from plasticore.boards.synth import synthesize

    from .activity import DEFAULT_RATE, cycles_at_activity
    from .synth_report import make_report, write_markdown

    board = board_by_name(board_name)
    out = Path("build") / "synth" / f"{board.name}-{cfg.name}"
    result = synthesize(cfg, board, out)
    report = make_report(cfg, board, result, cycles_at_activity(cfg, DEFAULT_RATE))
    folder.mkdir(parents=True, exist_ok=True)
    write_markdown(report, folder / f"synth-{board.name}.md")
    (folder / f"synth-{board.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


#: how much nicer than the simulated chip (the critical path) the processes beside it run
BESIDE_NICENESS = 5


def _beside_the_chip(target, *args) -> None:
    """A process beside the chip: ``target(*args)`` at BESIDE_NICENESS, so that where they
    outnumber the cores the chip keeps one."""
    os.nice(BESIDE_NICENESS)
    target(*args)


class _Beside:
    """The spawned processes beside the chip and the thread that reads what they send: the
    golden ways, the synthesis report, and the golden runs' progress (shown as bars here, the
    one process that writes to the terminal)."""

    def __init__(self, t0: float):
        self.t0 = t0
        self.ctx = multiprocessing.get_context("spawn")
        self.out = self.ctx.Queue()
        self.results: dict[str, Any] = {}
        self.ends: dict[str, float] = {}
        self.starts: dict[str, float] = {}
        self.procs: dict[str, Any] = {}
        self.done = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def start(self, what: str, target, *args) -> None:
        self.starts[what] = time.perf_counter() - self.t0
        proc = self.ctx.Process(
            target=_beside_the_chip, args=(target, self.out, *args), name=f"plasticore-demo-{what}", daemon=True
        )
        proc.start()
        self.procs[what] = proc

    def _read(self) -> None:
        from tqdm import tqdm

        bars: dict[str, Any] = {}
        while True:
            msg = self.out.get()
            kind = msg[0]
            if kind == "stop":
                return
            if kind == "bar":
                bars[msg[1]] = progress_bar(f"{msg[1]} (beside the chip)", msg[2], unit="sample")(())
            elif kind == "step" and msg[1] in bars:
                bars[msg[1]].update(1)
            elif kind == "end" and msg[1] in bars:
                bars.pop(msg[1]).close()
            else:
                key = {"way": lambda m: m[1], "synth": lambda m: "synth", "error": lambda m: m[1]}[kind](msg)
                if kind == "way":
                    w = msg[2]
                    tqdm.write(
                        f"-- golden {msg[1]} done: {w.metric} {w.value:.3f} ({w.seconds:.0f} s, beside the chip)"
                    )
                with self.done:
                    self.ends[key] = time.perf_counter() - self.t0
                    self.results[key] = msg
                    self.done.notify_all()

    def wait(self, key: str, process: str) -> tuple:
        """The message ``key`` (a golden way or the synthesis); raises if its process failed."""
        with self.done:
            while key not in self.results and process not in self.results:
                proc = self.procs[process]
                if not proc.is_alive() and proc.exitcode not in (None, 0):
                    raise RuntimeError(f"the {process} process ended with exit code {proc.exitcode}")
                self.done.wait(timeout=5)
        msg = self.results.get(key) or self.results[process]
        if msg[0] == "error":
            raise RuntimeError(f"the {process} process failed:\n{msg[2]}")
        return msg

    def close(self) -> None:
        self.out.put(("stop",))
        self.reader.join(timeout=10)
        for proc in self.procs.values():
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()


# -- the comparison, with the golden ways beside the chip -------------------------------------


def _task_and_config(args: argparse.Namespace) -> tuple[Task, TaskSpec, str, Config]:
    """The demo's task (cut to ``--train-samples``/``--test-samples``), spec, rule and network:
    the config ``plasticore.compare.compare_task`` derives for it."""
    from plasticore.compare import DEFAULT_RULES, load_compare_task
    from plasticore.training.train import task_config

    name = DEMO_SAMPLES["task"]
    spec = demo_spec()
    n_train = args.train_samples or DEMO_SAMPLES["n_train"]
    n_test = args.test_samples or DEMO_SAMPLES["n_test"]
    task = load_compare_task(name, args.seed, spec, n_train, n_test)
    rule = DEFAULT_RULES[name]
    cfg = task_config(task.name, rule, task.n_in, spec=spec).replace(seed=args.seed)
    return task, spec, rule, cfg


def _chip(
    cfg: Config, task: Task, spec: TaskSpec, epochs: int, t0: float, phases: list[Phase]
) -> tuple[ChipTraining, float]:
    """The RTL's way: the simulated chip built (Verilator, cached) and trained through the host
    driver, here, with progress bars; its two phases appended to ``phases``."""
    from .chip_train import train_on_chip
    from .host import Host

    def progress(it, desc, total):
        return progress_bar(desc, total, unit="sample")(it)

    print(f"-- rtl: building the simulated chip ({cfg.describe()}; Verilator, cached after once)")
    start, cpu, ch = time.perf_counter(), time.thread_time(), _cpu_children()
    with Host.simulated(cfg) as chip:
        built, cpu_b, ch_b = time.perf_counter(), time.thread_time(), _cpu_children()
        phases.append(Phase("rtl: build the simulated chip", start - t0, built - t0, cpu_b - cpu + ch_b - ch))
        print(f"-- rtl: training through the host driver ({len(task.train)} samples x {epochs} epochs)")
        chip_run = train_on_chip(chip, task, spec, epochs, progress)
    end = time.perf_counter()
    cpu_run = time.thread_time() - cpu_b + _cpu_children() - ch_b
    phases.append(Phase("rtl: train + held-out runs", built - t0, end - t0, cpu_run))
    return chip_run, built - start


def _compare(
    args: argparse.Namespace, task: Task, spec: TaskSpec, rule: str, cfg: Config, beside: _Beside, t0: float
) -> tuple[Comparison, list[Phase]]:
    """Golden float and fixed point (in a process beside this one) and the RTL (here), then
    RTL == fixed checked as ``plasticore.compare.compare_task`` checks it."""

    from .compare import Comparison, rtl_fixed_equality, rtl_way

    epochs = args.epochs or DEMO_SAMPLES["epochs"]
    phases: list[Phase] = []
    print(f"-- golden float, then fixed point: {len(task.train)} samples x {epochs} epochs, in a process of their own")
    beside.start("golden", _golden_child, task, spec, cfg.to_dict(), rule, epochs)
    if args.sequential:
        beside.wait("fixed", "golden")
    chip_run, build_seconds = _chip(cfg, task, spec, epochs, t0, phases)
    rtl = rtl_way(chip_run)
    ways: dict[str, Way] = {}
    begin = beside.starts["golden"]
    for name in _GOLDEN:
        _, _, ways[name], cpu = beside.wait(name, "golden")
        phases.append(Phase(f"golden {name} (beside the chip)", begin, beside.ends[name], cpu))
        begin = beside.ends[name]
    ways["rtl"] = rtl
    equality = rtl_fixed_equality(cfg, ways["fixed"], rtl)
    cmp = Comparison(task, spec, cfg, rule, args.seed, epochs, ways, equality, chip_run.orders, build_seconds)
    return cmp, phases


# -- the report --------------------------------------------------------------------------------


def _synth_summary(report: dict) -> str:
    def used(k):
        u, a = report[k]
        return f"{u:,}/{a:,}"

    fmax = "-" if report["fmax_mhz"] is None else f"{report['fmax_mhz']:.1f} MHz"
    verdict = "fits" if report["fits"] else "does NOT fit"
    timing = "" if report.get("timing_met", True) else f" (timing NOT met at the PLL's {report['clock_mhz']:.1f} MHz)"
    tps = report["ticks_per_s_learn"]
    return (
        f"{report['board']} ({report['config']}): {verdict}; LUT {used('luts')}, FF {used('ffs')}, "
        f"BRAM {used('bram')}, DSP {used('dsp')}; Fmax {fmax}{timing}"
        + (f"; {tps:,.0f} ticks/s learning" if tps else "")
    )


def board_speed(report: dict, cycles_per_learning_tick: float | None = None) -> str:
    """Which board runs the synthesized network at how many learning ticks per second: at the
    clock it runs at (the PLL's, or nextpnr's Fmax where timing is not met at it), from the
    cycle model at the report's input activity and, given ``cycles_per_learning_tick`` (the
    RTL's measured mean on the demo's task), from that."""
    from plasticore.boards.platforms import BOARDS

    board = BOARDS[report["board"]].description
    if not report["fits"] or report["ticks_per_s_learn"] is None:
        return f"{board} does NOT hold `{report['config']}` (see its synthesis report)"
    met = report["timing_met"] or report["fmax_mhz"] is None
    mhz = report["clock_mhz"] if met else report["fmax_mhz"]
    clock = (
        f"its {mhz:.1f} MHz clock"
        if met
        else f"nextpnr's Fmax {mhz:.1f} MHz (timing not met at {report['clock_mhz']:.0f})"
    )
    text = (
        f"{board} runs `{report['config']}` at {report['ticks_per_s_learn']:,.0f} learning ticks/s at {clock} "
        f"({report['cycles_per_tick_learn']:,.0f} cycles per learning tick by the cycle model at input activity "
        f"{report['rate']:g}"
    )
    if cycles_per_learning_tick:
        text += (
            f"; {mhz * 1e6 / cycles_per_learning_tick:,.0f} ticks/s at the {cycles_per_learning_tick:,.0f} cycles "
            "per learning tick the RTL took on the digits"
        )
    return text + ")"


def synth_target(board: str, synth_config: str | None, trained: Config) -> Config:
    """What the demo synthesizes for ``board``: ``synth_config`` if given, else the board's
    SYNTH_CONFIGS entry (``ice40`` on the iCEBreaker, which cannot hold the demo's network),
    else the network the demo trains."""
    from plasticore.golden import load_config

    name = synth_config or SYNTH_CONFIGS.get(board)
    return load_config(name) if name else trained


def demo(args: argparse.Namespace) -> int:
    from .compare import format_table
    from .compare_report import write_report

    t0 = time.perf_counter()
    load_start = os.getloadavg()[0]
    folder = Path(args.report)
    folder.mkdir(parents=True, exist_ok=True)
    board = args.board
    print("== plasticore demo: on-chip learning in simulation, compared with golden; a board synthesis")
    task, spec, rule, cfg = _task_and_config(args)
    synth_cfg = synth_target(board, args.synth_config, cfg)
    phases = [Phase("setup (task, config)", 0.0, time.perf_counter() - t0, time.thread_time())]
    beside = _Beside(t0)
    try:
        synth_log = Path("build") / "synth" / f"{board}-{synth_cfg.name}.log"
        if not args.no_synth and not args.sequential:
            print(
                f"-- synthesis: {synth_cfg.describe()} for {board} (yosys + nextpnr) beside the chip; log: {synth_log}"
            )
            beside.start("synthesis", _synth_child, board, synth_cfg.to_dict(), folder, synth_log)
        cmp, compared = _compare(args, task, spec, rule, cfg, beside, t0)
        phases += compared
        print(format_table(cmp))
        start, cpu = time.perf_counter(), time.thread_time()
        command = _command(args)
        result = cmp.as_json(str(folder))
        md = write_report(cmp, folder, command, result)
        phases.append(Phase("report (plots, JSON)", start - t0, time.perf_counter() - t0, time.thread_time() - cpu))
        report = None
        if not args.no_synth:
            if args.sequential:
                print(f"-- synthesis: {synth_cfg.describe()} for {board} (yosys + nextpnr); log: {synth_log}")
                beside.start("synthesis", _synth_child, board, synth_cfg.to_dict(), folder, synth_log)
            elif "synthesis" not in beside.results:
                print("-- waiting for the synthesis")
            _, report, synth_cpu = beside.wait("synth", "synthesis")
            phases.append(Phase(f"synthesis ({board})", beside.starts["synthesis"], beside.ends["synth"], synth_cpu))
            print(_synth_summary(report))
    finally:
        beside.close()
    total = time.perf_counter() - t0
    phases.sort(key=lambda p: p.start)
    table = format_phases(phases, total, (load_start, os.getloadavg()[0]))
    print(table)
    cycles = cmp.ways["rtl"].cycles_per_tick or {}
    speed = (
        None if report is None else board_speed(report, cycles.get("learn") if report["config"] == cfg.name else None)
    )
    result["phases"] = [dict(dataclasses.asdict(p), wall=p.wall) for p in phases]
    result["wall_seconds"] = total
    result["synth"] = report
    result["board_speed"] = speed
    (folder / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    with md.open("a") as f:
        if report is not None:
            f.write(
                f"\n## Synthesis for {report['board']}\n\n{_synth_summary(report)}.\n\n**{speed}.**\n\n"
                f"Full report: [synth-{report['board']}.md](synth-{report['board']}.md).\n"
            )
        f.write(
            "\n## Time of each phase\n\nThe golden runs and the synthesis run in processes of their own beside the "
            "simulated chip"
            + (" (here one after the other: `--sequential`)" if args.sequential else "")
            + "; CPU seconds count every process of a phase.\n\n```\n"
            + table
            + "\n```\n"
        )
    if speed:
        print(f"board: {speed}")
    ok = cmp.rtl_equals_fixed
    print(f"== demo {'done' if ok else 'FAILED: RTL and golden fixed point differ'} in {total / 60:.1f} min")
    print(f"report: {md}")
    return 0 if ok else 1


def _command(args: argparse.Namespace) -> str:
    flags = (
        ("board", None if args.board == DEFAULT_BOARD else args.board),
        ("synth-config", args.synth_config),
        ("train-samples", args.train_samples),
        ("test-samples", args.test_samples),
        ("epochs", args.epochs),
    )
    extra = "".join(f" --{flag} {value}" for flag, value in flags if value)
    extra += "".join(f" --{flag}" for flag in ("no-synth", "sequential") if getattr(args, flag.replace("-", "_")))
    return f"plasticore demo --seed {args.seed}{extra}"
