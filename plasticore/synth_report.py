"""The synthesis report: one dict (the JSON contract of ``plasticore synth --json``) and its
Markdown rendering."""

from __future__ import annotations

from pathlib import Path

from plasticore.boards.platforms import Board
from plasticore.boards.synth import SynthResult
from plasticore.golden.config import Config

from .activity import ActivityCycles

__all__ = ["make_report", "write_markdown"]


def make_report(cfg: Config, board: Board, result: SynthResult, activity: ActivityCycles) -> dict:
    """Keys: board, config, fits, luts, ffs, bram, spram, dsp ([used, available]), fmax_mhz,
    clock_mhz, cycles_per_tick_infer, cycles_per_tick_learn, ticks_per_s_infer,
    ticks_per_s_learn, bitstream (plus timing_met, rate, seconds, error, seed)."""
    # ticks per second at the clock the design really runs at: the PLL's, unless timing failed
    run_mhz = result.clock_mhz if result.timing_met or result.fmax_mhz is None else result.fmax_mhz
    fits = result.fits
    report = {
        "board": board.name,
        "config": cfg.name,
        "fits": fits,
        **{k: result.resources.get(k, [0, 0]) for k in ("luts", "ffs", "bram", "spram", "dsp")},
        "fmax_mhz": result.fmax_mhz,
        "clock_mhz": result.clock_mhz,
        "timing_met": result.timing_met,
        "rate": activity.rate,
        "cycles_per_tick_infer": activity.infer_mean,
        "cycles_per_tick_learn": activity.learn_mean,
        "ticks_per_s_infer": run_mhz * 1e6 / activity.infer_mean if fits else None,
        "ticks_per_s_learn": run_mhz * 1e6 / activity.learn_mean if fits else None,
        "bitstream": result.bitstream,
        "seconds": result.seconds,
        "error": result.log,
        "seed": result.seed,
    }
    return report


def write_markdown(report: dict, path: Path) -> Path:
    def used(k):
        u, a = report[k]
        return f"{u} / {a}" + (f" ({100 * u / a:.0f} %)" if a else "")

    tps = lambda v: "-" if v is None else f"{v:,.0f}"  # noqa: E731
    fmax = "-" if report["fmax_mhz"] is None else f"{report['fmax_mhz']:.1f}"
    lines = [
        f"# plasticore on {report['board']}: config `{report['config']}`",
        "",
        f"**{'fits' if report['fits'] else 'does NOT fit'}**"
        + (
            ""
            if report["timing_met"] or report["fmax_mhz"] is None
            else f"; timing NOT met at {report['clock_mhz']:.1f} MHz"
        ),
        "",
        "| resource | used / available |",
        "|---|---|",
        *(f"| {k} | {used(k)} |" for k in ("luts", "ffs", "bram", "spram", "dsp")),
        "",
        "| clock | MHz |",
        "|---|---|",
        f"| PLL output (constraint) | {report['clock_mhz']:.2f} |",
        f"| Fmax (nextpnr) | {fmax} |",
        "",
        *([f"nextpnr placement seed {report['seed']}.", ""] if report.get("seed") is not None else []),
        f"At input activity {report['rate']:g} (spikes per input per tick), from the RTL cycle model:",
        "",
        "| | cycles/tick | ticks/s |",
        "|---|---|---|",
        f"| inference | {report['cycles_per_tick_infer']:.0f} | {tps(report['ticks_per_s_infer'])} |",
        f"| learning on every tick | {report['cycles_per_tick_learn']:.0f} | {tps(report['ticks_per_s_learn'])} |",
        "",
        f"Bitstream: `{report['bitstream']}`" if report["bitstream"] else f"No bitstream: {report['error']}",
        f"Synthesis, place and route: {report['seconds']:.0f} s.",
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
