"""Building blocks of the formal properties written next to the components.

A component built with ``formal=True`` adds ``Assert`` statements about itself to its module
(docs/reliability.md, "Formal"); ``cosim/formal.py`` proves them with SymbiYosys. Without the
flag nothing here is elaborated: the RTL that is simulated and synthesized has no checks.
"""

from __future__ import annotations

from amaranth.hdl import Assert, Module, Signal

__all__ = ["stream_held"]


def stream_held(m: Module, stream, check=Assert, domain: str = "sync", name: str = "stream") -> None:
    """``stream``'s ``valid`` stays high and its ``payload`` unchanged until ``ready``
    (the rules of ``amaranth.lib.stream``): asserted on a producer's stream (``check=Assert``),
    assumed of the environment's (``check=Assume``)."""
    stalled = Signal(name=f"{name}_stalled")
    held = Signal.like(stream.payload, name=f"{name}_held")
    m.d[domain] += [stalled.eq(stream.valid & ~stream.ready), held.eq(stream.payload)]
    with m.If(stalled):
        m.d.comb += check(stream.valid & (stream.payload == held))
