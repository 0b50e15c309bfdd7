"""The core behind its protocol engine: a byte stream in, a byte stream out.

``System(cfg)`` is what a board top wraps with a UART (``plasticore.hdl.uart.UART``) and what the
co-simulation's byte-stream bench drives directly (bypassing only the UART). Its parameters
(``window``, ``max_payload``) are readable by the host from register BUFFERS and are part of
the identity the host checks (``SystemMap.identity``).
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.cycles import default_watchdog
from plasticore.contract.system_map import DEFAULT_MAX_PAYLOAD, DEFAULT_WINDOW, SystemMap
from plasticore.golden.config import Config

from .core import Core
from .protocol import ProtocolEngine

__all__ = ["System", "default_watchdog", "DEFAULT_FRAME_TIMEOUT"]

#: reset value of register FRAME_TIMEOUT when the caller gives none: fits a simulation,
#: where bytes of a frame arrive back to back. Board tops derive theirs from the baud rate
#: (``plasticore.hdl.uart.frame_timeout_cycles``).
DEFAULT_FRAME_TIMEOUT = 1024


class System(wiring.Component):
    """The core behind its protocol engine: requests in on ``rx``, replies out on ``tx``.

    Parameters
    ----------
    cfg : :class:`~plasticore.golden.config.Config`
        The core's configuration.
    window : :class:`int`
        Ticks of the run window (the depth of the tick buffers).
    max_payload : :class:`int`
        Largest payload of a frame.
    frame_timeout : :class:`int`
        Initial value of register FRAME_TIMEOUT, in cycles.
    watchdog : :class:`int` or :py:`None`
        Initial value of register WATCHDOG, in cycles; :py:`None` for
        :func:`~plasticore.contract.cycles.default_watchdog` of ``cfg``.

    Attributes
    ----------
    map : :class:`~plasticore.contract.system_map.SystemMap`
        The address space.

    Members
    -------
    rx : :py:`In(stream.Signature(8))`
        Request bytes.
    tx : :py:`Out(stream.Signature(8))`
        Reply bytes.
    idle : :py:`Out(1)`
        The engine waits for a frame and has nothing left to send.
    clock : :py:`Out(32)`
        Register CLOCK: cycles since reset (a board blinks a LED with it).
    """

    def __init__(
        self,
        cfg: Config,
        window: int = DEFAULT_WINDOW,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        frame_timeout: int = DEFAULT_FRAME_TIMEOUT,
        watchdog: int | None = None,
    ):
        self.cfg = cfg
        self.map = SystemMap(cfg, window, max_payload)
        self.frame_timeout = frame_timeout
        self.watchdog = default_watchdog(cfg) if watchdog is None else watchdog
        super().__init__(
            {
                "rx": In(stream.Signature(8)),
                "tx": Out(stream.Signature(8)),
                "idle": Out(1),
                "clock": Out(32),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = Core(self.cfg)
        m.submodules.engine = engine = ProtocolEngine(self.map, self.frame_timeout, self.watchdog)
        wiring.connect(m, engine.bus, core.bus)
        wiring.connect(m, engine.ctl, core.ctl)
        wiring.connect(m, wiring.flipped(self.rx), engine.rx)
        wiring.connect(m, engine.tx, wiring.flipped(self.tx))
        m.d.comb += [self.idle.eq(engine.idle), self.clock.eq(engine.clock)]
        return m
