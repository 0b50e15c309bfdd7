"""The host driver: one API to a plasticore chip, on a board or in simulation.

:class:`Host` speaks the host protocol (``docs/protocol.md``) over a *transport* that only
moves bytes:

* :class:`SerialTransport`: a board's UART through pyserial;
* ``plasticore.cosim.host_transport.SimulatedTransport``: the same bytes into the RTL (``plasticore.hdl.system.System``)
  under cocotb on Verilator (:meth:`Host.simulated` starts one).

Everything above the bytes is shared: frames come from the sans-IO codec
(``plasticore.contract.frame_codec``), the memory map from ``plasticore.contract.system_map`` (built from the same
:class:`plasticore.golden.config.Config` as the device, and checked against the device's identity
register before anything else happens).

A training run is a loop of windows::

    with Host.simulated(cfg) as chip:          # or Host.serial(cfg, "/dev/ttyUSB1")
        chip.load_weights(w)
        for sample in samples:
            chip.reset_state()
            out = chip.run_sequence(x, targets, valid, learn=True)   # windows of chip.window ticks
        w_trained = chip.read_weights()

Requests whose reply is lost or garbled, and requests the device refused because their
bytes arrived damaged (``CRC``, ``TIMEOUT``, or ``LENGTH``: a length field damaged above the
largest payload is refused before the CRC is seen), are sent again after a resynchronizing gap
(they changed nothing on the device, and reads and writes may be repeated). A RUN whose
reply is lost is not repeated blindly: the device's tick counter tells whether it ran (then
the run counts as done), did not run (sent again) or stopped part way (an error).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from plasticore.contract.frame_codec import (
    ReplyDecoder,
    encode_request,
    mem_args,
    reg_read_args,
    reg_write_args,
    run_args,
)
from plasticore.contract.geometry import BITMAP_WORD
from plasticore.contract.protocol_spec import (
    CRC_BYTES,
    MAGIC,
    PROTOCOL_VERSION,
    REPLY_HEADER,
    RUN_FLAG_LEARN,
    SYNC_REPLY,
    Command,
    Reg,
    Status,
)
from plasticore.contract.serial_line import BAUD
from plasticore.contract.system_map import SystemMap
from plasticore.golden.config import Config
from plasticore.golden.network import State, Weights
from plasticore.golden.registers import LearningRegisters

__all__ = [
    "Transport",
    "SerialTransport",
    "Host",
    "Outputs",
    "ProtocolError",
    "LinkError",
    "IdentityError",
    "STATE_REGIONS",
    "WEIGHT_REGIONS",
]

#: the core regions that hold the network's running state, cleared by Host.reset_state between
#: samples (docs/numerics.md: state and traces are reset by the host; the LFSR lanes never are)
STATE_REGIONS = ("u", "a", "ref", "v", "y", "e", "z", "xbar", "zbar", "zobar")
#: weight memories, as plasticore.golden.network.Weights (pre x post rows, see plasticore.contract.geometry)
WEIGHT_REGIONS = ("w_in", "w_rec", "w_out", "b_fb")


class Transport(Protocol):
    """What the driver needs from a byte pipe."""

    def write(self, data: bytes) -> None: ...
    def read(self, n: int) -> bytes: ...  # up to n bytes; fewer means "nothing more came"
    def gap(self) -> None: ...  # idle the line past the frame timeout, drop input
    def close(self) -> None: ...


class ProtocolError(RuntimeError):
    """The device refused a request (a bug in the request, not on the line)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class LinkError(RuntimeError):
    """No usable reply after the allowed retries."""


class IdentityError(RuntimeError):
    """The device is not a plasticore of the config the host expects."""


class SerialTransport:
    """A board's UART through pyserial (8N1). ``timeout``: seconds a read may wait."""

    def __init__(self, port: str, baud: int = BAUD, timeout: float = 2.0, frame_timeout: float = 0.1):
        import serial  # pyserial

        self.frame_timeout = frame_timeout
        self.serial = serial.Serial(port, baudrate=baud, bytesize=8, parity="N", stopbits=1, timeout=timeout)

    def write(self, data: bytes) -> None:
        self.serial.write(data)
        self.serial.flush()

    def read(self, n: int) -> bytes:
        return self.serial.read(n)

    def gap(self) -> None:
        time.sleep(2 * self.frame_timeout)
        self.serial.reset_input_buffer()

    def close(self) -> None:
        self.serial.close()


@dataclass
class Outputs:
    """What the output buffers recorded, one row per tick."""

    y: np.ndarray  # (ticks, n_out) readout after each tick
    z: np.ndarray  # (ticks, n_rec) spikes of each tick
    cycles: np.ndarray  # (ticks,) the core's cycle count of each tick

    @staticmethod
    def concat(parts: list[Outputs]) -> Outputs:
        return Outputs(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("y", "z", "cycles")))


_STATUS_MEANING = {
    Status.CRC: "the request's CRC was wrong",
    Status.COMMAND: "unknown command",
    Status.LENGTH: "payload length wrong for the command or above max_payload",
    Status.RANGE: "region, register, address, count, tick slot or flag out of range",
    Status.TIMEOUT: "the request was truncated",
    Status.READ_ONLY: "the register is read-only",
    Status.WATCHDOG: "a tick did not finish within WATCHDOG cycles; the run stopped there",
    Status.BUSY: "the core still runs a tick the watchdog gave up on",
}


def _status_name(status: int) -> str:
    try:
        return Status(status).name
    except ValueError:
        return f"status 0x{status:02x}"


class _Link:
    """Request/reply with tags, resynchronization and retries."""

    def __init__(self, transport: Transport, retries: int):
        self.transport = transport
        self.retries = retries
        self._tags = itertools.cycle(range(256))
        self.stats = {"requests": 0, "retries": 0, "bytes_out": 0, "bytes_in": 0}

    def _read_reply(self):
        head = self.transport.read(1 + REPLY_HEADER)
        if len(head) < 1 + REPLY_HEADER or head[0] != SYNC_REPLY:
            return None
        length = head[4] | head[5] << 8
        rest = self.transport.read(length + CRC_BYTES)
        self.stats["bytes_in"] += len(head) + len(rest)
        if len(rest) < length + CRC_BYTES:
            return None
        replies = ReplyDecoder().feed(head + rest)
        return replies[0] if replies else None

    def request(self, cmd: Command, payload: bytes = b"", on_lost: Callable[[], str] | None = None) -> bytes:
        """Send, wait for the reply, return its payload.

        ``on_lost`` (for requests that must not run twice) is asked what to do when a reply is
        lost: "retry" (the request did not run), "done" (it ran completely: return no payload)
        or anything else (it ran part way: raise)."""
        frame_tag = next(self._tags)
        frame = encode_request(cmd, frame_tag, payload)
        last = "no reply"
        length_refusals = 0
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self.stats["requests"] += 1
            self.stats["bytes_out"] += len(frame)
            self.transport.write(frame)
            reply = self._read_reply()
            if reply is not None and reply.crc_ok and reply.tag == frame_tag and reply.cmd == cmd:
                if reply.status == Status.OK:
                    return reply.payload
                # LENGTH may be line damage too: a length above max_payload is refused from the
                # header alone, before the CRC; refused on every attempt, it is the request's
                length_refusals += reply.status == Status.LENGTH
                if reply.status not in (Status.CRC, Status.TIMEOUT, Status.LENGTH) or length_refusals > self.retries:
                    raise ProtocolError(
                        f"{cmd.name}: the device answered {_status_name(reply.status)} "
                        f"({_STATUS_MEANING.get(reply.status, 'unknown status')})",
                        reply.status,
                    )
                last = f"the request arrived damaged ({_status_name(reply.status)})"
                self.transport.gap()
                continue  # nothing ran: safe to send again
            last = "no reply" if reply is None else f"an unexpected reply ({reply.describe()})"
            self.transport.gap()
            if on_lost is not None:
                verdict = on_lost()
                if verdict == "done":
                    return b""
                if verdict != "retry":
                    raise LinkError(
                        f"{cmd.name}: the reply was lost ({last}) and the request ran only part way ({verdict})"
                    )
        raise LinkError(f"{cmd.name}: {last} after {self.retries + 1} attempts")


class Host:
    """A plasticore chip of config ``cfg`` behind ``transport``."""

    def __init__(self, cfg: Config, transport: Transport, retries: int = 2, check_identity: bool = True):
        self.cfg = cfg
        self.transport = transport
        self.link = _Link(transport, retries)
        regs = self.read_registers(Reg.MAGIC, Reg.BUFFERS - Reg.MAGIC + 1)
        if regs[Reg.MAGIC] != MAGIC:
            raise IdentityError(
                f"the device is not a plasticore (MAGIC 0x{regs[Reg.MAGIC]:08x}, expected 0x{MAGIC:08x})"
            )
        if regs[Reg.VERSION] != PROTOCOL_VERSION:
            raise IdentityError(
                f"the device speaks protocol version {regs[Reg.VERSION]}, this host version {PROTOCOL_VERSION}"
            )
        window, max_payload = regs[Reg.BUFFERS] & 0xFFFF, regs[Reg.BUFFERS] >> 16
        self.map = SystemMap(cfg, window, max_payload)
        if check_identity and regs[Reg.IDENTITY] != self.map.identity:
            expected = self.map.constant_registers()
            sizes = lambda v: f"n_in {v & 0xFFFF}, n_rec {v >> 16}"  # noqa: E731
            shape = lambda v: f"n_out {v & 0xFF}, lanes {v >> 8 & 0xFF}, {v >> 16 & 0xFF} regions"  # noqa: E731
            raise IdentityError(
                f"the device was built for another config: device {sizes(regs[Reg.SIZES])}, "
                f"{shape(regs[Reg.SHAPE])}; host {cfg.name}: {sizes(expected[Reg.SIZES])}, "
                f"{shape(expected[Reg.SHAPE])} (identity 0x{regs[Reg.IDENTITY]:08x} != "
                f"0x{self.map.identity:08x}; widths, time constants or rule may differ too)"
            )
        self.geometry = self.map.geometry
        self._ticks: int | None = None  # the device's tick counter, tracked to recover a lost RUN reply

    # -- construction helpers ----------------------------------------------------------------
    @classmethod
    def simulated(cls, cfg: Config, params=None, **kw) -> Host:
        """A Host on the RTL in simulation (cocotb + Verilator); close it when done."""
        from plasticore.cosim.host_transport import SimulatedTransport

        transport = SimulatedTransport(cfg, params, **kw)
        try:
            return cls(cfg, transport)
        except BaseException:
            transport.close()
            raise

    @classmethod
    def serial(cls, cfg: Config, port: str, baud: int = BAUD, **kw) -> Host:
        return cls(cfg, SerialTransport(port, baud, **kw))

    def close(self) -> None:
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def window(self) -> int:
        """Ticks the input and output buffers hold (one RUN runs at most this many)."""
        return self.map.window

    # -- registers ------------------------------------------------------------------------------
    def read_registers(self, first: int = 0, count: int | None = None) -> dict[Reg, int]:
        count = len(Reg) - first if count is None else count
        data = self.link.request(Command.READ_REG, reg_read_args(first, count))
        return {Reg(first + i): int.from_bytes(data[4 * i : 4 * i + 4], "little") for i in range(count)}

    def read_register(self, reg: Reg) -> int:
        return self.read_registers(reg, 1)[reg]

    def write_register(self, reg: Reg, value: int) -> None:
        self.link.request(Command.WRITE_REG, reg_write_args(reg, value))

    def counters(self) -> dict[str, int]:
        """Every register by name (counters, status, identity)."""
        return {r.name.lower(): v for r, v in self.read_registers().items()}

    # -- memory words -----------------------------------------------------------------------------
    def read_words(self, region: str, start: int = 0, count: int | None = None) -> list[int]:
        r = self.map.region(region)
        count = r.depth - start if count is None else count
        self._check_span(r, start, count)
        words: list[int] = []
        step = self.map.max_words(r, write=False)
        for lo in range(start, start + count, step):
            n = min(step, start + count - lo)
            words += r.bytes_to_words(self.link.request(Command.READ_MEM, mem_args(r.index, lo, n)))
        return words

    def write_words(self, region: str, words, start: int = 0) -> None:
        r = self.map.region(region)
        words = [int(w) for w in words]
        self._check_span(r, start, len(words))
        step = self.map.max_words(r, write=True)
        for lo in range(0, len(words), step):
            chunk = words[lo : lo + step]
            self.link.request(Command.WRITE_MEM, mem_args(r.index, start + lo, len(chunk)) + r.words_to_bytes(chunk))

    def clear(self, region: str, start: int = 0, count: int | None = None) -> None:
        r = self.map.region(region)
        count = r.depth - start if count is None else count
        self._check_span(r, start, count)
        for lo in range(start, start + count, 0xFFFF):
            self.link.request(Command.CLEAR_MEM, mem_args(r.index, lo, min(0xFFFF, start + count - lo)))

    @staticmethod
    def _check_span(r, start: int, count: int) -> None:
        if count < 1 or start < 0 or start + count > r.depth:
            raise ValueError(f"{r.name}: words {start}..{start + count - 1} are outside 0..{r.depth - 1}")

    # -- core regions as values --------------------------------------------------------------------
    def write_region(self, name: str, values: np.ndarray) -> None:
        """A core region from lane values (word-major, lane-minor, as plasticore.contract.geometry packs)."""
        layout = self.geometry.regions[name]
        self.write_words(name, layout.pack(values))

    def read_region(self, name: str) -> np.ndarray:
        return self.geometry.regions[name].unpack(self.read_words(name))

    # -- golden objects ----------------------------------------------------------------------------
    def load_weights(self, w: Weights) -> None:
        w.check(self.cfg)
        for name, values in self.geometry.weight_values(w).items():
            self.write_region(name, values)

    def read_weights(self) -> Weights:
        names = ("w_in", "w_rec", "w_out", "b_fb")
        return self.geometry.weights_from_values({name: self.read_region(name) for name in names})

    def load_state(self, s: State, batch_index: int = 0) -> None:
        for name in ("u", "a", "ref", "v", "y", "e"):
            self.write_region(name, getattr(s, name)[batch_index])
        self.write_region("z", self._bitmap("z", s.z[batch_index]))

    def read_state(self) -> dict[str, np.ndarray]:
        """u, a, ref, v, y, e and z (the last tick's spikes), trimmed to the real neurons."""
        c = self.cfg
        sizes = {"u": c.n_rec, "a": c.n_rec, "ref": c.n_rec, "v": c.n_rec, "y": c.n_out, "e": c.n_out, "z": c.n_rec}
        return {name: self.read_region(name)[:n] for name, n in sizes.items()}

    def read_traces(self) -> dict[str, np.ndarray]:
        """The presynaptic traces x_bar (n_in) and z_bar (n_rec) of the learning unit, and the
        readout's own trace zo_bar (n_rec) when the config keeps one (``tau_readout_trace``)."""
        c = self.cfg
        traces = {"x_bar": self.read_region("xbar")[: c.n_in], "z_bar": self.read_region("zbar")[: c.n_rec]}
        if "zobar" in self.geometry.regions:
            traces["zo_bar"] = self.read_region("zobar")[: c.n_rec]
        return traces

    def load_traces(self, x_bar: np.ndarray, z_bar: np.ndarray, zo_bar: np.ndarray | None = None) -> None:
        """Write the traces (``zo_bar``: the readout's own, for a config that keeps one)."""
        for name, values in self.geometry.trace_values(x_bar, z_bar, zo_bar).items():
            self.write_region(name, values)

    def write_learning_registers(self, regs: LearningRegisters) -> None:
        """Set the run-time learning registers (region ``params``) between ticks; a value out
        of its range is refused here, before anything is sent (the chip would ignore it)."""
        self.write_words("params", regs.checked(self.cfg).words())

    def read_learning_registers(self) -> LearningRegisters:
        """The run-time learning registers as the chip holds them."""
        return LearningRegisters.from_words(self.cfg, self.read_words("params"))

    def reset_state(self) -> None:
        """Zero the running state and traces (between samples); weights and LFSRs stay."""
        for name in STATE_REGIONS:
            if name in self.geometry.regions:
                self.clear(name)

    def _bitmap(self, region: str, bits: np.ndarray) -> np.ndarray:
        padded = np.zeros(self.geometry.regions[region].depth * BITMAP_WORD, dtype=np.int64)
        padded[: len(bits)] = bits
        return padded

    # -- ticks ---------------------------------------------------------------------------------------
    def load_window(
        self, x: np.ndarray, targets: np.ndarray | None = None, valid: np.ndarray | None = None, start: int = 0
    ) -> None:
        """Inputs of ``len(x)`` ticks into buffer slots ``start ..``: spikes ``x`` (ticks, n_in)
        0/1, ``targets`` (ticks, n_out) readout LSBs (default 0), ``valid`` (ticks,) bool
        (default False)."""
        c, g = self.cfg, self.geometry
        x = np.asarray(x)
        ticks = x.shape[0]
        if x.ndim != 2 or x.shape[1] != c.n_in:
            raise ValueError(f"x: shape {x.shape} is not (ticks, n_in={c.n_in})")
        if not 1 <= ticks or start < 0 or start + ticks > self.window:
            raise ValueError(f"x: ticks {start}..{start + ticks - 1} do not fit the window of {self.window}")
        if not np.isin(x, (0, 1)).all():
            raise ValueError("x: input spikes must be 0 or 1")
        targets = np.zeros((ticks, c.n_out), dtype=np.int64) if targets is None else np.asarray(targets)
        if targets.shape != (ticks, c.n_out):
            raise ValueError(f"targets: shape {targets.shape} is not (ticks={ticks}, n_out={c.n_out})")
        valid = np.zeros(ticks, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
        if valid.shape != (ticks,):
            raise ValueError(f"valid: shape {valid.shape} is not (ticks={ticks},)")
        x_words = [w for t in range(ticks) for w in g.regions["x"].pack(self._bitmap("x", x[t]))]
        t_words = [w for t in range(ticks) for w in g.regions["target"].pack(targets[t])]
        self.write_words("in_x", x_words, start * self.map.regions["in_x"].per_tick)
        self.write_words("in_target", t_words, start * self.map.regions["in_target"].per_tick)
        self.write_words("in_valid", valid.astype(int), start)

    def run(self, ticks: int, start: int = 0, learn: bool = False) -> None:
        """Run ``ticks`` ticks from buffer slots ``start ..`` (learning on or off)."""
        if not 1 <= ticks or start < 0 or start + ticks > self.window:
            raise ValueError(f"ticks: slots {start}..{start + ticks - 1} do not fit the window of {self.window}")
        if self._ticks is None:
            self._ticks = self.read_register(Reg.TICKS)
        before = self._ticks

        def on_lost() -> str:
            ran = (self.read_register(Reg.TICKS) - before) & 0xFFFF_FFFF
            return "retry" if ran == 0 else "done" if ran == ticks else f"{ran} of {ticks} ticks"

        try:
            self.link.request(Command.RUN, run_args(start, ticks, RUN_FLAG_LEARN if learn else 0), on_lost=on_lost)
        except (ProtocolError, LinkError):
            # the watchdog stopped the run part way, or the link gave up on it: whether and how
            # far it ran is unknown, and a count kept from here would misjudge the next lost reply
            self._ticks = None
            raise
        self._ticks = (before + ticks) & 0xFFFF_FFFF

    def read_outputs(self, ticks: int, start: int = 0, what: Iterable[str] = ("y", "z", "cycles")) -> Outputs:
        """The output buffers of slots ``start .. start + ticks - 1``; parts not in ``what`` are
        left empty (saves link time, e.g. only Y for accuracy)."""
        c, g, m = self.cfg, self.geometry, self.map.regions
        what = set(what)
        y = np.zeros((ticks, c.n_out), dtype=np.int64)
        z = np.zeros((ticks, c.n_rec), dtype=np.int64)
        cycles = np.zeros(ticks, dtype=np.int64)
        if "y" in what:
            per = m["out_y"].per_tick
            vals = g.regions["y"].unpack(self.read_words("out_y", start * per, ticks * per))
            y = vals.reshape(ticks, -1)[:, : c.n_out]
        if "z" in what:
            per = m["out_z"].per_tick
            vals = g.regions["z"].unpack(self.read_words("out_z", start * per, ticks * per))
            z = vals.reshape(ticks, -1)[:, : c.n_rec]
        if "cycles" in what:
            cycles = np.array(self.read_words("out_cycles", start, ticks), dtype=np.int64)
        return Outputs(y, z, cycles)

    def run_sequence(
        self,
        x: np.ndarray,
        targets: np.ndarray | None = None,
        valid: np.ndarray | None = None,
        learn: bool = False,
        what: Iterable[str] = ("y", "z", "cycles"),
        progress: Callable[[Iterable], Iterable] | None = None,
    ) -> Outputs:
        """Any number of ticks, a window at a time: load, run, read back; the state carries
        over from window to window exactly as in one long run."""
        x = np.asarray(x)
        ticks = x.shape[0]
        starts = range(0, ticks, self.window)
        parts = []
        for lo in progress(starts) if progress else starts:
            hi = min(ticks, lo + self.window)
            self.load_window(
                x[lo:hi],
                None if targets is None else np.asarray(targets)[lo:hi],
                None if valid is None else np.asarray(valid)[lo:hi],
            )
            self.run(hi - lo, learn=learn)
            parts.append(self.read_outputs(hi - lo, what=what))
        return Outputs.concat(parts)

    def train(self, x: np.ndarray, targets: np.ndarray, valid: np.ndarray, **kw) -> Outputs:
        """:meth:`run_sequence` with learning on."""
        return self.run_sequence(x, targets, valid, learn=True, **kw)
