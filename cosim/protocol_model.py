"""A Python reference model of the protocol engine: which replies a byte stream must get.

The fuzz tests compare the RTL's replies with this model's, frame for frame: status, command
and tag echo, payload length, and the payload itself wherever the model knows the memory
(it mirrors every word written through it; words it never saw, and everything a RUN
changes, are unknown and compare as "any"). It follows the order of checks that
``hdl/protocol.py`` and docs/protocol.md define; an independent rewrite of the parser, so a
bug in one shows up as a disagreement.

Timing enters in one place only: a frame left incomplete at the end of a burst (when the
host waits for replies) times out, as the engine does after FRAME_TIMEOUT idle cycles.
"""

from __future__ import annotations

import copy
import struct
from dataclasses import dataclass

from plasticore.contract.frame_codec import Reply
from plasticore.contract.protocol_spec import (
    CRC_INIT,
    FIXED_LENGTHS,
    MEM_ARGS,
    MIN_FRAME_TIMEOUT,
    MIN_WATCHDOG,
    N_REGS,
    RUN_FLAG_LEARN,
    RUN_FLAGS_KNOWN,
    SYNC_REQUEST,
    WRITABLE_REGS,
    Command,
    Reg,
    Status,
    crc16_update,
)
from plasticore.contract.system_map import SystemMap
from plasticore.golden.registers import REGISTER_FIELDS, register_ranges

__all__ = ["ProtocolModel", "Expected"]


@dataclass(frozen=True)
class Expected:
    """A reply the model predicts. ``payload`` None means "any bytes of this length"; with
    ``known`` (a byte mask), only the bytes whose mask is 0xFF are predicted."""

    cmd: int
    tag: int
    status: int
    length: int
    payload: bytes | None
    known: bytes | None = None

    def matches(self, r: Reply) -> bool:
        if not r.crc_ok or (r.cmd, r.tag, r.status, len(r.payload)) != (self.cmd, self.tag, self.status, self.length):
            return False
        if self.payload is None:
            return True
        if self.known is None:
            return r.payload == self.payload
        return all(k == 0 or a == b for a, b, k in zip(r.payload, self.payload, self.known, strict=True))

    def __str__(self):
        try:
            st = Status(self.status).name
        except ValueError:
            st = hex(self.status)
        return f"cmd 0x{self.cmd:02x} tag {self.tag}: {st}, {self.length} bytes"


class ProtocolModel:
    """A Python reference model of the protocol engine: the replies a byte stream must get.

    Parameters
    ----------
    smap : :class:`~plasticore.contract.system_map.SystemMap`
        The address space (regions, window, largest payload).
    registers : dict of int to int, optional
        Known register values (others but the constant ones are unknown until written).

    Attributes
    ----------
    map : :class:`~plasticore.contract.system_map.SystemMap`
        The address space.
    mem : dict of int to dict of int to int
        Known words of each region, by region index and word.
    regs : dict of int to int or None
        Register values (None: unknown).
    commits : int
        Executed requests that changed memory, registers or the core.
    core_busy : bool
        The core runs a tick the watchdog gave up on.
    holes : dict of str to frozenset of int
        Words of a region that no memory backs.
    """

    def __init__(self, smap: SystemMap, registers: dict[int, int] | None = None):
        self.map = smap
        self.mem: dict[int, dict[int, int]] = {r.index: {} for r in smap.regions.values()}
        self.regs: dict[int, int | None] = {int(r): None for r in Reg}
        self.regs.update({int(k): v for k, v in smap.constant_registers().items()})
        if registers:
            self.regs.update(registers)
        #: executed requests that changed memory, registers or the core
        self.commits = 0
        #: the core runs a tick the watchdog gave up on (the tests that cause it set this)
        self.core_busy = False
        #: words of a region that no memory backs: the banks of B are padded to a power-of-two
        #: stride (plasticore.contract.geometry), and the padding is neither stored nor read back
        self.holes = {"b_fb": frozenset(smap.geometry.unheld_words("b_fb"))}
        #: the values each learning register accepts, by word of region ``params``
        ranges = register_ranges(smap.cfg)
        self.param_ranges = [ranges[name] for name in REGISTER_FIELDS]
        self._hunt()

    # memory mirror --------------------------------------------------------------------------
    def know(self, region: str, start: int, words) -> None:
        """Tell the model the content of words it did not see written (e.g. after a RUN)."""
        r = self.map.regions[region]
        for i, w in enumerate(words):
            self.mem[r.index][start + i] = int(w)

    def forget(self, region: str) -> None:
        self.mem[self.map.regions[region].index].clear()

    # parser state ------------------------------------------------------------------------------
    def _hunt(self):
        self.state = "HUNT"
        self.cmd = self.tag = 0
        self.length = 0
        self.header = bytearray()
        self.payload = bytearray()
        self.crc_bytes = 0
        self.crc = CRC_INIT

    def _reply(self, status: int, length: int = 0, payload: bytes | None = b"", known: bytes | None = None) -> Expected:
        ok = status == Status.OK
        e = Expected(self.cmd, self.tag, status, length if ok else 0, payload if ok else b"", known if ok else None)
        self._hunt()
        return e

    def feed(self, data: bytes) -> list[Expected]:
        out = []
        for b in data:
            if self.state == "HUNT":
                if b == SYNC_REQUEST:
                    self._hunt()
                    self.state = "HEADER"
                continue
            self.crc = crc16_update(self.crc, b)
            if self.state == "HEADER":
                self.header.append(b)
                if len(self.header) == 1:
                    self.cmd = b
                elif len(self.header) == 2:
                    self.tag = b
                elif len(self.header) == 4:
                    self.length = self.header[2] | self.header[3] << 8
                    if self.length > self.map.max_payload:
                        out.append(self._reply(Status.LENGTH))
                    else:
                        self.state = "PAYLOAD" if self.length else "CRC"
            elif self.state == "PAYLOAD":
                self.payload.append(b)
                if len(self.payload) == self.length:
                    self.state = "CRC"
            elif self.state == "CRC":
                self.crc_bytes += 1
                if self.crc_bytes == 2:
                    out.append(self._execute() if self.crc == 0 else self._reply(Status.CRC))
        return out

    def end_of_burst(self) -> list[Expected]:
        """The host stops sending and waits: a partial frame times out."""
        if self.state == "HUNT":
            return []
        return [self._reply(Status.TIMEOUT)]

    # checks and effects -------------------------------------------------------------------------
    def check(self, cmd: int, length: int, args: bytes) -> int:
        """The status the engine gives a request with a good CRC (docs/protocol.md order)."""
        a = bytes(args[:MEM_ARGS]).ljust(MEM_ARGS, b"\0")
        try:
            command = Command(cmd)
        except ValueError:
            return Status.COMMAND
        if command == Command.WRITE_MEM:
            if length < MEM_ARGS:
                return Status.LENGTH
        elif length != FIXED_LENGTHS[command]:
            return Status.LENGTH
        if command == Command.READ_REG:
            index, count = a[0], a[1]
            return Status.RANGE if count == 0 or index + count > N_REGS else Status.OK
        if command == Command.WRITE_REG:
            index, value = a[0], struct.unpack_from("<I", a, 1)[0]
            if index >= N_REGS:
                return Status.RANGE
            if index not in WRITABLE_REGS:
                return Status.READ_ONLY
            if (index == Reg.FRAME_TIMEOUT and value < MIN_FRAME_TIMEOUT) or (
                index == Reg.WATCHDOG and value < MIN_WATCHDOG
            ):
                return Status.RANGE
            return Status.OK
        if command in (Command.READ_MEM, Command.WRITE_MEM, Command.CLEAR_MEM):
            region, addr, count = struct.unpack_from("<BIH", a)
            r = self._region(region)
            if r is None or count == 0 or addr + count > r.depth:
                return Status.RANGE
            if command == Command.READ_MEM and count * r.bytes_per_word > self.map.max_payload:
                return Status.RANGE
            if command == Command.WRITE_MEM and length != MEM_ARGS + count * r.bytes_per_word:
                return Status.LENGTH
            if self.core_busy and region < self.map.n_core_regions:
                return Status.BUSY
            return Status.OK
        if command == Command.RUN:
            start, count, flags = struct.unpack_from("<HHB", a)
            if count == 0 or start + count > self.map.window or flags & ~RUN_FLAGS_KNOWN:
                return Status.RANGE
            if self.core_busy:
                return Status.BUSY
        return Status.OK

    def _region(self, index: int):
        for r in self.map.regions.values():
            if r.index == index:
                return r
        return None

    def parser_copy(self) -> ProtocolModel:
        """A model in the same parser state sharing nothing mutable: to predict a burst
        without committing it."""
        twin = copy.copy(self)
        twin.mem = {k: dict(v) for k, v in self.mem.items()}
        twin.regs = dict(self.regs)
        twin.header, twin.payload = bytearray(self.header), bytearray(self.payload)
        return twin

    def _execute(self) -> Expected:
        p = bytes(self.payload)
        status = self.check(self.cmd, self.length, p)
        if status != Status.OK:
            return self._reply(status)
        cmd = self.cmd
        if cmd in (Command.WRITE_REG, Command.WRITE_MEM, Command.CLEAR_MEM, Command.RUN):
            self.commits += 1
        if cmd == Command.NOP:
            return self._reply(Status.OK)
        if cmd == Command.READ_REG:
            index, count = p[0], p[1]
            values = [self.regs[i] for i in range(index, index + count)]
            data = None if None in values else b"".join(v.to_bytes(4, "little") for v in values)
            return self._reply(Status.OK, 4 * count, data)
        if cmd == Command.WRITE_REG:
            self.regs[p[0]] = struct.unpack_from("<I", p, 1)[0]
            return self._reply(Status.OK)
        if cmd == Command.RUN:
            return self._run(p)
        region, addr, count = struct.unpack_from("<BIH", p)
        r = self._region(region)
        mem = self.mem[region]
        holes = self.holes.get(r.name, ())
        if cmd == Command.READ_MEM:
            words = [None if addr + i in holes else mem.get(addr + i) for i in range(count)]
            if all(w is None for w in words):
                return self._reply(Status.OK, count * r.bytes_per_word, None)
            bpw = r.bytes_per_word
            data = r.words_to_bytes(0 if w is None else w for w in words)
            known = b"".join((b"\0" if w is None else b"\xff") * bpw for w in words)
            return self._reply(Status.OK, count * bpw, data, known)
        if cmd == Command.WRITE_MEM:
            for i, w in enumerate(r.bytes_to_words(p[MEM_ARGS:])):
                self._store(r.name, mem, addr + i, w & ((1 << r.word_bits) - 1))
            return self._reply(Status.OK)
        # CLEAR_MEM
        for i in range(count):
            self._store(r.name, mem, addr + i, 0)
        return self._reply(Status.OK)

    def _store(self, region: str, mem: dict[int, int], word: int, value: int) -> None:
        """Store a written word as the chip does: a learning register ignores a value outside
        its range and keeps the one it holds (hdl/learning_registers.py)."""
        if region == "params":
            lo, hi = self.param_ranges[word]
            if not lo <= value <= hi:
                return
        mem[word] = value

    def _run(self, p: bytes) -> Expected:
        """RUN: the core's state, its registers and the output buffers change in ways the model
        does not compute (golden does, in the tests that run ticks)."""
        changed = [
            "u",
            "a",
            "ref",
            "v",
            "y",
            "e",
            "z",
            "x",
            "target",
            "xbar",
            "zbar",
            "zobar",
            "out_y",
            "out_z",
            "out_cycles",
        ]
        if p[4] & RUN_FLAG_LEARN:
            changed += [name for name in self.map.geometry.regions if name not in changed]
        for name in changed:
            if name in self.map.regions:
                self.forget(name)
        for reg in (Reg.TICKS, Reg.TICK_CYCLES, Reg.RUN_TICKS, Reg.RUN_CORE_CYCLES, Reg.RUN_CYCLES, Reg.STATUS):
            self.regs[int(reg)] = None
        return self._reply(Status.OK)
