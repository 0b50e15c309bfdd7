"""Spike scanner: turns a bitmap of events into a stream of their indices.

Event-driven processing visits only presynaptic rows whose neuron spiked. Looking at one bit
per cycle would cost ``n`` cycles per tick however sparse the activity; the scanner instead
looks at a chunk of ``chunk`` bits per cycle and picks the lowest pending one with a priority
encoder, so a tick costs ``ceil(n / chunk)`` cycles for empty chunks plus one per event (and
it runs ahead while the consumer is still busy with the previous row).

Timing (used by ``plasticore.contract.cycles``): after ``start``, each cycle either offers the lowest pending
index of the current chunk, or, when the chunk has none left, moves to the next chunk. An
index is consumed on a cycle where ``ready`` is high; the scanner is finished (``busy`` low)
on the cycle after it moved past the last chunk.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SpikeScanner"]


class SpikeScanner(wiring.Component):
    """Streams the indices of the set bits of ``bits``, lowest first.

    ``bits`` must stay constant from ``start`` until ``busy`` falls.

    Parameters
    ----------
    n : int
        Number of bits.
    chunk : int
        Bits looked at per cycle (at most ``n``).

    Members
    -------
    bits : In(n)
        The bitmap.
    start : In(1)
        Begin a scan.
    busy : Out(1)
        The scan has not moved past the last chunk.
    indices : Out(stream.Signature(range(n)))
        The indices of the set bits.
    """

    def __init__(self, n: int, chunk: int = 32):
        self.n = n
        self.chunk = min(chunk, n)
        self.n_chunks = -(-n // self.chunk)
        super().__init__(
            {
                "bits": In(n),
                "start": In(1),
                "busy": Out(1),
                "indices": Out(stream.Signature(range(max(n, 2)))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        C = self.chunk
        padded = Signal(self.n_chunks * C)
        m.d.comb += padded.eq(self.bits)

        chunk = Signal(range(self.n_chunks + 1))
        taken = Signal(C)  # bits of the current chunk already sent
        running = Signal()
        pending = Signal(C)
        m.d.comb += [
            pending.eq(padded.word_select(chunk, C) & ~taken),
            self.busy.eq(running),
        ]

        lowest = Signal(range(C))
        for i in reversed(range(C)):  # the last assignment wins: the lowest set bit
            with m.If(pending[i]):
                m.d.comb += lowest.eq(i)

        with m.If(self.start):
            m.d.sync += [chunk.eq(0), taken.eq(0), running.eq(1)]
        with m.Elif(running):
            with m.If(pending.any()):
                m.d.comb += [
                    self.indices.valid.eq(1),
                    self.indices.payload.eq(chunk * C + lowest),
                ]
                with m.If(self.indices.ready):
                    m.d.sync += taken.eq(taken | (Const(1, unsigned(C)) << lowest))
            with m.Else():
                m.d.sync += [chunk.eq(chunk + 1), taken.eq(0)]
                with m.If(chunk == self.n_chunks - 1):
                    m.d.sync += running.eq(0)
        return m
