"""``plasticore synth``: bitstream, resources, Fmax and ticks per second for a board."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_config_option


def register(sub) -> None:
    from plasticore.boards.platforms import BOARDS

    p = sub.add_parser("synth", help="synthesize for a board (yosys + nextpnr from YoWASP) and report")
    p.add_argument("--board", required=True, choices=sorted(BOARDS), help="target board")
    add_config_option(p)
    p.add_argument("--clock-mhz", type=float, default=None, help="core clock to ask the PLL for (default: the board's)")
    p.add_argument(
        "--rate", type=float, default=None, help="input activity for the ticks-per-second figures (default: 0.05)"
    )
    p.add_argument("--out", metavar="DIR", default=None, help="build folder (default: build/synth/<board>-<config>)")
    p.add_argument(
        "--seed", type=int, default=None, help="nextpnr's placement seed (try another when routing does not converge)"
    )
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plasticore.activity import DEFAULT_RATE, cycles_at_activity
    from plasticore.boards.platforms import board as board_by_name
    from plasticore.boards.synth import default_build_dir, synthesize
    from plasticore.golden import load_config
    from plasticore.synth_report import make_report, write_markdown

    cfg = load_config(args.config)
    board = board_by_name(args.board)
    out = Path(args.out) if args.out else default_build_dir(board, cfg.name)
    print(f"synthesizing {cfg.describe()} for {board.description} in {out} (yosys + nextpnr, a few minutes) ...")
    result = synthesize(cfg, board, out, None if args.clock_mhz is None else args.clock_mhz * 1e6, seed=args.seed)
    activity = cycles_at_activity(cfg, DEFAULT_RATE if args.rate is None else args.rate)
    report = make_report(cfg, board, result, activity)
    md = write_markdown(report, out / "report.md")
    print(md.read_text())
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"report: {md}")
    return 0 if report["fits"] else 1
