"""Drive the core through its memory bus, whatever simulates it.

:class:`CoreDriver` knows the memory map (``plasticore.contract.geometry``) and turns golden objects (weights,
state, input spikes, targets) into bus words and back. It talks to the hardware through a
*port*: any object with three coroutines,

* ``write(addr, data)``: one bus write,
* ``read(addr) -> int``: one bus read,
* ``run_tick(valid, learn) -> None``: pulse ``start`` with ``valid`` and ``learn``, wait for ``done``,

plus ``cycles() -> int`` (the core's cycle count of the last tick). The Amaranth simulator
(block tests) and cocotb on Verilator or Icarus (co-simulation) each provide a port, so the
logic that loads a network and compares it with golden is written once.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from plasticore.contract.geometry import BITMAP_WORD, Geometry
from plasticore.golden.network import State, Weights
from plasticore.golden.registers import LearningRegisters
from plasticore.golden.synapses import SynapseTable

__all__ = ["BusPort", "CoreDriver"]


class BusPort(Protocol):
    """What :class:`CoreDriver` needs of a simulator: the core's bus and tick controls."""

    async def write(self, addr: int, data: int) -> None: ...
    async def read(self, addr: int) -> int: ...
    async def run_tick(self, valid: bool, learn: bool = False) -> None: ...
    async def cycles(self) -> int: ...


class CoreDriver:
    """Loads, runs and reads the core over its bus, in terms of golden-model objects.

    Parameters
    ----------
    geometry : :class:`~plasticore.contract.geometry.Geometry`
        The core's memories and how golden values pack into their words.
    port : :class:`BusPort`
        The simulator's access to the bus and tick controls.
    """

    def __init__(self, geometry: Geometry, port: BusPort):
        self.g = geometry
        self.cfg = geometry.cfg
        self.port = port

    # regions --------------------------------------------------------------------------------
    async def write_region(self, name: str, values: np.ndarray, words: range | None = None) -> None:
        region = self.g.regions[name]
        packed = region.pack(values)
        for w in range(len(packed)) if words is None else words:
            await self.port.write(self.g.bus_address(name, w), packed[w])

    async def read_region(self, name: str) -> np.ndarray:
        """Every word of region ``name``, unpacked: ``depth * lanes`` values, padding lanes included."""
        region = self.g.regions[name]
        words = [await self.port.read(self.g.bus_address(name, w)) for w in range(region.depth)]
        return region.unpack(words)

    def as_written(self, name: str, values: np.ndarray) -> np.ndarray:
        """What :meth:`read_region` returns after :meth:`write_region` of ``values``: the values
        packed into every word of the region (zero padded) and unpacked."""
        region = self.g.regions[name]
        return region.unpack(region.pack(values))

    def take_handshake_faults(self) -> list[tuple[str, int, int, int]]:
        """Handshake violations the port saw since the last call (``(signal, index, seen,
        expected)``), for a port that checks its handshakes (``take_faults``); else none."""
        take = getattr(self.port, "take_faults", None)
        return take() if take is not None else []

    async def write_learning_registers(self, regs: LearningRegisters) -> None:
        """The run-time learning registers (region ``params``), range-checked first."""
        await self.write_region("params", np.asarray(regs.checked(self.cfg).words()))

    # golden objects ---------------------------------------------------------------------------
    def weight_regions(self, w: Weights) -> dict[str, np.ndarray]:
        """The weight regions' values (``w_in``, ``w_rec``, ``w_out``, ``b_fb``) that hold ``w``."""
        return self.g.weight_values(w)

    async def load_weights(self, w: Weights) -> None:
        for name, values in self.weight_regions(w).items():
            await self.write_region(name, values)

    async def read_weights(self) -> Weights:
        return self.weights_from_regions(await self.read_weight_regions())

    async def read_weight_regions(self) -> dict[str, np.ndarray]:
        """Every value of the weight regions, padding included (as :meth:`read_region`)."""
        return {name: await self.read_region(name) for name in ("w_in", "w_rec", "w_out", "b_fb")}

    def weights_from_regions(self, regions: dict[str, np.ndarray]) -> Weights:
        """The weights held by the values of :meth:`read_weight_regions`."""
        return self.g.weights_from_values(regions)

    def unheld(self, name: str) -> np.ndarray:
        """The values of region ``name`` (flat, as :meth:`read_region` returns them) that no
        memory holds: the gaps between B's banks (each padded to a power-of-two stride)."""
        region = self.g.regions[name]
        gap = np.zeros(region.depth, dtype=bool)
        gap[self.g.unheld_words(name)] = True
        return np.repeat(gap, region.lanes)

    def weight_padding(self) -> dict[str, np.ndarray]:
        """Per weight region, its values that hold no weight (lanes of targets past the last
        neuron or output, B's rows of errors past the last) but are held by a memory: the
        memory map pads them with zeros, and learning never changes them."""
        c, g = self.cfg, self.g
        slots = (g.n_pre, g.words_pre, g.lanes)  # every slot of a sparse table is held, none padding
        ones = Weights(
            np.ones((c.n_rec, c.n_in), dtype=np.int64),
            np.ones((c.n_rec, c.n_rec), dtype=np.int64),
            np.ones((c.n_out, c.n_rec), dtype=np.int64),
            np.ones((c.n_rec, c.n_out), dtype=np.int64),
            SynapseTable(np.zeros(slots, dtype=np.int64), np.ones(slots, dtype=np.int64)) if g.sparse else None,
        )
        return {
            name: (self.as_written(name, values) == 0) & ~self.unheld(name)
            for name, values in self.weight_regions(ones).items()
        }

    async def read_traces(self) -> dict[str, np.ndarray]:
        """x_bar, z_bar, and zo_bar when the config keeps the readout's own trace."""
        c = self.cfg
        traces = {
            "x_bar": (await self.read_region("xbar"))[: c.n_in],
            "z_bar": (await self.read_region("zbar"))[: c.n_rec],
        }
        if "zobar" in self.g.regions:
            traces["zo_bar"] = (await self.read_region("zobar"))[: c.n_rec]
        return traces

    async def load_traces(self, x_bar: np.ndarray, z_bar: np.ndarray, zo_bar: np.ndarray | None = None) -> None:
        for name, values in self.g.trace_values(x_bar, z_bar, zo_bar).items():
            await self.write_region(name, values)

    def bitmap(self, name: str, bits: np.ndarray) -> np.ndarray:
        """``bits`` padded with zeros to every bit of bitmap region ``name``."""
        region = self.g.regions[name]
        padded = np.zeros(region.depth * BITMAP_WORD, dtype=np.int64)
        padded[: len(bits)] = bits
        return padded

    async def write_bitmap(self, name: str, bits: np.ndarray) -> None:
        await self.write_region(name, self.bitmap(name, bits))

    async def read_state(self) -> dict[str, np.ndarray]:
        """The neuron, readout and error state, trimmed to the real (unpadded) neurons."""
        c = self.cfg
        state = {}
        for name, n in (
            ("u", c.n_rec),
            ("a", c.n_rec),
            ("ref", c.n_rec),
            ("v", c.n_rec),
            ("y", c.n_out),
            ("e", c.n_out),
            ("z", c.n_rec),
        ):
            state[name] = (await self.read_region(name))[:n]
        return state

    async def load_state(self, s: State, batch_index: int = 0) -> None:
        """Load one batch element of a golden state (e.g. to resume from a checkpoint)."""
        for name in ("u", "a", "ref", "v", "y", "e"):
            await self.write_region(name, getattr(s, name)[batch_index])
        await self.write_bitmap("z", s.z[batch_index])

    # ticks -------------------------------------------------------------------------------------
    async def tick(
        self,
        x: np.ndarray,
        target: np.ndarray | None = None,
        valid: bool = False,
        learn: bool = False,
        write_target: bool = True,
    ) -> int:
        """Run one tick with input spikes ``x`` (n_in 0/1) and return its cycle count.
        Weights change only if ``learn`` and ``valid``."""
        await self.write_bitmap("x", x)
        if target is not None and write_target:
            await self.write_region("target", target)
        await self.port.run_tick(bool(valid), bool(learn))
        return await self.port.cycles()
