"""cocotb bench: the core against golden, tick for tick (run by ``plasticore.cosim.runner``).

Reads its inputs from the ``.npz`` named by ``PLASTICORE_COSIM_IN``, runs
:func:`plasticore.cosim.compare.lockstep` through a :class:`CocotbPort`, and writes the report as JSON to
``PLASTICORE_COSIM_OUT``. A mismatch is data for the caller, not a failed cocotb test; the
test fails only when the bench itself breaks (e.g. the core never answers).

Signal discipline: every input is changed just after a falling clock edge and every output is
read at a falling edge, half a cycle away from the rising edge where the core samples and
updates, so no read or write races the edge.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, First, RisingEdge, with_timeout
from cocotb.utils import get_sim_time

from plasticore.contract.geometry import Geometry
from plasticore.cosim.compare import lockstep
from plasticore.cosim.driver import CoreDriver
from plasticore.golden.config import Config
from plasticore.golden.network import Weights
from plasticore.golden.registers import LearningRegisters
from plasticore.golden.synapses import SynapseTable


class CocotbPort:
    """A :class:`~plasticore.cosim.driver.BusPort` on the core under cocotb (Verilator).

    Inputs change at the falling edge of the clock, so that the core samples them at the
    next rising edge.

    It also checks the handshakes of ``hdl/bus.py`` that the System's protocol engine relies
    on, and keeps the violations for :meth:`take_faults` (the lockstep comparison reports
    them as differences): ``bus.rvalid`` high the cycle after a read and low after a write;
    ``ctl.busy`` high from the cycle after ``start`` without a break until ``ctl.done``,
    ``done`` high for the one FINISH cycle, both low back in IDLE, and busy high for exactly
    ``ctl.cycles`` cycles (the count ``plasticore.contract.cycles`` predicts). Edge triggers,
    not a loop over the tick's cycles, keep it as fast as before.

    Parameters
    ----------
    dut : cocotb handle
        The simulated core's top level.
    period_ns : int
        The clock's period (to count busy cycles from simulated time).

    Attributes
    ----------
    sim_cycles : int
        Clock cycles the port has waited.
    """

    def __init__(self, dut, period_ns: int = 10):
        self.dut = dut
        self.falling = FallingEdge(dut.clk)
        self.sim_cycles = 0
        self.period_ns = period_ns
        self._faults: list[tuple[str, int, int, int]] = []

    async def _cycle(self):
        await self.falling
        self.sim_cycles += 1

    def _expect(self, signal: str, index: int, seen: int, expected: int) -> None:
        if seen != expected:
            self._faults.append((signal, index, seen, expected))

    def take_faults(self) -> list[tuple[str, int, int, int]]:
        """Handshake violations since the last call: ``(signal, index, seen, expected)``."""
        faults, self._faults = self._faults, []
        return faults

    async def write(self, addr: int, data: int) -> None:
        d = self.dut
        d.bus__addr.value = addr
        d.bus__wdata.value = data
        d.bus__we.value = 1
        await self._cycle()
        d.bus__we.value = 0
        self._expect("rvalid", addr, int(d.bus__rvalid.value), 0)  # a write is not a read

    async def read(self, addr: int) -> int:
        d = self.dut
        d.bus__addr.value = addr
        d.bus__re.value = 1
        await self._cycle()
        d.bus__re.value = 0
        self._expect("rvalid", addr, int(d.bus__rvalid.value), 1)  # rdata answers this read
        return int(d.bus__rdata.value)

    async def run_tick(self, valid: bool, learn: bool = False) -> None:
        d = self.dut
        d.ctl__valid.value = int(valid)
        d.ctl__learn.value = int(learn)
        d.ctl__start.value = 1
        await self._cycle()
        d.ctl__start.value = 0
        first = get_sim_time("ns")
        self._expect("busy", 0, int(d.ctl__busy.value), 1)
        # done, or busy falling before it (a break in busy), whichever comes first
        done, drop = RisingEdge(d.ctl__done), FallingEdge(d.ctl__busy)
        if await with_timeout(First(done, drop), 10_000_000, "ns") is drop:
            self._expect("busy", 0, 0, 1)
            if not int(d.ctl__done.value):
                await with_timeout(done, 10_000_000, "ns")
        await self._cycle()  # the FINISH cycle
        self._expect("busy", 1, int(d.ctl__busy.value), 1)
        self._expect("done", 1, int(d.ctl__done.value), 1)
        busy_cycles = round((get_sim_time("ns") - first) / self.period_ns) + 1
        await self._cycle()  # back in IDLE: the cycle count is latched
        self._expect("busy", 2, int(d.ctl__busy.value), 0)
        self._expect("done", 2, int(d.ctl__done.value), 0)
        self._expect("busy_cycles", 0, busy_cycles, int(d.ctl__cycles.value))
        self.sim_cycles += int(d.ctl__cycles.value) - 1  # busy cycles not seen by _cycle

    async def cycles(self) -> int:
        return int(self.dut.ctl__cycles.value)


@cocotb.test()
async def lockstep_against_golden(dut):
    data = np.load(os.environ["PLASTICORE_COSIM_IN"])
    cfg = Config.from_dict(json.loads(str(data["config"])))
    table = SynapseTable(data["slot_column"], data["slot_weight"]) if data["slot_column"].size else None
    w = Weights(data["w_in"], data["w_rec"], data["w_out"], data["b_fb"], table)
    Clock(dut.clk, 10, unit="ns").start(start_high=False)
    for name in ("bus__we", "bus__re", "ctl__start", "ctl__valid", "ctl__learn"):
        getattr(dut, name).value = 0
    dut.rst.value = 1
    port = CocotbPort(dut)
    await port._cycle()
    await port._cycle()
    dut.rst.value = 0
    await port._cycle()

    driver = CoreDriver(Geometry(cfg), port)
    start = time.perf_counter()
    report = await lockstep(
        cfg,
        driver,
        w,
        data["x"],
        data["targets"],
        data["valid"],
        learn=bool(data["learn"]),
        weights_every=int(data["weights_every"]),
        stop_at_first=os.environ.get("PLASTICORE_COSIM_STOP") == "1",
        registers={
            int(t): LearningRegisters.from_words(cfg, [int(v) for v in words])
            for t, words in zip(data["register_ticks"], data["register_words"], strict=True)
        },
    )
    seconds = time.perf_counter() - start
    out = report.as_dict()
    out["sim_cycles"] = port.sim_cycles
    out["seconds"] = seconds
    out["sim_cycles_per_s"] = port.sim_cycles / seconds if seconds > 0 else None
    out["cycles"] = report.cycles
    with open(os.environ["PLASTICORE_COSIM_OUT"], "w") as f:
        json.dump(out, f)
