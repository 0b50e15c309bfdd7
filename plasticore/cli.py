"""The ``plasticore`` command line.

Each subcommand lives in a small function that parses nothing itself: ``main`` builds the
parser, the function receives the parsed namespace and returns an exit code. Errors a user can
cause (a bad config value, a bad rate) are reported as one line on stderr with exit code 2,
never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from golden import ConfigError, load_config

from .summary import run_summary, format_summary

__all__ = ["main"]


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="small",
                   help="a preset (small, reckon) or a JSON file of config fields (default: small)")


def cmd_run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if args.seed is not None:
        cfg = cfg.replace(seed=args.seed)
    summary = run_summary(cfg, ticks=args.ticks, rate=args.rate, numerics=args.numerics,
                          batch=args.batch, progress=not args.quiet)
    print(format_summary(summary, raster=not args.no_raster))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import demo
    return demo(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plasticore",
        description="plasticore: an open FPGA neuromorphic core with on-chip learning "
                    "(golden model, RTL, co-simulation, synthesis).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("run", help="run a network in the golden model and print a spike summary")
    _add_config(p)
    p.add_argument("--ticks", type=int, default=100, help="number of ticks (default: 100)")
    p.add_argument("--rate", type=float, default=0.05,
                   help="input spike probability per input per tick (default: 0.05)")
    p.add_argument("--numerics", choices=("fixed", "float"), default="fixed",
                   help="fixed-point hardware contract or the float64 twin (default: fixed)")
    p.add_argument("--batch", type=int, default=1, help="independent copies run together (default: 1)")
    p.add_argument("--seed", type=int, default=None, help="override the config seed (weights, inputs)")
    p.add_argument("--json", metavar="PATH", help="also write the summary as JSON")
    p.add_argument("--no-raster", action="store_true", help="do not print the spike raster")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="the main job: build, run and compare a small network")
    _add_config(p)
    p.add_argument("--ticks", type=int, default=500, help="ticks to run (default: 500)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, ValueError) as exc:
        print(f"plasticore {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
