"""The System's bench in C++: a free-running Verilator model with no cocotb and no VPI.

``cosim/native_system.cpp`` is ``cosim/tb_system.py`` operation for operation and cycle for
cycle, compiled with the System's Verilog into one executable. The host side is the same
(``plasticore.cosim.host_transport.SimulatedTransport`` sends the ``byte_link`` messages);
only the loop over cycles runs in C++ instead of Python awaits, which is what made the
cocotb bench the bound of chip-in-the-loop training (docs/performance.md, "Chip in the
loop").

The model is built once per key (the caller's build directory, which hashes the config, the
RTL and the System's parameters; :func:`build_native` adds this bench's source) and keeps
only its executable, its Verilog and its build log.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from .runner import MAKE_VARIABLES, build_model, prepare_simulator

__all__ = ["NativeBench", "build_native", "NATIVE_SOURCE", "NATIVE_EXECUTABLE"]

#: the bench's C++ source, compiled with the System's Verilog
NATIVE_SOURCE = Path(__file__).resolve().parent / "native_system.cpp"
#: the executable's name in its build directory
NATIVE_EXECUTABLE = "system_native"
_LOG_TAIL_LINES = 30


def native_key() -> str:
    """What of this bench a model's cache key must cover: its source and the compiler flags."""
    return NATIVE_SOURCE.read_text() + " ".join(MAKE_VARIABLES)


def build_native(verilog: Callable[[], str], toplevel: str, bdir: Path) -> Path:
    """Generate ``bdir/<toplevel>.v`` from ``verilog()`` and build the native bench on it, each
    once (:func:`plasticore.cosim.runner.build_model`, which holds the model's lock); returns
    the executable. A failed build raises with the tail of its log."""
    prepare_simulator("verilator")  # Verilator's PATH and the MAKEFLAGS of runner.MAKE_VARIABLES
    build_model(_NativeBuilder(), bdir, toplevel, verilog, waves=False, sim="verilator")
    return bdir / NATIVE_EXECUTABLE


class _NativeBuilder:
    """Builds as cocotb's Verilator runner would (``build_model`` calls its ``build``), with
    this bench's ``main`` instead of cocotb's and no VPI."""

    def build(self, sources, hdl_toplevel: str, build_dir: Path, waves: bool, build_args, log_file: Path) -> None:
        obj = build_dir / "obj"
        cmd = [
            "verilator",
            "--cc",
            "--exe",
            "--build",
            "--build-jobs",
            "1",  # a shared machine: one compiler at a time
            "-Mdir",
            str(obj),
            "--top-module",
            hdl_toplevel,
            "--prefix",
            "Vtop",
            "-o",
            str(build_dir / NATIVE_EXECUTABLE),
            *build_args,
            str(NATIVE_SOURCE),
            *map(str, sources),
        ]
        with open(log_file, "w") as f:
            done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=build_dir)
        shutil.rmtree(obj, ignore_errors=True)  # the intermediates: ~10x the executable
        if done.returncode:
            raise RuntimeError(f"verilator exited with status {done.returncode}")


class NativeBench:
    """The native bench's process, connected to this one by a socket pair.

    Parameters
    ----------
    executable : :class:`~pathlib.Path`
        The bench built by :func:`build_native`.
    out_dir : :class:`~pathlib.Path`
        Where the run's log goes (``sim.log``).

    Attributes
    ----------
    conn : :class:`socket.socket`
        This side of the connection (the ``byte_link`` messages).
    """

    def __init__(self, executable: Path, out_dir: Path):
        self.out_dir = out_dir
        self._log_path = out_dir / "sim.log"
        self.conn, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with open(self._log_path, "w") as log:
                self._proc = subprocess.Popen(
                    [str(executable), str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        except BaseException:
            self.conn.close()
            raise
        finally:
            theirs.close()

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    def log_tail(self) -> str:
        """The end of the bench's log (and its exit status), to append to an error message."""
        status = self._proc.poll()
        lines = self._log_path.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        ended = "" if status is None else f"; the bench exited with status {status}"
        return ended + ("; log tail:\n" + "\n".join(lines) if lines else "")

    def close(self, timeout: float = 60.0) -> None:
        """Close the connection (the bench ends when it reads its end), wait; raise if it failed."""
        self.conn.close()
        try:
            status = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            raise RuntimeError(f"the native bench did not end within {timeout} s{self.log_tail()}") from None
        if status:
            raise RuntimeError(f"the native bench failed{self.log_tail()}")
