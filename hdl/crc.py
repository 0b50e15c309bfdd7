"""CRC-16/CCITT-FALSE in hardware: one byte per cycle.

The next CRC register value after one byte is a linear (XOR) function of the 16 register
bits and the 8 data bits. :func:`crc16_next` derives that function from the reference
:func:`plasticore.contract.protocol_spec.crc16_update` by feeding it unit vectors, so the RTL cannot drift
from the spec: it is built from it.
"""

from __future__ import annotations

from functools import reduce

from amaranth.hdl import Cat, Const, Module, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.protocol_spec import CRC_INIT, crc16_update

__all__ = ["crc16_next", "CRC16", "CRCPort"]


def _taps() -> list[list[int]]:
    """For each output bit, the input bits (0..15 register, 16..23 data) that XOR into it."""
    taps = [[] for _ in range(16)]
    for i in range(24):
        crc, byte = (1 << i, 0) if i < 16 else (0, 1 << (i - 16))
        out = crc16_update(crc, byte)  # linear: the image of a unit vector is a column
        for o in range(16):
            if out >> o & 1:
                taps[o].append(i)
    return taps


_TAPS = _taps()


def crc16_next(crc: Value, byte: Value) -> Value:
    """The CRC register after ``byte`` (a 16-bit value expression)."""
    bits = Cat(crc, byte)
    return Cat(*(reduce(lambda a, b: a ^ b, [bits[i] for i in taps]) if taps else Const(0) for taps in _TAPS))


class CRCPort(wiring.Signature):
    """Signature of one user of a shared :class:`CRC16`, from the user's side.

    Members
    -------
    clear : :py:`Out(1)`
        Load ``CRC_INIT`` (wins over ``en``).
    en : :py:`Out(1)`
        Take ``data`` in.
    data : :py:`Out(8)`
        The byte to take in.
    crc : :py:`In(16)`
        The CRC register.
    next : :py:`In(16)`
        The value the register takes with ``en``: :func:`crc16_next` of ``crc`` and ``data``.
    """

    def __init__(self):
        super().__init__(
            {
                "clear": Out(1),
                "en": Out(1),
                "data": Out(8),
                "crc": In(16),
                "next": In(16),
            }
        )


class CRC16(wiring.Component):
    """A CRC-16/CCITT-FALSE register that takes one byte per cycle.

    Members
    -------
    clear : :py:`In(1)`
        Load ``CRC_INIT`` (wins over ``en``).
    en : :py:`In(1)`
        Take ``data`` in.
    data : :py:`In(8)`
        The byte to take in.
    crc : :py:`Out(16, init=CRC_INIT)`
        The CRC register. After a message followed by its CRC (high byte first) it reads zero.
    next : :py:`Out(16)`
        The value ``crc`` takes with ``en``: the residue check of a receiver compares it with
        zero while the last CRC byte arrives.
    """

    def __init__(self):
        super().__init__(
            {
                "clear": In(1),
                "en": In(1),
                "data": In(8),
                "crc": Out(16, init=CRC_INIT),
                "next": Out(16),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.next.eq(crc16_next(self.crc, self.data))
        with m.If(self.clear):
            m.d.sync += self.crc.eq(CRC_INIT)
        with m.Elif(self.en):
            m.d.sync += self.crc.eq(self.next)
        return m
