"""``plasticore serve-sim``: the virtual board, driven through its pseudo-terminal with pyserial.

The server runs as a user runs it (``python -m plasticore serve-sim``, its own process).
``plasticore run --port`` checks inference on it; then the host driver opens the port again
(a new session: a freshly reset board) and trains a few samples on the chip, which must end
with golden fixed point's weights. Every byte crosses the RTL's UART as bits on its pins. A
Ctrl-C (SIGINT to the process group, as a terminal sends it) must stop server and simulator
cleanly.
"""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from plasticore.boards.top import BAUD
from plasticore.chip_train import train_on_chip, weights_equal
from plasticore.cli import main
from plasticore.compare import COMPARE_SPECS
from plasticore.golden import preset
from plasticore.host import Host
from plasticore.tasks.user_data import user_data_task
from plasticore.training.train import data_spec, train

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")

ROOT = Path(__file__).resolve().parent.parent
CFG = preset("small")
#: the UART's minimum: fewest simulated cycles per byte (the board's own is 12)
DIVISOR = 8
#: seconds to wait for the port: a first run builds the model
START_SECONDS = 900


class Server:
    """``plasticore serve-sim`` in its own process group, its output read line by line."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "plasticore", "serve-sim", "--config", "small", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.port = self.expect(r"^port: (\S+)", START_SECONDS)
        self.pid = int(self.expect(r"simulator pid (\d+)", 30))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, pattern: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(f"no {pattern!r} from serve-sim:\n" + "".join(self.output))
            self.output.append(line)
            if match := re.search(pattern, line):
                return match.group(1)

    def stop(self, how=signal.SIGINT, group: bool = True) -> str:
        """Interrupt it (by default as a terminal's Ctrl-C does) and return the rest of its output."""
        if group:
            os.killpg(self.proc.pid, how)
        else:
            self.proc.send_signal(how)
        code = self.proc.wait(timeout=60)
        while (line := self.lines.get(timeout=10)) is not None:
            self.output.append(line)
        assert code == 0, "".join(self.output)
        return "".join(self.output)

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def tiny_task(seed: int):
    """A classification data set of the small config's shape: 16 inputs, 2 classes."""
    rng = np.random.default_rng(seed)

    def part(n: int, ticks: int = 24):
        x = (rng.random((n, ticks, CFG.n_in)) < 0.25).astype(np.uint8)
        window = np.zeros((n, ticks), dtype=bool)
        window[:, ticks // 2 :] = True
        return x, window, rng.integers(0, 2, n)

    (x, window, labels), (x_test, window_test, labels_test) = part(4), part(2)
    arrays = dict(x=x, window=window, labels=labels, x_test=x_test, window_test=window_test, labels_test=labels_test)
    return user_data_task(arrays, seed, name="tiny")


def check_training_equals_golden(port: str, seed: int) -> dict:
    """Train on the chip at ``port`` (a fresh one) and in golden fixed point: equal weights."""
    task = tiny_task(seed)
    spec = data_spec(task, COMPARE_SPECS["digits"], CFG)
    with Host.serial(CFG, port, baud=BAUD, timeout=60.0) as chip:
        start = time.perf_counter()
        run = train_on_chip(chip, task, spec, epochs=1)
        seconds = time.perf_counter() - start
        link = dict(chip.link.stats)
    golden = train(task, "eprop", "fixed", cfg=CFG, epochs=1, seed=CFG.seed, spec=spec)
    equal = weights_equal(CFG, golden.weights, run.weights_after)
    assert all(equal.values()), equal
    for name in ("w_in", "w_rec", "w_out"):  # guards against a vacuous pass: the chip learned
        assert (getattr(run.weights_after, name) != getattr(run.weights_before, name)).any(), f"{name} did not learn"
    ticks = (len(task.train) + 2 * len(task.test)) * task.train.ticks
    return {"seconds": seconds, "bytes": link["bytes_in"] + link["bytes_out"], "ticks": ticks}


def test_serve_sim_trains_through_the_pty_to_golden_fixed_point(capsys):
    server = Server("--baud-divisor", str(DIVISOR))
    try:
        # the README's second terminal: inference, checked tick by tick (draws no LFSR bits)
        assert main(["run", "--config", "small", "--ticks", "20", "--port", server.port, "--quiet"]) == 0
        assert "spikes and readout equal golden fixed point bit for bit" in capsys.readouterr().out
        measured = check_training_equals_golden(server.port, seed=3)
        out = server.stop()
    finally:
        server.kill()
    assert re.search(r"stopped: 2 session\(s\), [\d,]+ bytes in, [\d,]+ out", out), out
    assert "Traceback" not in out, out
    assert not Path(f"/proc/{server.pid}").exists(), "the simulator outlived its server"
    print(
        f"\nvirtual board, divisor {DIVISOR}: {measured['bytes'] / measured['seconds']:,.0f} bytes/s, "
        f"{measured['ticks'] / measured['seconds']:.1f} ticks/s through the pty"
    )


@pytest.mark.slow
def test_every_session_starts_from_a_reset_board_at_the_boards_divisor():
    # the board's own divisor (12 at iCEBreaker's 12 MHz for 1 Mbaud); SIGTERM to the server
    # alone (as a service manager sends it): it must stop the simulator itself
    server = Server()
    try:
        for seed in (3, 4):  # the second session starts with fresh LFSRs again
            check_training_equals_golden(server.port, seed)
        out = server.stop(signal.SIGTERM, group=False)
    finally:
        server.kill()
    assert "stopped: 2 session(s)" in out, out
    assert not Path(f"/proc/{server.pid}").exists(), "the simulator outlived its server"


def test_a_bad_request_is_a_clear_error_before_any_build(capsys):
    assert main(["serve-sim", "--config", "no-such-preset"]) == 2
    err = capsys.readouterr().err
    assert "serve-sim: error:" in err and "no-such-preset" in err
    assert main(["serve-sim", "--config", "small", "--baud-divisor", "4"]) == 2
    assert "--baud-divisor: 4 is below the UART's minimum of 8" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve-sim", "--board", "no-such-board"])
    assert "invalid choice" in capsys.readouterr().err
