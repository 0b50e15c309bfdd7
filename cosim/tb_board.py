"""cocotb bench: the virtual board, ``SerialSystem``'s serial pins behind a pseudo-terminal.

Host bytes read from the terminal are driven onto ``rx_pin`` as 8N1 frames, bit by bit at the
divisor (one ``Timer`` per run of equal bits); ``tx_pin`` is sampled in the middle of every
bit of each frame its falling start edge begins, and the bytes go back to the terminal. The
pins carry what a USB-UART's would, so the RTL's UART, frame timeout and all are exercised.

Simulated time stands still (the bench blocks on the terminal) only while the board is idle:
the engine waits for a frame, the UART is quiet and no host byte waits. Otherwise the board
runs, and the terminal is polled every few byte times.

Whoever opens the port starts a session (the bench counts opens with inotify, so a client
that closes and opens the port again between two polls is seen); while nobody has it open the
terminal's reads fail (EIO). At the start of a session the last one's unsent bytes are dropped
and, with reset on connect, the design is reset (not for the first session, which starts from
the power-on reset anyway).

The bench reports on its control connection (see ``plasticore.cosim.virtual_board``) and stops
on ``stop``, when that connection closes, or on SIGINT/SIGTERM.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import json
import os
import select
import signal
import socket
import struct
import time
import tty

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import Event, FallingEdge, First, RisingEdge, Timer
from cocotb.utils import get_sim_time

PERIOD_NS = 10
#: seconds the bench blocks on the terminal at a time while the board is idle (how soon it
#: notices a stop request or a new session)
IDLE_POLL_SECONDS = 0.05
#: byte times between two polls of the terminal while the board is busy
BUSY_POLL_BYTES = 16


#: inotify's event for an open of the watched file (linux/inotify.h)
_IN_OPEN = 0x20
_INOTIFY_EVENT = struct.Struct("iIII")  # wd, mask, cookie, name length (then the name)


class OpenWatch:
    """Counts the opens of a file (inotify): how sessions on the port are told apart, even when
    a client closes it and the next opens it again between two polls."""

    def __init__(self, path: str):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, path.encode(), _IN_OPEN) < 0:
            raise OSError(ctypes.get_errno(), f"inotify on {path}")

    def opens(self) -> int:
        """Opens since the last call."""
        count = 0
        while True:
            try:
                data = os.read(self.fd, 4096)
            except BlockingIOError:
                return count
            at = 0
            while at < len(data):
                _, mask, _, name_length = _INOTIFY_EVENT.unpack_from(data, at)
                count += bool(mask & _IN_OPEN)
                at += _INOTIFY_EVENT.size + name_length


def frame_bits(data: bytes) -> list[tuple[int, int]]:
    """The line levels of 8N1 frames for ``data``, back to back, as (level, bits) runs."""
    bits = [b for byte in data for b in (0, *((byte >> i) & 1 for i in range(8)), 1)]
    return [(level, len(list(run))) for level, run in itertools.groupby(bits)]


class Terminal:
    """The pseudo-terminal's master end and the control connection, without blocking.

    Parameters
    ----------
    control : :class:`socket.socket`
        The connection to the server (``plasticore.cosim.virtual_board``).

    Attributes
    ----------
    path : str
        The port clients open (``/dev/pts/N``).
    connected : bool
        A client has the port open.
    sessions : int
        Clients that opened it so far.
    pending_out : bytearray
        Bytes from the board the client has not been given yet.
    """

    def __init__(self, control: socket.socket):
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        tty.setraw(slave)
        os.close(slave)  # a client's open and close are what the master sees
        os.set_blocking(self.master, False)
        self.watch = OpenWatch(self.path)
        self.control = control
        self.control.setblocking(False)
        self.connected = False
        self.sessions = 0
        self.stop_requested = False
        self.pending_out = bytearray()
        self.bytes_in = self.bytes_out = 0

    def new_sessions(self) -> int:
        """Clients that opened the port since the last call."""
        opened = self.watch.opens()
        self.sessions += opened
        return opened

    def read(self) -> bytes:
        """What the client wrote (nothing while nobody has the port open)."""
        try:
            data = os.read(self.master, 1 << 16)
        except BlockingIOError:
            data = b""
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            self.connected = False  # nobody has the port open
            self.pending_out.clear()
            return b""
        self.connected = True
        self.bytes_in += len(data)
        return data

    def write(self, data: bytes) -> None:
        """Queue ``data`` for :meth:`flush`: one write per reply, not per byte (each write
        wakes the client, which on a busy machine costs milliseconds)."""
        if self.connected:
            self.pending_out += data

    def flush(self) -> None:
        while self.pending_out and self.connected:
            try:
                n = os.write(self.master, self.pending_out)
            except BlockingIOError:
                return  # the client has not read yet: try again at the next poll
            except OSError:
                self.connected = False
                self.pending_out.clear()
                return
            self.bytes_out += n
            del self.pending_out[:n]

    def check_control(self) -> None:
        try:
            msg = self.control.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            msg = b""
        if not msg or b"stop" in msg:  # closed: the server is gone
            self.stop_requested = True

    def wait(self, timeout: float) -> None:
        """Block up to ``timeout`` seconds for the client's bytes, a client opening the port or a
        control message."""
        watch = [self.control, self.watch.fd, *([self.master] if self.connected else [])]
        ready, _, _ = select.select(watch, [], [], timeout)
        if self.control in ready:
            self.check_control()

    def send_control(self, message: dict) -> None:
        self.control.setblocking(True)
        try:
            self.control.sendall((json.dumps(message) + "\n").encode())
        except OSError:
            pass  # the server is gone
        finally:
            self.control.setblocking(False)


class VirtualBoardBench:
    """The pins' two directions and the terminal between them.

    Parameters
    ----------
    dut : cocotb handle
        ``SerialSystem``'s top: ``clk``, ``rst``, ``rx_pin``, ``tx_pin``, ``idle``.
    terminal : Terminal
        The port.
    divisor : int
        Clock cycles per bit.
    reset_on_connect : bool
        Reset the design when a client opens the port again.
    """

    def __init__(self, dut, terminal: Terminal, divisor: int, reset_on_connect: bool):
        self.dut = dut
        self.terminal = terminal
        self.bit_ns = divisor * PERIOD_NS
        self.reset_on_connect = reset_on_connect
        self.rx_queue = bytearray()
        self.rx_wake = Event()
        self.rx_busy = False
        self.rx_abort = False
        self.tx_busy = False
        self.frame_errors = 0
        self.stopping = False
        self.busy_seconds = 0.0

    def quiet(self) -> bool:
        """Nothing under way: waiting for the client changes nothing the design could see."""
        return (
            not self.rx_queue
            and not self.rx_busy
            and not self.tx_busy
            and bool(self.dut.idle.value)
            and not self.terminal.pending_out
        )

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await FallingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await FallingEdge(self.dut.clk)

    async def drive_rx(self) -> None:
        """Host bytes onto rx_pin, one Timer per run of equal bits."""
        pin = self.dut.rx_pin
        while True:
            while not self.rx_queue:
                self.rx_busy = False
                self.rx_wake.clear()
                await self.rx_wake.wait()
            self.rx_busy = True
            chunk = bytes(self.rx_queue)
            self.rx_queue.clear()
            for level, bits in frame_bits(chunk):
                if self.rx_abort:  # a new session: the rest is the old client's
                    break
                pin.value = level
                await Timer(bits * self.bit_ns, unit="ns")
            pin.value = 1

    async def sample_tx(self) -> None:
        """tx_pin back into bytes: each bit sampled in its middle, as a UART receiver does."""
        pin = self.dut.tx_pin
        start_edge = FallingEdge(pin)
        half, whole = Timer(self.bit_ns // 2, unit="ns"), Timer(self.bit_ns, unit="ns")
        while True:
            await start_edge
            self.tx_busy = True
            await half
            if pin.value:  # not a start bit (cannot happen with the RTL's transmitter)
                self.tx_busy = False
                continue
            byte = 0
            for i in range(8):
                await whole
                byte |= int(pin.value) << i
            await whole
            if pin.value:
                self.terminal.write(bytes([byte]))
            else:
                self.frame_errors += 1
            self.tx_busy = False

    async def serve(self) -> None:
        term = self.terminal
        busy_poll = Timer(BUSY_POLL_BYTES * 10 * self.bit_ns, unit="ns")
        idle = RisingEdge(self.dut.idle)
        while not (self.stopping or term.stop_requested):
            term.flush()
            if self.quiet():
                term.wait(IDLE_POLL_SECONDS)  # simulated time stands still
            else:
                start = time.perf_counter()
                await First(busy_poll, idle)
                self.busy_seconds += time.perf_counter() - start
                term.check_control()
            data = term.read()
            # a client that opened the port before this read wrote these bytes in its session
            if term.new_sessions():
                await self.start_session()
            if data:
                self.rx_queue += data
                self.rx_wake.set()

    async def start_session(self) -> None:
        """A new client: the last one's bytes are dropped, the design reset (if asked; not for
        the first client, which finds it fresh from power-on)."""
        bit = Timer(self.bit_ns, unit="ns")
        self.rx_queue.clear()
        self.rx_abort = True
        while self.rx_busy:  # ends within a run of equal bits
            await bit
        self.rx_abort = False
        if self.reset_on_connect and self.terminal.sessions > 1:
            await self.reset()
        while self.tx_busy:  # a frame the reset cut short: sampled to its end, then dropped
            await bit
        self.terminal.pending_out.clear()

    def stats(self, wall: float) -> dict:
        return {
            "bytes_in": self.terminal.bytes_in,
            "bytes_out": self.terminal.bytes_out,
            "cycles": int(get_sim_time("ns")) // PERIOD_NS,
            "sessions": self.terminal.sessions,
            "frame_errors": self.frame_errors,
            "seconds": wall,
            "busy_seconds": self.busy_seconds,
        }


@cocotb.test()
async def serve_pty(dut):
    # the C++ clock: stretches without pin activity run without Python per cycle
    Clock(dut.clk, PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    dut.rx_pin.value = 1
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    control.connect(os.environ["PLASTICORE_BOARD_CONTROL"])
    terminal = Terminal(control)
    bench = VirtualBoardBench(
        dut,
        terminal,
        int(os.environ["PLASTICORE_BOARD_DIVISOR"]),
        os.environ["PLASTICORE_BOARD_RESET_ON_CONNECT"] == "1",
    )

    def on_signal(signum, frame):
        bench.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    await bench.reset()
    rx = cocotb.start_soon(bench.drive_rx())
    tx = cocotb.start_soon(bench.sample_tx())
    start = time.perf_counter()
    terminal.send_control({"port": terminal.path, "pid": os.getpid()})
    try:
        await bench.serve()
    finally:
        rx.cancel()
        tx.cancel()
        terminal.send_control({"stats": bench.stats(time.perf_counter() - start)})
        os.close(terminal.master)
        control.close()
