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
        region = self.g.regions[name]
        words = [await self.port.read(self.g.bus_address(name, w)) for w in range(region.depth)]
        return region.unpack(words)

    async def write_learning_registers(self, regs: LearningRegisters) -> None:
        """The run-time learning registers (region ``params``), range-checked first."""
        await self.write_region("params", np.asarray(regs.checked(self.cfg).words()))

    # golden objects ---------------------------------------------------------------------------
    async def load_weights(self, w: Weights) -> None:
        g = self.g
        await self.write_region("w_in", g.weights_to_rows(w.w_in))
        await self.write_region("w_rec", g.weights_to_rows(w.w_rec))
        await self.write_region("w_out", g.weights_to_rows(w.w_out))
        await self.write_region("b_fb", g.feedback_to_words(w.feedback(self.cfg)))

    async def read_weights(self) -> Weights:
        g, c = self.g, self.cfg
        out = {}
        for name, pre, post in (("w_in", c.n_in, c.n_rec), ("w_rec", c.n_rec, c.n_rec), ("w_out", c.n_rec, c.n_out)):
            flat = await self.read_region(name)
            out[name] = g.rows_to_weights(flat.reshape(pre, -1), post)
        out["b_fb"] = g.feedback_from_words(await self.read_region("b_fb"))
        return Weights(**out)

    async def read_traces(self) -> dict[str, np.ndarray]:
        c = self.cfg
        return {
            "x_bar": (await self.read_region("xbar"))[: c.n_in],
            "z_bar": (await self.read_region("zbar"))[: c.n_rec],
        }

    async def load_traces(self, x_bar: np.ndarray, z_bar: np.ndarray) -> None:
        await self.write_region("xbar", x_bar)
        await self.write_region("zbar", z_bar)

    async def write_bitmap(self, name: str, bits: np.ndarray) -> None:
        region = self.g.regions[name]
        padded = np.zeros(region.depth * BITMAP_WORD, dtype=np.int64)
        padded[: len(bits)] = bits
        await self.write_region(name, padded)

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
