"""The core's host-side interfaces: a word-wide memory bus and the tick controls.

The bus reaches every host-visible memory of :class:`plasticore.contract.geometry.Geometry` (weights, neuron
state, readout, targets, spike bitmaps) at its native word width; the address is
``region << word_addr_bits | word``. It is served only while the core is idle, so the host
protocol engine, the co-simulation benches and a board top all drive the core the same way.

A read is requested with ``re`` and answered on the next cycle with ``rvalid``; a write with
``we`` takes effect at the end of the cycle.
"""

from __future__ import annotations

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.geometry import Geometry

__all__ = ["MemoryBus", "TickControl"]


class MemoryBus(wiring.Signature):
    """Host-to-core memory access (from the host's side: it drives addr, wdata, we, re).

    Parameters
    ----------
    geometry : Geometry
        The core's memory map (address and data widths).

    Members
    -------
    addr : Out(bus_addr_bits)
        ``region << word_addr_bits | word``.
    wdata : Out(bus_data_bits)
        The word to write.
    we : Out(1)
        Write ``wdata`` at ``addr`` (at the end of the cycle).
    re : Out(1)
        Read at ``addr``.
    rdata : In(bus_data_bits)
        The word read, with ``rvalid``.
    rvalid : In(1)
        ``rdata`` answers the read of the cycle before.
    """

    def __init__(self, geometry: Geometry):
        self.geometry = geometry
        super().__init__(
            {
                "addr": Out(geometry.bus_addr_bits),
                "wdata": Out(geometry.bus_data_bits),
                "we": Out(1),
                "re": Out(1),
                "rdata": In(geometry.bus_data_bits),
                "rvalid": In(1),
            }
        )

    def __eq__(self, other):
        return type(self) is type(other) and self.geometry.cfg == other.geometry.cfg

    def __repr__(self):
        return f"MemoryBus({self.geometry.cfg.name})"


class TickControl(wiring.Signature):
    """Run one tick and observe it (from the host's side).

    Parameters
    ----------
    None.

    Members
    -------
    start : Out(1)
        Pulse: run one tick (ignored while busy).
    valid : Out(1)
        The targets of this tick are valid (sampled with ``start``).
    learn : Out(1)
        Update weights on this tick if its target is valid (sampled with ``start``).
    busy : In(1)
        A tick is running.
    done : In(1)
        One-cycle pulse when the tick has finished.
    cycles : In(32)
        Cycles the last tick took, ``start`` to ``done``.
    ticks : In(32)
        Ticks run since reset.
    """

    def __init__(self):
        super().__init__(
            {
                "start": Out(1),  # pulse: run one tick (ignored while busy)
                "valid": Out(1),  # the targets of this tick are valid (sampled with start)
                "learn": Out(1),  # update weights on this tick if its target is valid (sampled with start)
                "busy": In(1),
                "done": In(1),  # one-cycle pulse when the tick has finished
                "cycles": In(32),  # cycles the last tick took, start to done
                "ticks": In(32),  # ticks run since reset
            }
        )
