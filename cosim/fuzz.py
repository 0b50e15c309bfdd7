"""Fuzzing the protocol engine: random, corrupted and hostile byte streams.

A campaign first fills every region (core memories, registers and the engine's buffers) with
random words through valid frames, then sends thousands of *cases*: frames with flipped bits,
truncated frames, wrong length fields, unknown commands, out-of-range arguments, oversized
lengths, garbage with and without sync bytes, spliced frames, and valid read-only probes in
between. After each case it waits until the engine is idle (a truncated frame times out) and
compares every reply with :class:`plasticore.cosim.protocol_model.ProtocolModel`. At the end it reads
every region back: nothing a bad frame carried may have been committed. The frame counters
(FRAMES_OK, FRAMES_ERR) must have counted exactly the replies seen.

No case is allowed to be a well-formed state-changing request: each one is predicted on a
copy of the model first and redrawn if it would commit a write or a run.

The campaign talks to any transport with ``write(bytes)`` and ``read_until_idle() -> bytes``
(``plasticore.cosim.host_transport.SimulatedTransport``).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

import numpy as np

from plasticore.contract.frame_codec import (
    ReplyDecoder,
    encode_request,
    mem_args,
    reg_read_args,
    reg_write_args,
    run_args,
)
from plasticore.contract.protocol_spec import (
    MAX_LENGTH,
    MEM_ARGS,
    N_REGS,
    SYNC_REQUEST,
    WRITABLE_REGS,
    Command,
    Reg,
    Status,
)
from plasticore.contract.system_map import SystemMap

from .protocol_model import ProtocolModel

__all__ = ["FuzzReport", "FrameFuzzer", "run_campaign", "CATEGORIES"]

#: case categories and their relative frequency
CATEGORIES = {
    "bitflip": 6,
    "truncate": 3,
    "length": 3,
    "command": 2,
    "range": 4,
    "oversize": 1,
    "garbage": 2,
    "garbage_sync": 2,
    "splice": 2,
    "probe": 3,
}
_KNOWN = {int(c) for c in Command}


@dataclass
class FuzzReport:
    """What a fuzz campaign sent and found.

    Attributes
    ----------
    cases : int
        Cases sent.
    by_category : dict of str to int
        Cases per category (``CATEGORIES``).
    bytes_sent : int
        Bytes sent, the initial fill included.
    replies : int
        Replies received.
    error_replies : int
        Replies with a status other than OK.
    silent_cases : int
        Cases that got no reply.
    statuses : dict of str to int
        Replies per status name.
    words_checked : int
        Words read back at the end.
    mismatches : list of str
        Differences from the reference model.
    seconds : float
        Wall-clock time of the campaign.
    cycles : int
        Simulated cycles (if the transport counts them).
    """

    cases: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    bytes_sent: int = 0
    replies: int = 0
    error_replies: int = 0
    silent_cases: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    words_checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cycles: int = 0

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["mismatches"] = len(self.mismatches)
        d["first_mismatches"] = self.mismatches[:5]
        return d


class FrameFuzzer:
    """Draws cases for a system map from a seeded generator."""

    def __init__(self, smap: SystemMap, seed: int):
        self.map = smap
        self.rng = np.random.default_rng(seed)
        self.regions = sorted(smap.regions.values(), key=lambda r: r.index)
        self.tag = 0

    def _tag(self) -> int:
        self.tag = (self.tag + 1) & 0xFF
        return self.tag

    def _int(self, lo: int, hi: int) -> int:
        """Uniform in lo..hi inclusive."""
        return int(self.rng.integers(lo, hi + 1))

    def _bytes(self, n: int) -> bytes:
        return self.rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()

    def random_words(self, region, n: int) -> list[int]:
        return (
            [int(v) for v in self.rng.integers(0, 1 << min(region.word_bits, 62), size=n)]
            if region.word_bits <= 62
            else [
                int.from_bytes(self._bytes(region.bytes_per_word), "little") & ((1 << region.word_bits) - 1)
                for _ in range(n)
            ]
        )

    def _span(self, region, write: bool) -> tuple[int, int]:
        """A valid word span; a quarter of them end exactly at the region's end."""
        most = self.map.max_words(region, write)
        count = self._int(1, min(most, region.depth))
        return (region.depth - count if self._int(0, 3) == 0 else self._int(0, region.depth - count)), count

    # well-formed requests ---------------------------------------------------------------------
    def valid_request(self, read_only: bool = False) -> tuple[int, bytes]:
        kinds = ["nop", "read_reg", "read_mem"] + ([] if read_only else ["write_reg", "write_mem", "clear", "run"])
        kind = kinds[self._int(0, len(kinds) - 1)]
        r = self.regions[self._int(0, len(self.regions) - 1)]
        if kind == "nop":
            return Command.NOP, b""
        if kind == "read_reg":
            first = self._int(0, N_REGS - 1)
            return Command.READ_REG, reg_read_args(first, self._int(1, N_REGS - first))
        if kind == "read_mem":
            start, count = self._span(r, write=False)
            return Command.READ_MEM, mem_args(r.index, start, count)
        if kind == "write_reg":
            return Command.WRITE_REG, reg_write_args(Reg.SCRATCH, self._int(0, 0xFFFF_FFFF))
        if kind == "write_mem":
            start, count = self._span(r, write=True)
            return Command.WRITE_MEM, mem_args(r.index, start, count) + r.words_to_bytes(self.random_words(r, count))
        if kind == "clear":
            start, count = self._span(r, write=False)
            return Command.CLEAR_MEM, mem_args(r.index, start, count)
        count = self._int(1, self.map.window)
        return Command.RUN, run_args(self._int(0, self.map.window - count), count, self._int(0, 1))

    def frame(self, read_only: bool = False) -> bytes:
        cmd, payload = self.valid_request(read_only)
        return encode_request(cmd, self._tag(), payload)

    # hostile cases ------------------------------------------------------------------------------
    def _out_of_range(self) -> bytes:
        m, tag = self.map, self._tag()
        choice = self._int(0, 9)
        r = self.regions[self._int(0, len(self.regions) - 1)]
        cmd = (Command.READ_MEM, Command.CLEAR_MEM, Command.WRITE_MEM)[self._int(0, 2)]

        def mem(region, addr, count):
            data = b""
            if cmd == Command.WRITE_MEM and region < len(self.regions):
                data = bytes(count * self.map.region(region).bytes_per_word)
            if len(data) + MEM_ARGS > m.max_payload:
                data = b""  # the length check answers first; still a bad request
            return encode_request(cmd, tag, mem_args(region, addr, count) + data)

        if choice == 0:  # no such region
            return mem(self._int(len(self.regions), 255), 0, 1)
        if choice == 1:  # runs past the end: by one word, or more
            count = self._int(1, min(r.depth, 16))
            past = 1 if self._int(0, 1) else self._int(2, 40)
            return mem(r.index, r.depth - count + past, count)
        if choice == 2:  # zero words
            return mem(r.index, 0, 0)
        if choice == 3:  # an address that only fits in 32 bits
            return mem(r.index, self._int(1 << 16, 0xFFFF_FFFF), 1)
        if choice == 4:  # a read larger than max_payload
            return encode_request(
                Command.READ_MEM, tag, mem_args(r.index, 0, min(0xFFFF, m.max_payload // r.bytes_per_word + 1))
            )
        if choice == 5:  # registers past the end / zero registers
            first = self._int(0, N_REGS)
            return encode_request(
                Command.READ_REG, tag, reg_read_args(first, N_REGS - first + self._int(1, 5) if self._int(0, 1) else 0)
            )
        if choice == 6:  # read-only or missing register
            read_only = [r for r in range(N_REGS) if r not in WRITABLE_REGS]
            reg = read_only[self._int(0, len(read_only) - 1)] if self._int(0, 1) else self._int(N_REGS, 255)
            return encode_request(Command.WRITE_REG, tag, reg_write_args(reg, self._int(0, 0xFFFF_FFFF)))
        if choice == 7:  # a frame timeout / watchdog below the minimum
            reg = (Reg.FRAME_TIMEOUT, Reg.WATCHDOG)[self._int(0, 1)]
            return encode_request(Command.WRITE_REG, tag, reg_write_args(reg, self._int(0, 15)))
        if choice == 8:  # no ticks, or ticks past the window
            if self._int(0, 1):
                return encode_request(Command.RUN, tag, run_args(self._int(0, m.window), 0, 0))
            first = self._int(0, m.window)
            return encode_request(Command.RUN, tag, run_args(first, self._int(m.window - first + 1, 0xFFFF), 0))
        return encode_request(Command.RUN, tag, run_args(0, 1, self._int(2, 255)))  # unknown flags

    def _bad_length(self) -> bytes:
        cmd, payload = self.valid_request()
        new = len(payload)
        while new == len(payload):
            new = self._int(0, len(payload) + 8) if self._int(0, 3) else self._int(0, MAX_LENGTH)
        if self._int(0, 1):
            # a consistent frame (good CRC) whose length is wrong for its command
            new = min(new, self.map.max_payload + 16)
            return encode_request(cmd, self._tag(), (payload + self._bytes(new))[:new])
        # the length field changed in flight: the CRC no longer matches
        frame = bytearray(encode_request(cmd, self._tag(), payload))
        struct.pack_into("<H", frame, 3, new)
        return bytes(frame)

    def case(self) -> tuple[str, bytes]:
        names = list(CATEGORIES)
        weights = np.array([CATEGORIES[n] for n in names], dtype=float)
        cat = names[int(self.rng.choice(len(names), p=weights / weights.sum()))]
        if cat == "bitflip":
            frame = bytearray(self.frame())
            for _ in range(self._int(1, 3)):
                i = self._int(0, len(frame) * 8 - 1)
                frame[i // 8] ^= 1 << (i % 8)
            data = bytes(frame)
        elif cat == "truncate":
            frame = self.frame()
            data = frame[: self._int(1, len(frame) - 1)]
        elif cat == "length":
            data = self._bad_length()
        elif cat == "command":
            cmd = self._int(0, 255)
            while cmd in _KNOWN:
                cmd = self._int(0, 255)
            data = encode_request(cmd, self._tag(), self._bytes(self._int(0, 24)))
        elif cat == "range":
            data = self._out_of_range()
        elif cat == "oversize":
            n = self._int(self.map.max_payload + 1, MAX_LENGTH)
            data = (
                bytes([SYNC_REQUEST])
                + struct.pack("<BBH", self._int(0, 255), self._tag(), n)
                + self._bytes(self._int(0, 64))
            )
        elif cat == "garbage":  # no sync byte: the engine must stay silent
            junk = bytes(b for b in self._bytes(self._int(1, 64)) if b != SYNC_REQUEST)
            data = junk + (self.frame(read_only=True) if self._int(0, 1) else b"")
        elif cat == "garbage_sync":
            junk = bytearray(self._bytes(self._int(1, 48)))
            junk[self._int(0, len(junk) - 1)] = SYNC_REQUEST
            data = bytes(junk)
        elif cat == "splice":  # a damaged frame, then a good one in the same burst
            first = bytearray(self.frame())
            first[self._int(1, len(first) - 1)] ^= 1 << self._int(0, 7)
            data = bytes(first) + self.frame(read_only=True)
        else:
            data = self.frame(read_only=True)
        return cat, data


def _exchange(transport, data: bytes) -> list:
    transport.write(data)
    return ReplyDecoder().feed(transport.read_until_idle())


def _compare(report: FuzzReport, where: str, got: list, expected: list) -> None:
    if len(got) != len(expected):
        report.mismatches.append(
            f"{where}: {len(got)} replies, expected {len(expected)} "
            f"(got {[r.describe() for r in got]}, expected {[str(e) for e in expected]})"
        )
        return
    for g, e in zip(got, expected, strict=True):
        if not e.matches(g):
            report.mismatches.append(f"{where}: got {g.describe()} payload {g.payload[:16].hex()}, expected {e}")


def run_campaign(transport, smap: SystemMap, cases: int, seed: int = 0) -> FuzzReport:
    """Fill, fuzz ``cases`` cases, read everything back; see the module docstring."""
    start = time.perf_counter()
    report = FuzzReport()
    fz = FrameFuzzer(smap, seed)
    # the registers the model cannot know from the map: read them once
    regs_reply = _exchange(transport, encode_request(Command.READ_REG, 0, reg_read_args(0, N_REGS)))
    if len(regs_reply) != 1 or not regs_reply[0].ok:
        raise RuntimeError(f"the device does not answer READ_REG: {[r.describe() for r in regs_reply]}")
    regs = [int.from_bytes(regs_reply[0].payload[4 * i : 4 * i + 4], "little") for i in range(N_REGS)]
    model = ProtocolModel(smap, {int(r): regs[r] for r in WRITABLE_REGS})
    frames_ok0, frames_err0 = regs[Reg.FRAMES_OK], regs[Reg.FRAMES_ERR]
    seen_ok = seen_err = 0

    def send(where: str, data: bytes) -> list:
        nonlocal seen_ok, seen_err
        got = _exchange(transport, data)
        expected = model.feed(data) + model.end_of_burst()
        _compare(report, where, got, expected)
        report.bytes_sent += len(data)
        for r in got:
            seen_ok += r.status == Status.OK
            seen_err += r.status != Status.OK
        return got

    # fill every region with random words (valid frames, tracked by the model)
    for r in fz.regions:
        step = smap.max_words(r, write=True)
        for lo in range(0, r.depth, step):
            n = min(step, r.depth - lo)
            send(
                f"fill {r.name}",
                encode_request(
                    Command.WRITE_MEM, 1, mem_args(r.index, lo, n) + r.words_to_bytes(fz.random_words(r, n))
                ),
            )
    commits = model.commits

    for i in range(cases):
        while True:
            cat, data = fz.case()
            twin = model.parser_copy()
            twin.feed(data)
            twin.end_of_burst()
            if twin.commits == model.commits:
                break
        report.by_category[cat] = report.by_category.get(cat, 0) + 1
        got = send(f"case {i} ({cat}, {data[:24].hex()}{'...' if len(data) > 24 else ''})", data)
        report.cases += 1
        report.replies += len(got)
        report.silent_cases += not got
        for r in got:
            name = Status(r.status).name if r.status in Status._value2member_map_ else hex(r.status)
            report.statuses[name] = report.statuses.get(name, 0) + 1
            report.error_replies += r.status != Status.OK
    if model.commits != commits:
        report.mismatches.append("a fuzz case was committed (generator bug)")

    # read everything back: unchanged, and valid commands still work
    for r in fz.regions:
        step = smap.max_words(r, write=False)
        for lo in range(0, r.depth, step):
            n = min(step, r.depth - lo)
            send(f"read back {r.name}[{lo}:{lo + n}]", encode_request(Command.READ_MEM, 2, mem_args(r.index, lo, n)))
            report.words_checked += n
    got = _exchange(transport, encode_request(Command.READ_REG, 3, reg_read_args(0, N_REGS)))
    if len(got) == 1 and got[0].ok:
        after = [int.from_bytes(got[0].payload[4 * i : 4 * i + 4], "little") for i in range(N_REGS)]
        for reg in WRITABLE_REGS:
            if after[reg] != model.regs[int(reg)]:
                report.mismatches.append(f"register {Reg(reg).name}: {after[reg]:#x} != {model.regs[int(reg)]:#x}")
        # a READ_REG's reply already counts itself: the first one is in frames_ok0, the final one
        # in the difference
        if after[Reg.FRAMES_OK] - frames_ok0 != seen_ok + 1 or after[Reg.FRAMES_ERR] - frames_err0 != seen_err:
            report.mismatches.append(
                f"frame counters: ok +{after[Reg.FRAMES_OK] - frames_ok0} err +{after[Reg.FRAMES_ERR] - frames_err0}, "
                f"replies seen ok {seen_ok + 1} err {seen_err}"
            )
    else:
        report.mismatches.append(f"final READ_REG failed: {[r.describe() for r in got]}")
    report.seconds = time.perf_counter() - start
    report.cycles = getattr(transport, "cycles", 0)
    return report
