"""The System behind its UART: two serial pins in and out, as on a board.

``SerialSystem`` is what a board carries between its serial pins (``plasticore.boards.top``
adds the PLL, the pins' buffers and the LEDs) and what the virtual board simulates
(``plasticore.cosim.virtual_board``: the same bits on the pins, from a pseudo-terminal).
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.system_map import DEFAULT_MAX_PAYLOAD, DEFAULT_WINDOW
from plasticore.golden.config import Config

from .system import DEFAULT_FRAME_TIMEOUT, System
from .uart import UART

__all__ = ["SerialSystem", "RX_FIFO_DEPTH"]

#: bytes the receive FIFO holds: what a board top gives its UART
RX_FIFO_DEPTH = 16


class SerialSystem(wiring.Component):
    """The core and its protocol engine behind a UART (8N1).

    Parameters
    ----------
    cfg : :class:`~plasticore.golden.config.Config`
        The core's configuration.
    divisor : :class:`int`
        Clock cycles per bit of the UART (:func:`~plasticore.hdl.uart.divisor_for`).
    window : :class:`int`
        Ticks of the run window.
    max_payload : :class:`int`
        Largest payload of a frame.
    frame_timeout : :class:`int`
        Initial value of register FRAME_TIMEOUT, in cycles
        (:func:`~plasticore.hdl.uart.frame_timeout_cycles` on a board).
    watchdog : :class:`int` or :py:`None`
        Initial value of register WATCHDOG, in cycles; :py:`None` for the default.
    rx_fifo_depth : :class:`int`
        Depth of the UART's receive FIFO.

    Members
    -------
    rx_pin : :py:`In(1, init=1)`
        The serial line into the board.
    tx_pin : :py:`Out(1, init=1)`
        The serial line out of the board.
    idle : :py:`Out(1)`
        Nothing is under way: the engine waits for a frame, no received byte waits in the
        FIFO, and the transmitter's line is idle (the last reply is out to its stop bit).
    clock : :py:`Out(32)`
        Register CLOCK: cycles since reset.
    """

    def __init__(
        self,
        cfg: Config,
        divisor: int,
        window: int = DEFAULT_WINDOW,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        frame_timeout: int = DEFAULT_FRAME_TIMEOUT,
        watchdog: int | None = None,
        rx_fifo_depth: int = RX_FIFO_DEPTH,
    ):
        self.system = System(cfg, window, max_payload, frame_timeout, watchdog)
        self.uart = UART(divisor, rx_fifo_depth)
        super().__init__(
            {
                "rx_pin": In(1, init=1),
                "tx_pin": Out(1, init=1),
                "idle": Out(1),
                "clock": Out(32),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.system = system = self.system
        m.submodules.uart = uart = self.uart
        wiring.connect(m, uart.rx, system.rx)
        wiring.connect(m, system.tx, uart.tx)
        m.d.comb += [
            uart.rx_pin.eq(self.rx_pin),
            self.tx_pin.eq(uart.tx_pin),
            # uart.tx.ready: the transmitter has sent its last bit (the stop bit) and waits
            self.idle.eq(system.idle & uart.tx.ready & ~uart.rx.valid),
            self.clock.eq(system.clock),
        ]
        return m
