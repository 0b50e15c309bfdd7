"""An in-process, tickless device: the protocol reference model answering with reply bytes.

:class:`ModelDevice` is a transport for the host driver (``plasticore.host.Host``) that needs
no simulator: requests go into ``plasticore.cosim.protocol_model.ProtocolModel``, whose
memory mirror starts all zero and keeps every word written, and the replies it predicts come
back as bytes. RUN runs no network (the core is not modelled) but counts its ticks in TICKS,
so that the driver's recovery of a RUN whose reply was lost has a counter to read. Quick
enough for the default test run; the link tests with faults use it (tests/test_host_faults.py).

Time passes only while the host waits: a frame still incomplete when the host reads, or
leaves the line idle (``gap``), times out as the engine's FRAME_TIMEOUT would make it.
"""

from __future__ import annotations

import struct

from plasticore.contract.frame_codec import encode_reply
from plasticore.contract.protocol_spec import Reg, Status
from plasticore.contract.system_map import SystemMap
from plasticore.golden.config import Config

from .protocol_model import Expected, ProtocolModel

__all__ = ["ModelDevice", "TicklessModel"]

#: registers a fresh device holds besides the constant ones (those of a reset System)
_RESET_REGISTERS = {
    Reg.STATUS: 0,
    Reg.TICKS: 0,
    Reg.TICK_CYCLES: 0,
    Reg.RUN_TICKS: 0,
    Reg.RUN_CORE_CYCLES: 0,
    Reg.RUN_CYCLES: 0,
    Reg.FRAMES_OK: 0,
    Reg.FRAMES_ERR: 0,
    Reg.CLOCK: 0,
    Reg.SCRATCH: 0,
    Reg.FRAME_TIMEOUT: 1024,
    Reg.WATCHDOG: 1 << 20,
}


class TicklessModel(ProtocolModel):
    """The reference model as a device: RUN leaves memory as it is and counts its ticks."""

    def _run(self, p: bytes) -> Expected:
        _start, count, _flags = struct.unpack_from("<HHB", p)
        self.regs[Reg.TICKS] = ((self.regs[Reg.TICKS] or 0) + count) & 0xFFFF_FFFF
        self.regs[Reg.RUN_TICKS] = count
        return self._reply(Status.OK)


class ModelDevice:
    """A device of ``cfg`` behind a perfect line (see the module docstring).

    Parameters
    ----------
    cfg : :class:`~plasticore.golden.config.Config`
        The configuration the device is built for (its identity register and memory map).
    window, max_payload : int, optional
        The System's buffer parameters (``plasticore.contract.system_map.SystemMap``).

    Members
    -------
    model : :class:`TicklessModel`
        The device's state: ``model.mem`` holds every memory word, ``model.regs`` the registers.
    map : :class:`~plasticore.contract.system_map.SystemMap`
        The address space.
    """

    def __init__(self, cfg: Config, window: int | None = None, max_payload: int | None = None):
        kw = {k: v for k, v in (("window", window), ("max_payload", max_payload)) if v is not None}
        self.map = SystemMap(cfg, **kw)
        self.model = TicklessModel(self.map, {int(r): v for r, v in _RESET_REGISTERS.items()})
        for r in self.map.regions.values():
            self.model.know(r.name, 0, [0] * r.depth)
        self._out = bytearray()

    def words(self, region: str) -> list[int]:
        """The words the device holds in ``region`` now."""
        r = self.map.regions[region]
        return [self.model.mem[r.index][i] for i in range(r.depth)]

    def _answer(self, expected: list[Expected]) -> None:
        for e in expected:
            # every word and register is known; only words no memory backs (the padding of B's
            # banks) have no value, and the hardware reads them as zero
            payload = bytes(e.length) if e.payload is None else e.payload
            self._out += encode_reply(e.cmd, e.tag, e.status, payload)

    def write(self, data: bytes) -> None:
        self._answer(self.model.feed(data))

    def read(self, n: int) -> bytes:
        if len(self._out) < n:
            self._answer(self.model.end_of_burst())  # the host waits: a partial frame times out
        out, self._out = bytes(self._out[:n]), self._out[n:]
        return out

    def gap(self) -> None:
        self._answer(self.model.end_of_burst())
        self._out.clear()

    def close(self) -> None:
        pass
