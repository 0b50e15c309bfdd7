"""One word port over every region of the protocol's address space.

The protocol engine reaches the core's memories (over its :class:`~plasticore.hdl.bus.MemoryBus`),
its own tick buffers and its writable registers through a single port, addressed by region
index and word. The buffers and the writable registers share one memory (one read port, one
data mux).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from plasticore.contract.protocol_spec import REG_BITS, WRITABLE_REGS, Reg
from plasticore.contract.system_map import SystemMap

from .bus import MemoryBus

__all__ = ["RegionAccess", "RegionPort", "REGISTER_WORDS", "register_region"]

#: the word of each writable register in the register block (``register_region``)
REGISTER_WORDS: dict[Reg, int] = {reg: i for i, reg in enumerate(sorted(WRITABLE_REGS))}


def register_region(smap: SystemMap) -> int:
    """The region index of the writable registers on a :class:`RegionPort` (not a protocol region)."""
    return len(smap.regions)


class RegionAccess(wiring.Signature):
    """Signature of a word access to a region, from the side of the requester.

    Parameters
    ----------
    smap : :class:`~plasticore.contract.system_map.SystemMap`
        The address space: its regions and the widest word of any of them.

    Members
    -------
    region : :py:`Out(range(len(smap.regions) + 1))`
        Region index; :func:`register_region` selects the writable registers.
    addr : :py:`Out(smap.addr_bits)`
        Word address inside the region.
    wdata : :py:`Out(8 * max bytes per word)`
        Word to write.
    we : :py:`Out(1)`
        Write strobe: the word is written at the end of the cycle.
    re : :py:`Out(1)`
        Read strobe (matters for the core's regions: a buffer or register word is read
        every cycle).
    rdata : :py:`In(8 * max bytes per word)`
        The word read at the address of the previous cycle.
    """

    def __init__(self, smap: SystemMap):
        self.map = smap
        width = 8 * max(r.bytes_per_word for r in smap.regions.values())
        super().__init__(
            {
                "region": Out(range(len(smap.regions) + 1)),
                "addr": Out(smap.addr_bits),
                "wdata": Out(width),
                "we": Out(1),
                "re": Out(1),
                "rdata": In(width),
            }
        )

    def __eq__(self, other):
        return type(self) is type(other) and self.map is other.map

    def __repr__(self):
        return f"RegionAccess({self.map.cfg.name})"


class RegionPort(wiring.Component):
    """Serves a :class:`RegionAccess` from the core's bus, the tick buffers or the registers.

    The tick buffers share one memory: buffer ``r`` occupies a contiguous block of its words.
    A word wider than its buffer is masked on the way in, so that a read gives back exactly
    what the region holds. The writable registers (SCRATCH, FRAME_TIMEOUT, WATCHDOG) are the
    memory's last words, initialized from ``reg_init`` (set at configuration, not by a logic
    reset). The core's regions are reached over ``bus`` (which the core serves only while idle).

    Parameters
    ----------
    smap : :class:`~plasticore.contract.system_map.SystemMap`
        The address space.
    reg_init : :class:`dict` of :class:`~plasticore.contract.protocol_spec.Reg` to :class:`int`
        Initial value of each writable register.

    Members
    -------
    access : :py:`In(RegionAccess(smap))`
        The word port.
    bus : :py:`Out(MemoryBus(smap.geometry))`
        The core's memory bus.
    """

    def __init__(self, smap: SystemMap, reg_init: dict[Reg, int]):
        if set(reg_init) != set(WRITABLE_REGS):
            raise ValueError(f"reg_init: needs exactly the writable registers, not {sorted(reg_init)!r}")
        self.map = smap
        self.reg_init = dict(reg_init)
        super().__init__(
            {
                "access": In(RegionAccess(smap)),
                "bus": Out(MemoryBus(smap.geometry)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        smap, geom, acc = self.map, self.map.geometry, self.access
        regions = sorted(smap.regions.values(), key=lambda r: r.index)
        buffers = [r for r in regions if r.is_buffer]
        REGS = register_region(smap)
        is_core = acc.region < smap.n_core_regions
        m.d.comb += [
            self.bus.addr.eq(Cat(acc.addr[: geom.word_addr_bits], acc.region[: geom.region_bits])),
            self.bus.wdata.eq(acc.wdata),
            self.bus.we.eq(acc.we & is_core),
            self.bus.re.eq(acc.re & is_core),
        ]
        base, total = {}, 0
        for r in buffers:
            base[r.index], total = total, total + r.depth
        base[REGS] = total
        wregs = sorted(WRITABLE_REGS)
        buf_bits = max([r.word_bits for r in buffers] + [REG_BITS])
        depth_all = total + len(wregs)
        m.submodules.buffers = bmem = Memory(
            shape=buf_bits, depth=depth_all, init=[0] * total + [self.reg_init[reg] for reg in wregs]
        )
        bwp, brp = bmem.write_port(), bmem.read_port()
        buf_base = Signal(range(depth_all))
        buf_mask = Signal(buf_bits)
        with m.Switch(acc.region):
            for r in buffers:
                with m.Case(r.index):
                    m.d.comb += [buf_base.eq(base[r.index]), buf_mask.eq((1 << r.word_bits) - 1)]
            with m.Case(REGS):
                m.d.comb += [buf_base.eq(base[REGS]), buf_mask.eq((1 << buf_bits) - 1)]
        buf_addr = Signal(range(depth_all))
        m.d.comb += [
            buf_addr.eq(buf_base + acc.addr),
            brp.addr.eq(buf_addr),
            bwp.addr.eq(buf_addr),
            bwp.data.eq(acc.wdata & buf_mask),
            bwp.en.eq(acc.we & ~is_core),
        ]
        last_core = Signal()
        m.d.sync += last_core.eq(is_core)
        m.d.comb += acc.rdata.eq(Mux(last_core, self.bus.rdata, brp.data))
        return m
