"""The bound of every wait of the protocol engine: one down-counter.

It times both waits, which never overlap: the gap between the bytes of a frame
(FRAME_TIMEOUT) and a running tick (WATCHDOG). One counter instead of two keeps the engine
small enough for the iCE40.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.protocol_spec import REG_BITS

__all__ = ["TimerControl", "WaitTimer"]


class TimerControl(wiring.Signature):
    """Signature of one user of a shared :class:`WaitTimer`, from the user's side.

    Members
    -------
    load : :py:`Out(1)`
        Start a wait: load the limit.
    count : :py:`Out(1)`
        One more cycle of the wait.
    expired : :py:`In(1)`
        The wait has timed out.
    """

    def __init__(self):
        super().__init__(
            {
                "load": Out(1),
                "count": Out(1),
                "expired": In(1),
            }
        )


class WaitTimer(wiring.Component):
    """A down-counter loaded with a limit; the wait times out when it reads zero.

    Loaded with ``limit``, it reads zero on the ``limit + 1``-th cycle of counting, as an
    up-count from 0 compared with the limit would.

    Parameters
    ----------
    width : :class:`int`
        Bits of the counter (and of ``limit``).

    Members
    -------
    limit : :py:`In(width)`
        Value loaded by ``load``.
    load : :py:`In(1)`
        Load ``limit`` (wins over ``count``).
    count : :py:`In(1)`
        Count down by one.
    expired : :py:`Out(1)`
        The counter reads zero.
    """

    def __init__(self, width: int = REG_BITS):
        self.width = width
        super().__init__(
            {
                "limit": In(width),
                "load": In(1),
                "count": In(1),
                "expired": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        timer = Signal(self.width)
        with m.If(self.load):
            m.d.sync += timer.eq(self.limit)
        with m.Elif(self.count):
            m.d.sync += timer.eq(timer - 1)
        m.d.comb += self.expired.eq(timer == 0)
        return m
