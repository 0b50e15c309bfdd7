"""Checking a request after its CRC: command, length, arguments, then BUSY.

The checks and their order are those of ``docs/protocol.md``: ``COMMAND``, ``LENGTH``,
``RANGE``, ``READ_ONLY`` and, last in every command's order, ``BUSY``. All but ``BUSY`` depend
on the frame alone, which is complete two bytes before the check (the CRC follows it): they are
registered on the way, which takes their multiplier and comparators out of the path of the
check itself. ``BUSY`` is decided from the core's state at the time of the check.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.protocol_spec import (
    FIXED_LENGTHS,
    MEM_ARGS,
    MIN_FRAME_TIMEOUT,
    MIN_WATCHDOG,
    N_REGS,
    RUN_FLAGS_KNOWN,
    WRITABLE_REGS,
    Command,
    Reg,
    Status,
)
from plasticore.contract.system_map import SystemMap

from .frame_receiver import Request

__all__ = ["FrameChecker", "max_bytes_per_word"]


def max_bytes_per_word(smap: SystemMap) -> int:
    """Bytes of the widest word of any region."""
    return max(r.bytes_per_word for r in smap.regions.values())


class FrameChecker(wiring.Component):
    """The status a request with a good CRC gets, and what its memory arguments address.

    Parameters
    ----------
    smap : :class:`~plasticore.contract.system_map.SystemMap`
        The address space (regions, run window, largest payload).

    Members
    -------
    request : :py:`In(Request(smap.max_payload))`
        The received frame.
    busy : :py:`In(1)`
        The core runs a tick (it serves its bus only while idle).
    status : :py:`Out(8)`
        ``OK`` or the first failed check, valid in the cycle after the frame's last byte.
    bytes_per_word : :py:`Out(range(max bytes per word + 1))`
        Bytes per word of the region a memory command addresses.
    read_length : :py:`Out(range(smap.max_payload + 1))`
        Payload length of the reply to READ_MEM (count times bytes per word), registered
        like the checks.
    """

    def __init__(self, smap: SystemMap):
        self.map = smap
        super().__init__(
            {
                "request": In(Request(smap.max_payload)),
                "busy": In(1),
                "status": Out(8),
                "bytes_per_word": Out(range(max_bytes_per_word(smap) + 1)),
                "read_length": Out(range(smap.max_payload + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        smap = self.map
        regions = sorted(smap.regions.values(), key=lambda r: r.index)
        max_bpw = max_bytes_per_word(smap)
        cmd, length, args = self.request.cmd, self.request.length, self.request.args
        a_region, a_addr, a_count = args[0:8], args[8:40], args[40:56]
        r_index, r_count, r_value = args[0:8], args[8:16], args[8:40]
        run_start, run_count, run_flags = args[0:16], args[16:32], args[32:40]

        # -- per-region constants of the addressed region ---------------------------------
        # Internal widths come from the map, not from the wire format: a_addr and a_count are
        # compared in the bits of the deepest region (wider values are out of range anyway, and
        # nbytes only matters for counts in range).
        max_depth = max(r.depth for r in regions)
        region_ok = a_region < len(regions)
        abits = max_depth.bit_length()
        depth = Signal(range(max_depth + 1))
        bpw = self.bytes_per_word
        nbytes = Signal(range(max_depth * max_bpw + 1))  # count * bytes per word (count in range)
        with m.Switch(a_region):
            for r in regions:
                with m.Case(r.index):
                    m.d.comb += [
                        depth.eq(r.depth),
                        bpw.eq(r.bytes_per_word),
                        nbytes.eq(a_count[:abits] * r.bytes_per_word),
                    ]
        narrow = (a_addr[abits:] == 0) & ((a_count[abits:] == 0) if abits < 16 else 1)
        mem_in_range = region_ok & narrow & (a_count != 0) & ((a_addr[:abits] + a_count[:abits]) <= depth)
        # the core serves its bus only while idle: refuse rather than lose an access
        core_busy = self.busy & (a_region < smap.n_core_regions)

        frame_check = Signal(8)
        fixed = {int(c): n for c, n in FIXED_LENGTHS.items()}
        with m.Switch(cmd):
            with m.Case(Command.NOP):
                m.d.comb += frame_check.eq(Mux(length == fixed[Command.NOP], Status.OK, Status.LENGTH))
            with m.Case(Command.READ_REG):
                with m.If(length != fixed[Command.READ_REG]):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif((r_count == 0) | ((r_index + r_count) > N_REGS)):
                    m.d.comb += frame_check.eq(Status.RANGE)
            with m.Case(Command.WRITE_REG):
                writable = Cat(r_index == int(reg) for reg in sorted(WRITABLE_REGS)).any()
                with m.If(length != fixed[Command.WRITE_REG]):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif(r_index >= N_REGS):
                    m.d.comb += frame_check.eq(Status.RANGE)
                with m.Elif(~writable):
                    m.d.comb += frame_check.eq(Status.READ_ONLY)
                with m.Elif(
                    ((r_index == Reg.FRAME_TIMEOUT) & (r_value < MIN_FRAME_TIMEOUT))
                    | ((r_index == Reg.WATCHDOG) & (r_value < MIN_WATCHDOG))
                ):
                    m.d.comb += frame_check.eq(Status.RANGE)
            with m.Case(Command.READ_MEM):
                with m.If(length != fixed[Command.READ_MEM]):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif(~mem_in_range | (nbytes > smap.max_payload)):
                    m.d.comb += frame_check.eq(Status.RANGE)
            with m.Case(Command.WRITE_MEM):
                with m.If(length < MEM_ARGS):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif(~mem_in_range):
                    m.d.comb += frame_check.eq(Status.RANGE)
                with m.Elif(length != MEM_ARGS + nbytes):
                    m.d.comb += frame_check.eq(Status.LENGTH)
            with m.Case(Command.CLEAR_MEM):
                with m.If(length != fixed[Command.CLEAR_MEM]):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif(~mem_in_range):
                    m.d.comb += frame_check.eq(Status.RANGE)
            with m.Case(Command.RUN):
                with m.If(length != fixed[Command.RUN]):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif(
                    (run_count == 0) | ((run_start + run_count) > smap.window) | ((run_flags & ~RUN_FLAGS_KNOWN) != 0)
                ):
                    m.d.comb += frame_check.eq(Status.RANGE)
            with m.Default():
                m.d.comb += frame_check.eq(Status.COMMAND)

        frame_check_q, nbytes_q = Signal(8), Signal.like(nbytes)
        m.d.sync += [frame_check_q.eq(frame_check), nbytes_q.eq(nbytes)]
        m.d.comb += self.read_length.eq(nbytes_q)
        refused_busy = Signal()
        with m.Switch(cmd):
            with m.Case(Command.READ_MEM, Command.WRITE_MEM, Command.CLEAR_MEM):
                m.d.comb += refused_busy.eq(core_busy)
            with m.Case(Command.RUN):
                m.d.comb += refused_busy.eq(self.busy)
        m.d.comb += self.status.eq(
            Mux(frame_check_q != Status.OK, frame_check_q, Mux(refused_busy, Status.BUSY, Status.OK))
        )
        return m
