"""``plasticore run``: a network in the golden model, summarized."""

import argparse
import json
from pathlib import Path

from plasticore.golden import load_config
from plasticore.summary import format_summary, run_summary

from .common import add_config_option


def register(sub) -> None:
    p = sub.add_parser("run", help="run a network in the golden model and print a spike summary")
    add_config_option(p)
    p.add_argument("--ticks", type=int, default=100, help="number of ticks (default: 100)")
    p.add_argument(
        "--rate", type=float, default=0.05, help="input spike probability per input per tick (default: 0.05)"
    )
    p.add_argument(
        "--numerics",
        choices=("fixed", "float"),
        default="fixed",
        help="fixed-point hardware contract or the float64 twin (default: fixed)",
    )
    p.add_argument("--batch", type=int, default=1, help="independent copies run together (default: 1)")
    p.add_argument("--seed", type=int, default=None, help="override the config seed (weights, inputs)")
    p.add_argument("--json", metavar="PATH", help="also write the summary as JSON")
    p.add_argument("--no-raster", action="store_true", help="do not print the spike raster")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if args.seed is not None:
        cfg = cfg.replace(seed=args.seed)
    summary = run_summary(
        cfg, ticks=args.ticks, rate=args.rate, numerics=args.numerics, batch=args.batch, progress=not args.quiet
    )
    print(format_summary(summary, raster=not args.no_raster))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0
