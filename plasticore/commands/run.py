"""``plasticore run``: a network in the golden model, summarized.

``--port`` also runs it on the chip at a serial port (a board, or ``plasticore serve-sim``'s
virtual board) and checks every tick's spikes and readout against golden fixed point; the exit
code is 1 if they differ.
"""

import argparse
import json
from pathlib import Path

from plasticore.golden import load_config
from plasticore.summary import format_summary, run_on_chip, run_summary

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
    p.add_argument(
        "--port",
        metavar="DEV",
        default=None,
        help="also run it on the chip at this serial port (a board's USB-UART, or the port "
        "`plasticore serve-sim` prints) and check it against golden fixed point",
    )
    p.add_argument("--baud", type=int, default=None, help="the port's baud rate (default: the boards' 1,000,000)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds a reply from the chip may take (default: 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if args.seed is not None:
        cfg = cfg.replace(seed=args.seed)
    if args.port and (args.numerics != "fixed" or args.batch != 1):
        raise ValueError("--port: the chip runs fixed point, batch 1 (drop --numerics float and --batch)")
    summary = run_summary(
        cfg, ticks=args.ticks, rate=args.rate, numerics=args.numerics, batch=args.batch, progress=not args.quiet
    )
    if args.port:
        from plasticore.contract.serial_line import BAUD

        summary["chip"] = run_on_chip(
            cfg, args.port, args.ticks, args.rate, args.baud or BAUD, args.timeout, progress=not args.quiet
        )
    print(format_summary(summary, raster=not args.no_raster))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    chip = summary.get("chip")
    return 1 if chip and not (chip["spikes_equal"] and chip["readout_equal"]) else 0
