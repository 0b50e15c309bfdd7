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
from cocotb.triggers import FallingEdge, RisingEdge, with_timeout

from plasticore.contract.geometry import Geometry
from plasticore.cosim.compare import lockstep
from plasticore.cosim.driver import CoreDriver
from plasticore.golden.config import Config
from plasticore.golden.network import Weights
from plasticore.golden.registers import LearningRegisters


class CocotbPort:
    """A :class:`~plasticore.cosim.driver.BusPort` on the core under cocotb (Verilator).

    Inputs change at the falling edge of the clock, so that the core samples them at the
    next rising edge.

    Parameters
    ----------
    dut : cocotb handle
        The simulated core's top level.

    Attributes
    ----------
    sim_cycles : int
        Clock cycles the port has waited.
    """

    def __init__(self, dut):
        self.dut = dut
        self.falling = FallingEdge(dut.clk)
        self.sim_cycles = 0

    async def _cycle(self):
        await self.falling
        self.sim_cycles += 1

    async def write(self, addr: int, data: int) -> None:
        d = self.dut
        d.bus__addr.value = addr
        d.bus__wdata.value = data
        d.bus__we.value = 1
        await self._cycle()
        d.bus__we.value = 0

    async def read(self, addr: int) -> int:
        d = self.dut
        d.bus__addr.value = addr
        d.bus__re.value = 1
        await self._cycle()
        d.bus__re.value = 0
        return int(d.bus__rdata.value)

    async def run_tick(self, valid: bool, learn: bool = False) -> None:
        d = self.dut
        d.ctl__valid.value = int(valid)
        d.ctl__learn.value = int(learn)
        d.ctl__start.value = 1
        await self._cycle()
        d.ctl__start.value = 0
        await with_timeout(RisingEdge(d.ctl__done), 10_000_000, "ns")
        await self._cycle()  # the FINISH cycle
        await self._cycle()  # back in IDLE: the cycle count is latched
        self.sim_cycles += int(d.ctl__cycles.value) - 1  # busy cycles not seen by _cycle

    async def cycles(self) -> int:
        return int(self.dut.ctl__cycles.value)


@cocotb.test()
async def lockstep_against_golden(dut):
    data = np.load(os.environ["PLASTICORE_COSIM_IN"])
    cfg = Config.from_dict(json.loads(str(data["config"])))
    w = Weights(data["w_in"], data["w_rec"], data["w_out"], data["b_fb"])
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
