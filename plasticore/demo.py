"""``plasticore demo``: the main job, what a new user runs first.

1. A task (8x8 digits, eRBP) trained three ways: golden float, golden fixed point, and
   on-chip on the RTL in simulation (Verilator with the native bench, driven by the host
   driver with the protocol bytes a board would receive); RTL and fixed point must end bit for
   bit equal. The network and rates are ``plasticore train --task digits``'s (64 in, 200 LIF,
   10 out, four lanes, 40 ticks per image, all 1,438 training images), 2 of its 5 epochs.
2. A synthesis for the iCEBreaker (yosys + nextpnr from YoWASP) with its resource and timing
   report: of the preset ``ice40`` (16 in, 32 LIF, 2 out, one lane, learning on), the shape
   the iCE40UP5K takes; the demo's digits network needs an ECP5 board (``--board ulx3s-85f``
   synthesizes it there).
3. One report folder (Markdown, PNG plots, JSON); the last line printed says where it is.

Exit code 0 only when RTL == fixed point (a synthesis that does not fit is reported, not an
error: the report says by how much).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .progress import progress_bar

if TYPE_CHECKING:
    from plasticore.training.train import TaskSpec

__all__ = ["demo", "demo_spec", "DEMO_SAMPLES", "SYNTH_CONFIGS"]

#: what the demo synthesizes per board when not told (otherwise: the demo's own network)
SYNTH_CONFIGS = {"icebreaker": "ice40"}

#: the demo's share of the digits task: every training and held-out image (None: the whole
#: split, 1,438 / 359), 2 epochs: ~10 minutes on the simulated chip (docs/results.md)
DEMO_SAMPLES: dict[str, Any] = dict(task="digits", n_train=None, n_test=None, epochs=2)


def demo_spec() -> TaskSpec:
    """The demo's network and schedule: the digits task's own (``TASK_SPECS["digits"]``: 200
    LIF, 40 ticks per image, constant rates 20 / 21), for the demo's epochs."""
    from plasticore.training.train import TASK_SPECS

    return dataclasses.replace(TASK_SPECS["digits"], epochs=DEMO_SAMPLES["epochs"])


def _compare(args: argparse.Namespace, folder: Path):
    from .compare import format_table
    from .compare_report import compare_and_report

    name = DEMO_SAMPLES["task"]
    n_train = args.train_samples or DEMO_SAMPLES["n_train"]
    n_test = args.test_samples or DEMO_SAMPLES["n_test"]
    epochs = args.epochs or DEMO_SAMPLES["epochs"]

    def progress(it, desc, total):
        return progress_bar(desc, total, unit="sample")(it)

    command = f"plasticore demo --seed {args.seed}" + "".join(
        f" --{flag} {value}"
        for flag, value in (
            ("train-samples", args.train_samples),
            ("test-samples", args.test_samples),
            ("epochs", args.epochs),
        )
        if value
    )
    cmp, md, _ = compare_and_report(
        name,
        args.seed,
        folder,
        command,
        epochs=epochs,
        n_train=n_train,
        n_test=n_test,
        progress=progress,
        spec=demo_spec(),
    )
    print(format_table(cmp))
    return cmp, md


def _synth(args: argparse.Namespace, cfg, folder: Path) -> dict:
    from plasticore.boards.platforms import board as board_by_name
    from plasticore.boards.synth import synthesize

    from .activity import DEFAULT_RATE, cycles_at_activity
    from .synth_report import make_report, write_markdown

    board = board_by_name(args.board)
    out = Path("build") / "synth" / f"{board.name}-{cfg.name}"
    print(f"-- synthesis: {cfg.describe()} for {board.description} (yosys + nextpnr, a few minutes)")
    result = synthesize(cfg, board, out)
    report = make_report(cfg, board, result, cycles_at_activity(cfg, DEFAULT_RATE))
    write_markdown(report, folder / f"synth-{board.name}.md")
    (folder / f"synth-{board.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _synth_summary(report: dict) -> str:
    def used(k):
        u, a = report[k]
        return f"{u:,}/{a:,}"

    fmax = "-" if report["fmax_mhz"] is None else f"{report['fmax_mhz']:.1f} MHz"
    verdict = "fits" if report["fits"] else "does NOT fit"
    tps = report["ticks_per_s_learn"]
    return (
        f"{report['board']} ({report['config']}): {verdict}; LUT {used('luts')}, FF {used('ffs')}, "
        f"BRAM {used('bram')}, DSP {used('dsp')}; Fmax {fmax}" + (f"; {tps:,.0f} ticks/s learning" if tps else "")
    )


def demo(args: argparse.Namespace) -> int:
    from plasticore.golden import load_config

    start = time.perf_counter()
    folder = Path(args.report)
    print("== plasticore demo: on-chip learning in simulation, compared with golden; a board synthesis")
    cmp, md = _compare(args, folder)
    synth_name = args.synth_config or SYNTH_CONFIGS.get(args.board)
    synth_cfg = load_config(synth_name) if synth_name else cmp.cfg
    report = None
    if not args.no_synth:
        report = _synth(args, synth_cfg, folder)
        print(_synth_summary(report))
        with md.open("a") as f:
            f.write(
                f"\n## Synthesis for {report['board']}\n\n{_synth_summary(report)}.\n"
                f"Full report: [synth-{report['board']}.md](synth-{report['board']}.md).\n"
            )
    minutes = (time.perf_counter() - start) / 60
    ok = cmp.rtl_equals_fixed
    print(f"== demo {'done' if ok else 'FAILED: RTL and golden fixed point differ'} in {minutes:.1f} min")
    print(f"report: {md}")
    return 0 if ok else 1
