"""``plasticore serve-sim``: a virtual board on a pseudo-terminal, until interrupted.

The board's whole design but its PLL and LEDs (``SerialSystem``: the UART and the core
behind its protocol engine) runs on Verilator; the port it prints takes the serial
transport's bytes as a board's USB-UART would (README, "Virtual board").
"""

from __future__ import annotations

import argparse
import signal
import sys

from .common import add_config_option


def register(sub) -> None:
    from plasticore.boards.platforms import BOARDS

    p = sub.add_parser(
        "serve-sim", help="serve a simulated board (RTL with its UART, on Verilator) on a pseudo-terminal"
    )
    add_config_option(p)
    p.add_argument(
        "--board",
        default="icebreaker",
        choices=sorted(BOARDS),
        help="the board whose design is simulated: its core clock sets the UART divisor and the "
        "frame timeout, its window the run window (default: icebreaker)",
    )
    p.add_argument(
        "--baud-divisor",
        type=int,
        default=None,
        metavar="N",
        help="clock cycles per UART bit (default: the board's, for its 1,000,000 baud); a small "
        "one simulates fewer cycles per byte",
    )
    p.add_argument(
        "--keep-state-between-sessions",
        action="store_true",
        help="do not reset the design when a client opens the port again (default: every session "
        "but the first starts with a reset, as a fresh board)",
    )
    p.set_defaults(func=run)


def board_params(cfg, board, divisor: int | None = None):
    """The virtual board's parameters for ``board``'s design of ``cfg``: the board top's UART
    divisor (or ``divisor``), frame timeout and window."""
    from plasticore.boards.top import BAUD, BoardTop
    from plasticore.cosim.virtual_board import BoardParams
    from plasticore.hdl.uart import MIN_DIVISOR, divisor_for, frame_timeout_cycles

    clock_hz = BoardTop(cfg, board).clock_hz
    if divisor is None:
        divisor = divisor_for(clock_hz, BAUD)
    elif divisor < MIN_DIVISOR:
        raise ValueError(f"--baud-divisor: {divisor} is below the UART's minimum of {MIN_DIVISOR} cycles per bit")
    # the frame timeout as the board top sets it, for the baud rate this divisor makes
    frame_timeout = frame_timeout_cycles(clock_hz, round(clock_hz / divisor))
    return BoardParams(divisor, frame_timeout, window=board.window), clock_hz


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from plasticore.boards.platforms import board as board_by_name
    from plasticore.cosim.virtual_board import VirtualBoard
    from plasticore.golden import load_config

    cfg = load_config(args.config)
    board = board_by_name(args.board)
    params, clock_hz = board_params(cfg, board, args.baud_divisor)
    baud = clock_hz / params.divisor
    print(
        f"virtual board: {cfg.describe()}\n  {board.description}'s design at {clock_hz / 1e6:g} MHz: UART divisor "
        f"{params.divisor} ({baud:,.0f} baud on a board), window {params.window} ticks\n"
        "  building the model (Verilator, cached after once) ...",
        flush=True,
    )
    # also when started in the background, where SIGINT comes ignored
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    board_sim = VirtualBoard(cfg, params, reset_on_connect=not args.keep_state_between_sessions)
    try:
        print(f"port: {board_sim.port}", flush=True)
        print(
            f"  simulator pid {board_sim.pid}, log {board_sim.log}\n"
            f"  e.g. `plasticore run --config {args.config} --port {board_sim.port}`; Ctrl-C stops",
            flush=True,
        )
        while not board_sim.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        # a second Ctrl-C must not cut the shutdown short (the simulator stops on the first)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stats = board_sim.stop()
    if stats:
        busy = stats["busy_seconds"]
        rate = f", {(stats['bytes_in'] + stats['bytes_out']) / busy:,.0f} bytes/s while busy" if busy > 0 else ""
        print(
            f"stopped: {stats['sessions']} session(s), {stats['bytes_in']:,} bytes in, {stats['bytes_out']:,} "
            f"out, {stats['cycles']:,} cycles simulated in {stats['seconds']:.1f} s{rate}",
            file=sys.stdout,
            flush=True,
        )
    return 0
