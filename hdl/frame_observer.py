"""The protocol engine's formal properties: a ghost observer of its streams and its commits.

Built only into a ``ProtocolEngine(..., formal=True)`` (docs/reliability.md, "Formal"). It
follows the request bytes on ``rx`` by its own count, independently of the receiver and the
checker (the CRC residue it reads is the shared CRC register's, whose function
``tests/test_protocol.py`` checks against the spec), and asserts what docs/protocol.md promises at the engine's edge:

* *commit only on a good frame*: the engine writes a memory, a buffer or a register, or starts
  a tick, only for a complete frame whose CRC is good, whose command writes (WRITE_REG,
  WRITE_MEM, CLEAR_MEM, RUN) and whose length is that command's, and only inside what the
  frame addresses (WRITE_MEM, CLEAR_MEM: the requested words, all inside the region; WRITE_REG:
  the named writable register; RUN: a window of ticks inside the buffers);
* *a refused frame is answered at once*: a complete frame the engine must refuse (bad CRC,
  unknown command, bad length, addresses out of range) has its reply started within
  ``REFUSE_CYCLES`` cycles of its last byte, and a header with a length above ``max_payload``
  within as many cycles of the header;
* *a truncated frame is answered*: inside a frame, after FRAME_TIMEOUT + ``REFUSE_CYCLES``
  cycles without a byte the reply has started;
* *no deadlock*: outside the hunt for a sync byte, something happens (a byte in or out, the
  host holding a reply byte, a write) at least every max(FRAME_TIMEOUT, WATCHDOG) + twice the
  widest word's bytes + ``STALL_SLACK`` cycles, so the engine always comes back to the hunt.

FRAME_TIMEOUT and WATCHDOG are followed through the engine's writes to them. Each group of
properties can be added alone (``properties``): a proof of one group is much faster than of all.
"""

from __future__ import annotations

from amaranth.hdl import Assert, Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from plasticore.contract.protocol_spec import (
    FIXED_LENGTHS,
    MEM_ARGS,
    REG_BITS,
    SYNC_REQUEST,
    WRITABLE_REGS,
    Command,
    Reg,
)
from plasticore.contract.system_map import SystemMap

from .region_port import REGISTER_WORDS, register_region

__all__ = ["FrameObserver", "PROPERTIES", "REFUSE_CYCLES", "STALL_SLACK"]

#: the groups of properties, in the order of the module docstring
PROPERTIES = ("commit", "refused", "truncated", "progress")

#: cycles from a refused frame's last byte to its reply (the CHECK state, and one to spare)
REFUSE_CYCLES = 3
#: cycles of a step with no byte moving and no write, beyond the longest wait, besides
#: WRITE_MEM's assembly of a word (two cycles a byte): RUN's steps between its copies, a
#: reply's word read
STALL_SLACK = 4

_HEADER = 4  # cmd, tag, length (2 bytes)
_WRITERS = (Command.WRITE_REG, Command.WRITE_MEM, Command.CLEAR_MEM, Command.RUN)


class FrameObserver(wiring.Component):
    """Asserts the protocol engine's safety and progress properties from its edge.

    Parameters
    ----------
    smap : :class:`~plasticore.contract.system_map.SystemMap`
        The engine's address space.
    frame_timeout, watchdog : int
        The initial values of registers FRAME_TIMEOUT and WATCHDOG.
    properties : tuple of str
        The groups of properties to assert (of ``PROPERTIES``).

    Members
    -------
    rx_valid, rx_ready, rx_byte : In(1), In(1), In(8)
        The request stream.
    crc_next : In(16)
        The shared CRC register after the byte on ``rx``.
    tx_valid, tx_ready : In(1), In(1)
        The reply stream.
    hunting : In(1)
        The engine hunts for a sync byte.
    reply_start : In(1)
        A reply starts.
    we, region, addr, wdata : In(1), In(...), In(...), In(...)
        The engine's word port (every write to a core memory, a buffer or a register).
    start : In(1)
        A tick starts.
    """

    def __init__(self, smap: SystemMap, frame_timeout: int, watchdog: int, properties: tuple = PROPERTIES):
        unknown = set(properties) - set(PROPERTIES)
        if unknown:
            raise ValueError(f"properties: {sorted(unknown)!r} are not among {PROPERTIES}")
        self.properties = tuple(properties)
        self.map = smap
        self.frame_timeout = frame_timeout
        self.watchdog = watchdog
        width = 8 * max(r.bytes_per_word for r in smap.regions.values())
        super().__init__(
            {
                "rx_valid": In(1),
                "rx_ready": In(1),
                "rx_byte": In(8),
                "crc_next": In(16),
                "tx_valid": In(1),
                "tx_ready": In(1),
                "hunting": In(1),
                "reply_start": In(1),
                "we": In(1),
                "region": In(range(len(smap.regions) + 1)),
                "addr": In(smap.addr_bits),
                "wdata": In(width),
                "start": In(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        smap = self.map
        max_payload = smap.max_payload
        got = self.rx_valid & self.rx_ready
        commit = self.we | self.start

        # -- the frame, by the observer's own count ----------------------------------------
        in_frame = Signal()  # after a sync byte, until the frame ends or is answered
        ended = Signal()  # the frame's last byte (or a refused header) has been taken
        idx = Signal(range(_HEADER + max_payload + 3))  # bytes taken after the sync byte
        cmd, length = Signal(8), Signal(16)
        args = Signal(8 * MEM_ARGS)
        crc_ok = Signal()
        with m.If(got & self.hunting & (self.rx_byte == SYNC_REQUEST)):
            m.d.sync += [in_frame.eq(1), ended.eq(0), idx.eq(0), length.eq(0), args.eq(0)]
        with m.Elif(got & in_frame):
            m.d.sync += idx.eq(idx + 1)
            with m.Switch(idx):
                with m.Case(0):
                    m.d.sync += cmd.eq(self.rx_byte)
                with m.Case(2):
                    m.d.sync += length[0:8].eq(self.rx_byte)
                with m.Case(3):
                    full = Cat(length[0:8], self.rx_byte)
                    m.d.sync += length.eq(full)
                    with m.If(full > max_payload):  # refused in the header
                        m.d.sync += [in_frame.eq(0), ended.eq(1), crc_ok.eq(0)]
            for i in range(MEM_ARGS):
                with m.If((idx == _HEADER + i) & (i < length)):
                    m.d.sync += args[8 * i : 8 * i + 8].eq(self.rx_byte)
            with m.If((idx >= _HEADER) & (idx == _HEADER + length + 1)):  # the second CRC byte
                m.d.sync += [in_frame.eq(0), ended.eq(1), crc_ok.eq(self.crc_next == 0)]
        with m.If(self.reply_start & in_frame):  # answered before its end: truncated
            m.d.sync += in_frame.eq(0)

        # -- what a good frame is, command by command ---------------------------------------
        regions = sorted(smap.regions.values(), key=lambda r: r.index)
        a_region, a_addr, a_count = args[0:8], args[8:40], args[40:56]
        r_index = args[0:8]
        run_start, run_count = args[0:16], args[16:32]
        depth = Signal(range(max(r.depth for r in regions) + 1))
        nbytes = Signal(16 + 8)  # a_count words in bytes
        with m.Switch(a_region):
            for r in regions:
                with m.Case(r.index):
                    m.d.comb += [depth.eq(r.depth), nbytes.eq(a_count * r.bytes_per_word)]
        window_end = a_addr + a_count  # exact: Amaranth widens
        mem_window = (a_region < len(regions)) & (a_count != 0) & (window_end <= depth)
        good = Signal()
        with m.Switch(cmd):
            with m.Case(Command.WRITE_REG):
                writable = Cat(r_index == reg for reg in sorted(WRITABLE_REGS)).any()
                m.d.comb += good.eq((length == FIXED_LENGTHS[Command.WRITE_REG]) & writable)
            with m.Case(Command.WRITE_MEM):
                m.d.comb += good.eq(mem_window & (length == MEM_ARGS + nbytes))
            with m.Case(Command.CLEAR_MEM):
                m.d.comb += good.eq(mem_window & (length == FIXED_LENGTHS[Command.CLEAR_MEM]))
            with m.Case(Command.RUN):
                in_window = (run_count != 0) & (run_start + run_count <= smap.window)
                m.d.comb += good.eq((length == FIXED_LENGTHS[Command.RUN]) & in_window)
        accepted = ended & crc_ok & good

        # -- commit only on a good frame, only where it points ------------------------------
        REGS = register_region(smap)
        reg_word = Signal.like(self.addr)
        with m.Switch(r_index):
            for reg in sorted(WRITABLE_REGS):
                with m.Case(reg):
                    m.d.comb += reg_word.eq(REGISTER_WORDS[reg])
        with m.If(commit & ("commit" in self.properties)):
            m.d.comb += Assert(accepted)
            with m.Switch(cmd):
                with m.Case(Command.WRITE_REG):
                    m.d.comb += Assert(~self.start & (self.region == REGS) & (self.addr == reg_word))
                with m.Case(Command.WRITE_MEM, Command.CLEAR_MEM):
                    inside = (self.addr >= a_addr) & (self.addr < window_end)
                    m.d.comb += Assert(~self.start & (self.region == a_region) & inside)

        # -- the registers the waits are bounded by -----------------------------------------
        timeout = Signal(REG_BITS, init=self.frame_timeout)
        watchdog = Signal(REG_BITS, init=self.watchdog)
        for reg, value in ((Reg.FRAME_TIMEOUT, timeout), (Reg.WATCHDOG, watchdog)):
            with m.If(self.we & (self.region == REGS) & (self.addr == REGISTER_WORDS[reg])):
                m.d.sync += value.eq(self.wdata[:REG_BITS])

        # -- a refused frame is answered at once, a truncated one after the timeout ---------
        since_end = Signal(range(REFUSE_CYCLES + 2))
        waiting = ended & ~accepted & ~in_frame
        with m.If(self.reply_start | ~waiting | (self.hunting & got)):
            m.d.sync += since_end.eq(0)
        with m.Elif(since_end <= REFUSE_CYCLES):
            m.d.sync += since_end.eq(since_end + 1)
        answered = Signal()  # the reply of the current frame has started
        with m.If(got & self.hunting & (self.rx_byte == SYNC_REQUEST)):
            m.d.sync += answered.eq(0)
        with m.Elif(self.reply_start):
            m.d.sync += answered.eq(1)
        if "refused" in self.properties:
            m.d.comb += Assert(answered | ~waiting | (since_end <= REFUSE_CYCLES))

        gap = Signal(REG_BITS + 1)
        with m.If(~in_frame | got):
            m.d.sync += gap.eq(0)
        with m.Elif(gap <= timeout + REFUSE_CYCLES):
            m.d.sync += gap.eq(gap + 1)
        if "truncated" in self.properties:
            m.d.comb += Assert(gap <= timeout + REFUSE_CYCLES)

        # -- no deadlock: the engine keeps moving until it hunts again ---------------------
        stall = Signal(REG_BITS + 1)
        moving = self.hunting | got | self.tx_valid | commit  # (a reply byte sent, or held by the host)
        widest = max(r.bytes_per_word for r in smap.regions.values())
        longest = Mux(timeout > watchdog, timeout, watchdog) + 2 * widest + STALL_SLACK
        with m.If(moving):
            m.d.sync += stall.eq(0)
        with m.Elif(stall <= longest):
            m.d.sync += stall.eq(stall + 1)
        if "progress" in self.properties:
            m.d.comb += Assert(stall <= longest)
        return m
