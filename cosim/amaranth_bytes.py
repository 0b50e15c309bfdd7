"""Byte bursts into a stream component under Amaranth's simulator (block tests).

:func:`exchange` plays the part of ``cosim/tb_system.py`` for Amaranth's own simulator: it
sends each burst on the component's ``rx`` stream, one byte per cycle as it is taken, then
runs until the component says ``idle`` (a truncated frame times out first) and returns the
bytes that came out of ``tx`` during each burst. No Verilator build: quick enough for the
default test run on small configurations.
"""

from __future__ import annotations

from amaranth.sim import Simulator

from .amaranth_sim import run_simulation

__all__ = ["exchange"]


def exchange(dut, bursts: list[bytes], max_wait: int = 200_000, vcd: str | None = None) -> list[bytes]:
    """``dut`` has ``rx`` (stream in), ``tx`` (stream out) and ``idle``; returns the output
    bytes of each burst. Raises if the component is not idle ``max_wait`` cycles after one."""
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    out = bytearray()
    per_burst: list[bytes] = []

    async def collect(ctx):
        ctx.set(dut.tx.ready, 1)
        async for _clk, _rst, valid, payload in ctx.tick().sample(dut.tx.valid, dut.tx.payload):
            if valid:
                out.append(payload)

    async def bench(ctx):
        for i, burst in enumerate(bursts):
            for b in burst:
                ctx.set(dut.rx.payload, b)
                ctx.set(dut.rx.valid, 1)
                await ctx.tick().until(dut.rx.ready)
            ctx.set(dut.rx.valid, 0)
            for _ in range(max_wait):
                if ctx.get(dut.idle):
                    break
                await ctx.tick()
            else:
                raise RuntimeError(f"burst {i}: not idle after {max_wait} cycles")
            await ctx.tick()  # the collector sees the cycle's last byte
            per_burst.append(bytes(out))
            out.clear()

    sim.add_process(collect)
    sim.add_testbench(bench)
    run_simulation(sim, vcd)
    return per_burst
