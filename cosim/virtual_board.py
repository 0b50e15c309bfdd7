"""The virtual board: ``plasticore.hdl.serial_system.SerialSystem`` on Verilator behind a pseudo-terminal.

The bench (``cosim/tb_board.py``) opens the pseudo-terminal in the simulator process and
bridges it to the design's serial pins bit by bit, at the UART's divisor: a serial transport
(``plasticore.host.SerialTransport``, pyserial) on the terminal's port drives the RTL's UART
with the bytes a USB-UART would carry to a board. :class:`VirtualBoard` builds the model
(cached, ``plasticore.cosim.runner.build_model``), starts the simulator and learns the port
from it; ``plasticore serve-sim`` serves it until interrupted.

Simulated time stands still while the board is idle and nothing comes from the port (a real
board idles in real time; nothing in the design can tell the difference), and runs as fast as
Verilator and the bench's per-bit work allow otherwise.

The control connection (a Unix socket, ``BenchProcess``) carries JSON lines: the bench sends
``{"port": ..., "pid": ...}`` once it serves, and ``{"stats": {...}}`` when it stops; this side
sends ``stop``. The bench also stops when the connection closes (this process died) and on
SIGINT or SIGTERM, so no simulator outlives its server.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from plasticore.contract.system_map import DEFAULT_MAX_PAYLOAD, DEFAULT_WINDOW
from plasticore.golden.config import Config

from .bench_process import BenchProcess
from .runner import BUILD, MAKE_VARIABLES, build_component, rtl_key

__all__ = ["BoardParams", "VirtualBoard", "build_board", "TOPLEVEL"]

TOPLEVEL = "plasticore_board"
_TOP_MODULE = "plasticore.hdl.serial_system"


@dataclass(frozen=True)
class BoardParams:
    """What a board fixes besides the config: the UART's divisor and the engine's parameters.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit of the UART.
    frame_timeout : int
        Register FRAME_TIMEOUT's initial value, in cycles.
    window : int
        Ticks of the run window.
    max_payload : int
        Largest payload of a frame.
    """

    divisor: int
    frame_timeout: int
    window: int = DEFAULT_WINDOW
    max_payload: int = DEFAULT_MAX_PAYLOAD

    def __post_init__(self):
        from plasticore.hdl.uart import MIN_DIVISOR

        if self.divisor < MIN_DIVISOR:
            raise ValueError(f"divisor: {self.divisor} is below the UART's minimum of {MIN_DIVISOR} cycles per bit")

    def key(self) -> str:
        return f"d{self.divisor}-t{self.frame_timeout}-w{self.window}-p{self.max_payload}"

    def serial_system(self, cfg: Config):
        from plasticore.hdl.serial_system import SerialSystem

        return SerialSystem(cfg, self.divisor, self.window, self.max_payload, self.frame_timeout)


def _build_dir(cfg: Config, params: BoardParams, sim: str) -> Path:
    key = f"{rtl_key(cfg, _TOP_MODULE)} {params.key()} ports-only {' '.join(MAKE_VARIABLES)}"
    return BUILD / sim / f"board-{cfg.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def build_board(cfg: Config, params: BoardParams, sim: str = "verilator"):
    """Generate the board's Verilog and build its simulator model (both cached)."""
    bdir = _build_dir(cfg, params, sim)
    # the bench drives and samples the pins only: a ports-only model runs ~10x faster
    return build_component(functools.partial(params.serial_system, cfg), TOPLEVEL, bdir, sim, ports_only=True)


class VirtualBoard:
    """A simulated board on a pseudo-terminal: build, start, tell the port, stop.

    Parameters
    ----------
    cfg : :class:`~plasticore.golden.config.Config`
        The core's configuration.
    params : BoardParams
        The board's UART and engine parameters.
    reset_on_connect : bool
        Reset the design whenever a client opens the port again (a fresh chip per session:
        its learning LFSRs start from the config's seed, as after a board's reset).
    sim : str
        The simulator.
    out_dir : :class:`~pathlib.Path`, optional
        Where the simulator's log goes.

    Attributes
    ----------
    port : str
        The pseudo-terminal's path (``/dev/pts/N``).
    pid : int
        The simulator's process id.
    stats : dict
        What the bench counted (bytes each way, simulated cycles, seconds), after :meth:`stop`.
    """

    def __init__(
        self,
        cfg: Config,
        params: BoardParams,
        reset_on_connect: bool = True,
        sim: str = "verilator",
        out_dir: Path | None = None,
    ):
        runner, bdir = build_board(cfg, params, sim)
        self.out_dir = Path(out_dir) if out_dir else BUILD / "runs" / f"board-{cfg.name}-{os.getpid()}"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.stats: dict = {}
        env = {
            "PLASTICORE_BOARD_DIVISOR": str(params.divisor),
            "PLASTICORE_BOARD_RESET_ON_CONNECT": "1" if reset_on_connect else "0",
        }
        self._bench = BenchProcess(
            runner, bdir, TOPLEVEL, "plasticore.cosim.tb_board", self.out_dir, "PLASTICORE_BOARD_CONTROL", env
        )
        self._lines = self._bench.conn.makefile("r")
        hello = self._message()
        if "port" not in hello:
            self._bench.close()
            raise RuntimeError(f"the virtual board did not start{self._bench.log_tail()}")
        self.port: str = hello["port"]
        self.pid: int = hello["pid"]

    @property
    def log(self) -> Path:
        return self.out_dir / "sim.log"

    def _message(self) -> dict:
        line = self._lines.readline()
        return json.loads(line) if line else {}

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the simulator to end (it does on a signal of its own); returns whether it did."""
        return self._bench.join(timeout)

    def stop(self) -> dict:
        """Stop the simulator and return its statistics."""
        try:
            self._bench.conn.sendall(b"stop\n")
        except OSError:
            pass  # it stopped already
        while msg := self._message():
            self.stats = msg.get("stats", self.stats)
        self._lines.close()
        self._bench.close()
        return self.stats

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
