"""A :class:`plasticore.cosim.driver.BusPort` on Amaranth's own simulator.

Fast to start (no compilation), slow per cycle: the right tool for block tests and small
configurations in the default test run. Verilator through cocotb (``plasticore.cosim.runner``) is the
tool for long and large runs.
"""

from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from plasticore.golden.config import Config
from plasticore.golden.network import Weights
from plasticore.hdl.core import Core

from .compare import LockstepReport, lockstep
from .driver import CoreDriver

__all__ = ["AmaranthPort", "lockstep_amaranth", "run_simulation"]


class AmaranthPort:
    """A :class:`~plasticore.cosim.driver.BusPort` on the core under Amaranth's simulator.

    Parameters
    ----------
    ctx : :class:`amaranth.sim.SimulatorContext`
        The testbench's context.
    core : :class:`~plasticore.hdl.core.Core`
        The core simulated.
    """

    def __init__(self, ctx, core: Core):
        self.ctx = ctx
        self.core = core

    async def write(self, addr: int, data: int) -> None:
        ctx, bus = self.ctx, self.core.bus
        ctx.set(bus.addr, addr)
        ctx.set(bus.wdata, data)
        ctx.set(bus.we, 1)
        await ctx.tick()
        ctx.set(bus.we, 0)

    async def read(self, addr: int) -> int:
        ctx, bus = self.ctx, self.core.bus
        ctx.set(bus.addr, addr)
        ctx.set(bus.re, 1)
        await ctx.tick()
        ctx.set(bus.re, 0)
        assert ctx.get(bus.rvalid), "bus read not answered on the next cycle"
        return ctx.get(bus.rdata)

    async def run_tick(self, valid: bool, learn: bool = False) -> None:
        ctx, ctl = self.ctx, self.core.ctl
        ctx.set(ctl.valid, int(valid))
        ctx.set(ctl.learn, int(learn))
        ctx.set(ctl.start, 1)
        await ctx.tick()
        ctx.set(ctl.start, 0)
        while not ctx.get(ctl.done):
            await ctx.tick()
        await ctx.tick()

    async def cycles(self) -> int:
        return self.ctx.get(self.core.ctl.cycles)


def lockstep_amaranth(
    cfg: Config,
    w: Weights,
    x_seq: np.ndarray,
    targets=None,
    valid=None,
    learn: bool = False,
    vcd: str | None = None,
    *,
    rtl_config: Config | None = None,
    weights_every: int = 50,
    stop_at_first: bool = False,
    read_back: bool = False,
) -> LockstepReport | tuple[LockstepReport, Weights]:
    """Run :func:`plasticore.cosim.compare.lockstep` against the core in Amaranth's simulator.

    ``rtl_config`` (default ``cfg``) builds the core from another config than golden's: fault
    injection, to show a mismatch is caught. ``read_back``: also return the core's final weights.
    """
    core = Core(rtl_config or cfg)
    sim = Simulator(core)
    sim.add_clock(1e-8)
    result = {}

    async def bench(ctx):
        driver = CoreDriver(core.geometry, AmaranthPort(ctx, core))
        result["report"] = await lockstep(
            cfg, driver, w, x_seq, targets, valid, learn=learn, weights_every=weights_every, stop_at_first=stop_at_first
        )
        if read_back:
            result["weights"] = await driver.read_weights()

    sim.add_testbench(bench)
    run_simulation(sim, vcd)
    return (result["report"], result["weights"]) if read_back else result["report"]


def run_simulation(sim: Simulator, vcd: str | None = None) -> None:
    """Run ``sim`` to the end, recording a VCD waveform when a path is given."""
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
