"""The simulated transport: the host protocol's bytes into ``plasticore.hdl.system.System`` on Verilator.

:class:`SimulatedTransport` behaves like a serial port to a board (``write``, ``read``,
``gap``), so the host driver (``plasticore.host``) runs unchanged on it. Behind it, the
System's Verilog runs in a simulator process; the two talk over a Unix socket. Only the UART
is bypassed (its own block test covers it). Two benches answer the same operations with the
same bytes and cycle counts (``tests/test_native_bench.py``):

* ``native`` (the default on Verilator): ``cosim/native_system.cpp`` compiled with the model,
  the cycle loop in C++ (``plasticore.cosim.native_bench``), for chip-in-the-loop speed;
* ``cocotb``: ``cosim/tb_system.py`` under cocotb, started from a background thread; any
  simulator cocotb runs, and waveforms.

Simulated time stands still while the host thinks: it advances only while the bench feeds
bytes (``write``), waits for a reply (``read``: until the bytes asked for came out or the
engine is idle again) or leaves the line idle (``gap``). So a frame written in one call
reaches the engine back to back, and a truncated frame times out only when the host waits.

Built models are cached like the core's (``plasticore.cosim.runner``): the key hashes the config, the
files of ``RTL_ROOMS`` that ``plasticore.hdl.system`` imports, and the System's parameters.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from plasticore.contract.system_map import DEFAULT_MAX_PAYLOAD, DEFAULT_WINDOW, SystemMap
from plasticore.golden.config import Config

from .bench_process import BenchProcess
from .byte_link import ANSWER, OP_ADVANCE, OP_READ, OP_STOP, OP_WRITE, REQUEST
from .native_bench import NativeBench, build_native, native_key
from .runner import BUILD, MAKE_VARIABLES, ROOT, RTL_ROOMS, build_component

__all__ = [
    "SimulatedTransport",
    "SystemParams",
    "build_system",
    "build_native_system",
    "BENCHES",
    "TOPLEVEL",
    "TEST_PARAMS",
]

TOPLEVEL = "plasticore_system"
#: the benches behind the transport: "native" (cosim/native_system.cpp, the System free-running
#: in C++; Verilator only, no waves) and "cocotb" (cosim/tb_system.py; any simulator, waves)
BENCHES = ("native", "cocotb")
#: default cycle limit of one read: far above any run the engine's watchdog allows
DEFAULT_READ_CYCLES = 200_000_000


class SystemParams:
    """The parameters of ``plasticore.hdl.system.System`` besides the config."""

    def __init__(
        self,
        window: int = DEFAULT_WINDOW,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        frame_timeout: int | None = None,
        watchdog: int | None = None,
    ):
        from plasticore.hdl.system import DEFAULT_FRAME_TIMEOUT

        self.window = window
        self.max_payload = max_payload
        self.frame_timeout = DEFAULT_FRAME_TIMEOUT if frame_timeout is None else frame_timeout
        self.watchdog = watchdog

    def key(self) -> str:
        return f"w{self.window}-p{self.max_payload}-t{self.frame_timeout}-d{self.watchdog}"

    def system(self, cfg: Config):
        from plasticore.hdl.system import System

        return System(cfg, self.window, self.max_payload, self.frame_timeout, self.watchdog)


_CLOSURE = """
import sys, plasticore.hdl.system
from pathlib import Path
ours = [Path(p).resolve() for p in sys.argv[1:]]
for m in list(sys.modules.values()):
    f = getattr(m, "__file__", None)
    if f and any(Path(f).resolve().is_relative_to(d) for d in ours):
        print(Path(f).resolve())
"""


@functools.cache
def _system_sources() -> tuple[Path, ...]:
    """The files of ``RTL_ROOMS`` that ``plasticore.hdl.system`` imports, found in a fresh interpreter:
    in this process sys.modules also holds whatever the caller imported (plasticore.cosim.runner.rtl_key
    looks there), which would make the key depend on the caller."""
    out = subprocess.run(
        [sys.executable, "-c", _CLOSURE, *(str(ROOT / room) for room in RTL_ROOMS)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])},
    )
    return tuple(sorted(Path(line) for line in out.stdout.split()))


def _build_dir(cfg: Config, params: SystemParams, sim: str, waves: bool) -> Path:
    h = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode())
    for path in _system_sources():
        h.update(path.read_bytes())
    h.update((params.key() + " ports-only " + " ".join(MAKE_VARIABLES)).encode())
    return BUILD / sim / f"system-{cfg.name}-{h.hexdigest()[:16]}{'-waves' if waves else ''}"


def build_system(cfg: Config, params: SystemParams, sim: str = "verilator", waves: bool = False):
    """Generate the System's Verilog (once per key) and build the simulator model (cached)."""
    bdir = _build_dir(cfg, params, sim, waves)
    # the bench (cosim/tb_system.py) reaches only the System's ports: a ports-only model
    return build_component(functools.partial(params.system, cfg), TOPLEVEL, bdir, sim, waves, ports_only=True)


def build_native_system(cfg: Config, params: SystemParams) -> Path:
    """The System with the native bench (``plasticore.cosim.native_bench``), built once per key."""
    h = hashlib.sha256(_build_dir(cfg, params, "verilator", False).name.encode() + native_key().encode())
    bdir = BUILD / "native" / f"system-{cfg.name}-{h.hexdigest()[:16]}"

    def verilog() -> str:
        from amaranth.back import verilog

        return verilog.convert(params.system(cfg), name=TOPLEVEL, emit_src=False)

    return build_native(verilog, TOPLEVEL, bdir)


class SimulatedTransport:
    """A simulated board: write request bytes, read reply bytes (see the module docstring).

    Use as a context manager, or call :meth:`close`. ``stats`` counts bytes, simulated cycles
    and wall time. ``bench``: one of :data:`BENCHES`; by default ``"native"`` on Verilator
    without waves, else ``"cocotb"``.
    """

    def __init__(
        self,
        cfg: Config,
        params: SystemParams | None = None,
        sim: str = "verilator",
        waves: bool = False,
        out_dir: Path | None = None,
        start_timeout: float = 600.0,
        bench: str | None = None,
    ):
        self.cfg = cfg
        self.params = params or SystemParams()
        self.map = SystemMap(cfg, self.params.window, self.params.max_payload)
        self.out_dir = Path(out_dir) if out_dir else BUILD / "runs" / f"system-{cfg.name}-{os.getpid()}"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._rx = bytearray()
        self._conn: socket.socket | None = None
        self.cycles = 0
        self.idle = True
        self.stats = {"bytes_written": 0, "bytes_read": 0, "operations": 0, "seconds_in_sim": 0.0}
        self.build_seconds = 0.0

        self.bench = bench or ("native" if sim == "verilator" and not waves else "cocotb")
        if self.bench not in BENCHES:
            raise ValueError(f"bench: {self.bench!r} is not one of {', '.join(BENCHES)}")
        if self.bench == "native" and (sim != "verilator" or waves):
            raise ValueError(f"bench: 'native' runs on Verilator without waves (sim {sim!r}, waves {waves})")
        start = time.perf_counter()
        if self.bench == "native":
            exe = build_native_system(cfg, self.params)
            self.build_seconds = time.perf_counter() - start
            self._bench = NativeBench(exe, self.out_dir)
            self._conn = self._bench.conn
            self.start_seconds = time.perf_counter() - start
            return
        runner, bdir = build_system(cfg, self.params, sim, waves)
        self.build_seconds = time.perf_counter() - start
        self._bench = BenchProcess(
            runner,
            bdir,
            TOPLEVEL,
            "plasticore.cosim.tb_system",
            self.out_dir,
            "PLASTICORE_SYSTEM_SOCKET",
            waves=waves,
            start_timeout=start_timeout,
        )
        self._conn = self._bench.conn
        self.start_seconds = time.perf_counter() - start

    # -- the bench protocol ------------------------------------------------------------------
    def _op(self, op: int, n: int = 0, cycles: int = 0, data: bytes = b"") -> bool:
        if self._conn is None:
            raise RuntimeError("the simulated transport is closed")
        start = time.perf_counter()
        try:
            self._conn.sendall(REQUEST.pack(op, n, cycles, len(data)) + data)
            head = self._recv(ANSWER.size)
            limit, idle, self.cycles, size = ANSWER.unpack(head)
            out = self._recv(size) if size else b""
        except (OSError, EOFError) as exc:
            raise RuntimeError(f"the simulator stopped: {exc}{self._bench.log_tail()}") from None
        self.idle = bool(idle)
        self._rx += out
        self.stats["bytes_read"] += len(out)
        self.stats["operations"] += 1
        self.stats["seconds_in_sim"] += time.perf_counter() - start
        return bool(limit)

    def _recv(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self._conn.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return bytes(buf)

    def _take(self, n: int) -> bytes:
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    # -- the transport interface (as plasticore.host.SerialTransport) ----------------------
    def write(self, data: bytes) -> None:
        self.stats["bytes_written"] += len(data)
        self._op(OP_WRITE, data=bytes(data))

    def read(self, n: int, max_cycles: int = DEFAULT_READ_CYCLES) -> bytes:
        """Up to ``n`` bytes: fewer only if the engine went idle or ``max_cycles`` passed."""
        if len(self._rx) < n:
            self._op(OP_READ, n=n - len(self._rx), cycles=max_cycles)
        return self._take(n)

    def read_until_idle(self, max_cycles: int = DEFAULT_READ_CYCLES) -> bytes:
        """Everything the engine sends until it waits for a frame again."""
        self._op(OP_READ, n=0xFFFF_FFFF, cycles=max_cycles)
        return self._take(len(self._rx))

    def advance(self, cycles: int) -> bytes:
        """Leave the line idle for ``cycles`` cycles; return what came out meanwhile."""
        self._op(OP_ADVANCE, cycles=cycles)
        return self._take(len(self._rx))

    def gap(self) -> None:
        """Resynchronize: a line gap longer than the frame timeout, then drop pending input."""
        self.advance(self.params.frame_timeout + 64)
        self.read_until_idle()
        self._rx.clear()

    def discard_input(self) -> None:
        self._rx.clear()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.sendall(REQUEST.pack(OP_STOP, 0, 0, 0))
                self._recv(ANSWER.size)
            except OSError:
                pass
            self._conn = None
            self._bench.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


#: the System parameters of the default test run: every default cosim test of the protocol
#: uses these, so that one cached Verilator build serves them all. A window of 16 ticks makes
#: runs cross windows; a short frame timeout keeps truncated frames cheap to simulate.
TEST_PARAMS = SystemParams(window=16, max_payload=256, frame_timeout=256)
