"""The ``plasticore`` command line.

Subcommands live in ``plasticore/commands/`` (one module each). Errors a user can cause (a bad
config value, a bad rate) are reported as one line on stderr with exit code 2, never as a
traceback.
"""

from __future__ import annotations

import argparse
import sys

from plasticore.golden import ConfigError

from .commands import register_all

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plasticore",
        description="plasticore: an open FPGA neuromorphic core with on-chip learning "
        "(golden model, RTL, co-simulation, synthesis).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register_all(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, ValueError) as exc:
        print(f"plasticore {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
