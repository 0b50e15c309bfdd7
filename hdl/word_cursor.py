"""The word cursor of the protocol engine: the next word address and the words left.

WRITE_MEM and CLEAR_MEM step it as they write, a reply as it reads its payload words
(memory words or registers). Those never overlap, so one cursor serves all of them.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["WordCursor"]


class WordCursor(wiring.Component):
    """A word address that counts up and a word count that counts down.

    Parameters
    ----------
    addr_bits : :class:`int`
        Bits of the address.
    max_count : :class:`int`
        Largest word count.

    Members
    -------
    load : :py:`In(1)`
        Load ``first`` and ``count`` (wins over ``step``).
    first : :py:`In(addr_bits)`
        First word address.
    count : :py:`In(range(max_count + 1))`
        Number of words.
    step : :py:`In(1)`
        One word done: the address counts up, the words left down.
    addr : :py:`Out(addr_bits)`
        The current word address.
    left : :py:`Out(range(max_count + 1))`
        Words left.
    """

    def __init__(self, addr_bits: int, max_count: int):
        self.addr_bits = addr_bits
        self.max_count = max_count
        super().__init__(
            {
                "load": In(1),
                "first": In(addr_bits),
                "count": In(range(max_count + 1)),
                "step": In(1),
                "addr": Out(addr_bits),
                "left": Out(range(max_count + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        with m.If(self.load):
            m.d.sync += [self.addr.eq(self.first), self.left.eq(self.count)]
        with m.Elif(self.step):
            m.d.sync += [self.addr.eq(self.addr + 1), self.left.eq(self.left - 1)]
        return m
