"""The protocol's read-only registers: constants, the core's status, and the counters behind them.

The writable registers (SCRATCH, FRAME_TIMEOUT, WATCHDOG) are not here: they are words of the
buffer memory (:class:`plasticore.hdl.region_port.RegionPort`).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.cycles import tick_counter_bits
from plasticore.contract.protocol_spec import N_REGS, REG_BITS, WRITABLE_REGS, Reg
from plasticore.contract.system_map import SystemMap

__all__ = ["Registers"]


class Registers(wiring.Component):
    """The value of each read-only register by index, and the counters of frames and runs.

    RUN_CORE_CYCLES and RUN_CYCLES are as wide as a RUN of a whole window of the longest ticks
    the core counts needs (:func:`plasticore.contract.cycles.tick_counter_bits`), copying
    included: only a core that never finishes a tick (with a watchdog above the default) could
    wrap them.

    Parameters
    ----------
    smap : :class:`~plasticore.contract.system_map.SystemMap`
        The address space (its constant registers, the run window, the core's geometry).

    Members
    -------
    index : :py:`In(range(N_REGS))`
        Register to read (not a writable one).
    value : :py:`Out(REG_BITS)`
        Its value.
    busy : :py:`In(1)`
        The core runs a tick (register STATUS).
    ticks : :py:`In(32)`
        Ticks the core has run (register TICKS).
    cycles : :py:`In(32)`
        Cycles of the core's last tick (register TICK_CYCLES, added up in RUN_CORE_CYCLES).
    run_begin : :py:`In(1)`
        A RUN starts: clear the run counters and the watchdog flag; count RUN_CYCLES.
    tick_done : :py:`In(1)`
        A tick of the RUN has finished (``cycles`` is its count).
    tripped : :py:`In(1)`
        The watchdog ended the RUN (STATUS bit 0 until the next RUN).
    reply : :py:`In(1)`
        A reply starts: count the frame, and stop counting RUN_CYCLES.
    reply_ok : :py:`In(1)`
        With ``reply``: its status is ``OK`` (FRAMES_OK, else FRAMES_ERR).
    clock : :py:`Out(32)`
        Register CLOCK: cycles since reset.
    """

    def __init__(self, smap: SystemMap):
        self.map = smap
        super().__init__(
            {
                "index": In(range(N_REGS)),
                "value": Out(REG_BITS),
                "busy": In(1),
                "ticks": In(32),
                "cycles": In(32),
                "run_begin": In(1),
                "tick_done": In(1),
                "tripped": In(1),
                "reply": In(1),
                "reply_ok": In(1),
                "clock": Out(32),
            }
        )

    def elaborate(self, platform):
        m = Module()
        smap, geom = self.map, self.map.geometry
        clock = self.clock
        frames_ok, frames_err = Signal(32), Signal(32)
        run_ticks = Signal(range(smap.window + 1))  # a RUN runs at most a window of ticks
        tick_max = (1 << tick_counter_bits(smap.cfg)) - 1
        copy_max = 2 * sum(geom.regions[n].depth for n in ("x", "target", "y", "z")) + 8
        run_core_cycles = Signal(range(smap.window * tick_max + 1))
        run_cycles = Signal(range(smap.window * (tick_max + copy_max) + 2))
        running, wd_tripped = Signal(), Signal()
        m.d.sync += clock.eq(clock + 1)
        with m.If(running):
            m.d.sync += run_cycles.eq(run_cycles + 1)
        with m.If(self.run_begin):
            m.d.sync += [run_ticks.eq(0), run_core_cycles.eq(0), run_cycles.eq(0), running.eq(1), wd_tripped.eq(0)]
        with m.If(self.tick_done):
            m.d.sync += [run_core_cycles.eq(run_core_cycles + self.cycles), run_ticks.eq(run_ticks + 1)]
        with m.If(self.tripped):
            m.d.sync += wd_tripped.eq(1)
        with m.If(self.reply):
            m.d.sync += running.eq(0)
            with m.If(self.reply_ok):
                m.d.sync += frames_ok.eq(frames_ok + 1)
            with m.Else():
                m.d.sync += frames_err.eq(frames_err + 1)

        reg_values = {
            **smap.constant_registers(),
            Reg.STATUS: Cat(wd_tripped, self.busy),
            Reg.TICKS: self.ticks,
            Reg.TICK_CYCLES: self.cycles,
            Reg.RUN_TICKS: run_ticks,
            Reg.RUN_CORE_CYCLES: run_core_cycles,
            Reg.RUN_CYCLES: run_cycles,
            Reg.FRAMES_OK: frames_ok,
            Reg.FRAMES_ERR: frames_err,
            Reg.CLOCK: clock,
        }
        assert set(reg_values) | set(WRITABLE_REGS) == set(Reg)
        with m.Switch(self.index):
            for reg, value in reg_values.items():
                with m.Case(int(reg)):
                    m.d.comb += self.value.eq(value)
        return m
