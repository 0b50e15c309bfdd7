"""The 32-bit Galois LFSR of docs/numerics.md ("LFSR"), in hardware.

``state`` steps once on every cycle ``step`` is high: shift right by one, and when the bit
shifted out was 1, XOR the taps ``plasticore.golden.lfsr.TAPS`` in. A draw is the state after the step,
exactly as ``plasticore.golden.lfsr.draws`` returns it.
"""

from __future__ import annotations

from amaranth.hdl import Assert, Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from plasticore.golden import lfsr as golden_lfsr

__all__ = ["GaloisLFSR"]


class GaloisLFSR(wiring.Component):
    """One lane's 32-bit Galois LFSR.

    Parameters
    ----------
    seed : int
        Initial state, ``1 <= seed < 2**32`` (the lane's seed of
        ``plasticore.golden.lfsr.lane_seeds``).
    formal : bool
        Add the formal property (docs/reliability.md, "Formal"): the state is never zero.
    leap_steps : int
        With ``leap_steps`` > 0, members ``leap`` and ``leap_draw``: ``leap_steps`` steps in one
        cycle (the sparse table's rewiring draws a column per cycle; docs/numerics.md).

    Members
    -------
    step : In(1)
        Step the state once.
    state : Out(32, init=seed)
        The state.
    draw : Out(32)
        The state after one step: the value a draw returns.
    leap : In(1)
        Step the state ``leap_steps`` times (not with ``step``).
    leap_draw : Out(32)
        The state after ``leap_steps`` steps.
    """

    def __init__(self, seed: int, *, formal: bool = False, leap_steps: int = 0):
        if not 1 <= seed < (1 << golden_lfsr.WIDTH):
            self._MustUse__silence = True  # refused, so never elaborated: no "unused" warning
            raise ValueError(f"lfsr seed: {seed!r} is outside the allowed range 1..{(1 << golden_lfsr.WIDTH) - 1}")
        self.seed = seed
        self.formal = formal
        self.leap_steps = leap_steps
        members = {
            "step": In(1),
            "state": Out(golden_lfsr.WIDTH, init=seed),
            "draw": Out(golden_lfsr.WIDTH),  # the state after one step: the value a draw returns
        }
        if leap_steps:
            members.update({"leap": In(1), "leap_draw": Out(golden_lfsr.WIDTH)})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()

        def stepped(state):
            shifted = state >> 1
            return Mux(state[0], shifted ^ golden_lfsr.TAPS, shifted)

        m.d.comb += self.draw.eq(stepped(self.state))
        with m.If(self.step):
            m.d.sync += self.state.eq(self.draw)
        if self.leap_steps:
            leaped = self.state
            for _ in range(self.leap_steps):
                leaped = stepped(leaped)[: golden_lfsr.WIDTH]
            m.d.comb += self.leap_draw.eq(leaped)
            with m.If(self.leap):
                m.d.sync += self.state.eq(self.leap_draw)
        if self.formal:
            # zero is the LFSR's fixed point: a lane that reached it would round one way forever
            m.d.comb += Assert(self.state != 0)
        return m
