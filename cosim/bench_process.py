"""A cocotb bench in its simulator process, connected back to this process over a Unix socket.

cocotb's runner runs the simulator as a child process and returns when it ends, so it runs in
a background thread here; the bench finds the socket's path in the environment variable
``socket_variable`` and connects to it, which is how this process knows the simulation is up.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from .runner import ROOT

__all__ = ["BenchProcess"]

_LOG_TAIL_LINES = 30


class BenchProcess:
    """Runs ``test_module`` on the built model and waits for the bench to connect.

    Parameters
    ----------
    runner : cocotb runner
        The runner the model was built with (``plasticore.cosim.runner.build_model``).
    build_dir : :class:`~pathlib.Path`
        The model's directory.
    toplevel : str
        The model's top module.
    test_module : str
        The cocotb bench, e.g. ``"plasticore.cosim.tb_system"``.
    out_dir : :class:`~pathlib.Path`
        Where the run's log and results go.
    socket_variable : str
        The environment variable that tells the bench the socket's path.
    env : dict, optional
        More environment variables for the bench.
    waves : bool
        Record a waveform.
    start_timeout : float
        Seconds the bench may take to connect.

    Attributes
    ----------
    conn : :class:`socket.socket`
        The bench's connection.
    """

    def __init__(
        self,
        runner,
        build_dir: Path,
        toplevel: str,
        test_module: str,
        out_dir: Path,
        socket_variable: str,
        env: dict[str, str] | None = None,
        waves: bool = False,
        start_timeout: float = 600.0,
    ):
        self.out_dir = out_dir
        self.error: BaseException | None = None
        self._sockdir = tempfile.mkdtemp(prefix="plasticore-")
        path = os.path.join(self._sockdir, "bench.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        server.settimeout(0.2)
        env = {
            **(env or {}),
            socket_variable: path,
            "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path]),
        }

        def simulate():
            try:
                runner.test(
                    test_module=test_module,
                    hdl_toplevel=toplevel,
                    hdl_toplevel_lang="verilog",
                    extra_env=env,
                    waves=waves,
                    test_dir=out_dir,
                    build_dir=build_dir,
                    results_xml=str(out_dir / "results.xml"),
                    log_file=out_dir / "sim.log",
                )
            except BaseException as exc:  # noqa: BLE001 (SystemExit from cocotb's runner included)
                self.error = exc

        self._thread = threading.Thread(target=simulate, name="plasticore-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + start_timeout
        conn = None
        try:
            while conn is None:
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    if not self._thread.is_alive():
                        raise RuntimeError(f"the simulator ended before connecting{self.log_tail()}") from None
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the simulator did not connect within {start_timeout} s") from None
        except BaseException:
            shutil.rmtree(self._sockdir, ignore_errors=True)
            raise
        finally:
            server.close()
        conn.settimeout(None)
        self.conn = conn

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def log_tail(self) -> str:
        """The end of the simulator's log, to append to an error message."""
        log = self.out_dir / "sim.log"
        if not log.exists():
            return ""
        return "; log tail:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:])

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the simulator to end; returns whether it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self, timeout: float = 60.0) -> None:
        """Close the connection, wait for the simulator; raise if it failed."""
        self.conn.close()
        self.join(timeout)
        shutil.rmtree(self._sockdir, ignore_errors=True)
        if self.error is not None and not (isinstance(self.error, SystemExit) and not self.error.code):
            raise RuntimeError(f"the simulator failed: {self.error!r}{self.log_tail()}")
