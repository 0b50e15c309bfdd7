"""UART PHY (8N1) that carries the protocol's byte streams on a board.

* ``divisor`` is the number of clock cycles per bit: :func:`divisor_for` derives it from the
  board clock and the baud rate and refuses a pair whose rounding error exceeds 2 % (a UART
  frame of 10 bits tolerates about 5 % between both ends).
* The receiver synchronizes the pin with two flip-flops, detects the falling edge of the
  start bit, re-checks the start bit in its middle (a glitch shorter than half a bit is
  ignored), then samples each data bit and the stop bit in its middle. A low stop bit is a
  framing error: the byte is dropped and the receiver waits for the line to go high again.
* The receiver cannot stall the line: a byte that arrives while the previous one has not
  been taken is dropped (``overrun`` pulses). The protocol is request/response, so the
  engine is always ready when the host sends; ``rx_fifo_depth`` adds a FIFO for hosts that
  do not wait.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

__all__ = ["UARTTx", "UARTRx", "UART", "divisor_for", "frame_timeout_cycles", "MIN_DIVISOR"]

#: fewest cycles per bit: the receiver needs a middle to sample in, after its synchronizer
MIN_DIVISOR = 8
#: cycles from the pin to the receiver's state machine (two flip-flops)
_SYNC_STAGES = 2


def divisor_for(clk_hz: float, baud: int) -> int:
    """Cycles per bit for ``baud`` on a ``clk_hz`` clock; refuses more than 2 % error."""
    if baud <= 0 or clk_hz <= 0:
        raise ValueError(f"baud {baud!r} and clock {clk_hz!r} Hz must be positive")
    divisor = round(clk_hz / baud)
    if divisor < MIN_DIVISOR:
        raise ValueError(
            f"baud: {baud} is too fast for a {clk_hz / 1e6:g} MHz clock "
            f"(needs at least {MIN_DIVISOR} cycles per bit; at most {int(clk_hz // MIN_DIVISOR)} baud)"
        )
    error = abs(clk_hz / divisor - baud) / baud
    if error > 0.02:
        raise ValueError(
            f"baud: {baud} on a {clk_hz / 1e6:g} MHz clock is off by {100 * error:.1f} % "
            f"(divisor {divisor}); the limit is 2 %"
        )
    return divisor


def frame_timeout_cycles(clk_hz: float, baud: int, seconds: float = 0.05) -> int:
    """A FRAME_TIMEOUT for a board: ``seconds`` (USB-serial bridges pause mid-frame for a few
    milliseconds) but never less than 16 byte times."""
    return max(int(clk_hz * seconds), 16 * 10 * divisor_for(clk_hz, baud))


class UARTTx(wiring.Component):
    """UART transmitter: bytes from ``data`` out on ``tx``.

    Each byte is sent as a start bit, 8 data bits LSB first and a stop bit; ``data.ready``
    is high while the line is idle.

    Parameters
    ----------
    divisor : :class:`int`
        Clock cycles per bit (at least ``MIN_DIVISOR``; see :func:`divisor_for`).

    Members
    -------
    data : :py:`In(stream.Signature(8))`
        Bytes to send.
    tx : :py:`Out(1, init=1)`
        The serial line (high when idle).
    """

    def __init__(self, divisor: int):
        if divisor < MIN_DIVISOR:
            raise ValueError(f"divisor: {divisor!r} is below the minimum {MIN_DIVISOR}")
        self.divisor = divisor
        super().__init__(
            {
                "data": In(stream.Signature(8)),
                "tx": Out(1, init=1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        shift = Signal(10, init=0x3FF)
        bits = Signal(range(11))
        count = Signal(range(self.divisor))
        m.d.comb += [self.tx.eq(shift[0]), self.data.ready.eq(bits == 0)]
        with m.If(bits == 0):
            with m.If(self.data.valid):
                m.d.sync += [
                    shift.eq(Cat(Const(0, 1), self.data.payload, Const(1, 1))),
                    bits.eq(10),
                    count.eq(self.divisor - 1),
                ]
        with m.Elif(count == 0):
            m.d.sync += [shift.eq(Cat(shift[1:], Const(1, 1))), bits.eq(bits - 1), count.eq(self.divisor - 1)]
        with m.Else():
            m.d.sync += count.eq(count - 1)
        return m


class UARTRx(wiring.Component):
    """UART receiver: bytes from the ``rx`` line onto ``data``.

    It cannot stall the line: a byte that arrives while the previous one has not been taken
    is dropped (``overrun`` pulses); a low stop bit drops the byte (``frame_error`` pulses).

    Parameters
    ----------
    divisor : :class:`int`
        Clock cycles per bit (at least ``MIN_DIVISOR``; see :func:`divisor_for`).

    Members
    -------
    rx : :py:`In(1, init=1)`
        The serial line (asynchronous: synchronized with two flip-flops).
    data : :py:`Out(stream.Signature(8))`
        Bytes received.
    frame_error : :py:`Out(1)`
        Pulse: a byte had a low stop bit.
    overrun : :py:`Out(1)`
        Pulse: a byte was dropped because the previous one was not taken.
    """

    def __init__(self, divisor: int):
        if divisor < MIN_DIVISOR:
            raise ValueError(f"divisor: {divisor!r} is below the minimum {MIN_DIVISOR}")
        self.divisor = divisor
        super().__init__(
            {
                "rx": In(1, init=1),
                "data": Out(stream.Signature(8)),
                "frame_error": Out(1),
                "overrun": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, line, init=1)
        count = Signal(range(self.divisor))
        bit = Signal(range(8))
        shift = Signal(8)
        valid, payload = Signal(), Signal(8)
        m.d.comb += [self.data.valid.eq(valid), self.data.payload.eq(payload)]
        with m.If(self.data.ready):
            m.d.sync += valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    # the edge happened _SYNC_STAGES cycles ago; sample half a bit after it
                    m.d.sync += count.eq(max(0, self.divisor // 2 - _SYNC_STAGES - 1))
                    m.next = "START"
            with m.State("START"):  # wait to the middle of the start bit
                with m.If(count == 0):
                    with m.If(line):
                        m.next = "IDLE"  # a glitch, not a start bit
                    with m.Else():
                        m.d.sync += [count.eq(self.divisor - 1), bit.eq(0)]
                        m.next = "DATA"
                with m.Else():
                    m.d.sync += count.eq(count - 1)
            with m.State("DATA"):  # sample each bit in its middle
                with m.If(count == 0):
                    m.d.sync += [shift.eq(Cat(shift[1:], line)), bit.eq(bit + 1), count.eq(self.divisor - 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += count.eq(count - 1)
            with m.State("STOP"):
                with m.If(count == 0):
                    with m.If(line):
                        with m.If(valid & ~self.data.ready):
                            m.d.comb += self.overrun.eq(1)
                        with m.Else():
                            m.d.sync += [valid.eq(1), payload.eq(shift)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.comb += self.frame_error.eq(1)
                        m.next = "BREAK"
                with m.Else():
                    m.d.sync += count.eq(count - 1)
            with m.State("BREAK"):  # after a framing error: wait for an idle line
                with m.If(line):
                    m.next = "IDLE"
        return m


class UART(wiring.Component):
    """A UART (8N1) between two serial pins and two byte streams.

    A board top connects ``rx`` to ``System.rx`` and ``System.tx`` to ``tx``.

    Parameters
    ----------
    divisor : :class:`int`
        Clock cycles per bit (at least ``MIN_DIVISOR``; see :func:`divisor_for`).
    rx_fifo_depth : :class:`int`
        Depth of a FIFO after the receiver, for hosts that do not wait for the reply; 0 for
        none.

    Members
    -------
    rx_pin : :py:`In(1, init=1)`
        The receive pin.
    tx_pin : :py:`Out(1, init=1)`
        The transmit pin.
    rx : :py:`Out(stream.Signature(8))`
        Bytes received.
    tx : :py:`In(stream.Signature(8))`
        Bytes to send.
    frame_error : :py:`Out(1)`
        Pulse: a received byte had a low stop bit.
    overrun : :py:`Out(1)`
        Pulse: a received byte was dropped.
    """

    def __init__(self, divisor: int, rx_fifo_depth: int = 0):
        self.divisor = divisor
        self.rx_fifo_depth = rx_fifo_depth
        super().__init__(
            {
                "rx_pin": In(1, init=1),
                "tx_pin": Out(1, init=1),
                "rx": Out(stream.Signature(8)),
                "tx": In(stream.Signature(8)),
                "frame_error": Out(1),
                "overrun": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.receiver = rx = UARTRx(self.divisor)
        m.submodules.transmitter = tx = UARTTx(self.divisor)
        m.d.comb += [
            rx.rx.eq(self.rx_pin),
            self.tx_pin.eq(tx.tx),
            self.frame_error.eq(rx.frame_error),
            self.overrun.eq(rx.overrun),
        ]
        wiring.connect(m, wiring.flipped(self.tx), tx.data)
        if self.rx_fifo_depth:
            m.submodules.rx_fifo = fifo = SyncFIFOBuffered(width=8, depth=self.rx_fifo_depth)
            m.d.comb += [
                fifo.w_data.eq(rx.data.payload),
                fifo.w_en.eq(rx.data.valid),
                rx.data.ready.eq(fifo.w_rdy),
                self.rx.valid.eq(fifo.r_rdy),
                self.rx.payload.eq(fifo.r_data),
                fifo.r_en.eq(self.rx.ready),
            ]
        else:
            wiring.connect(m, rx.data, wiring.flipped(self.rx))
        return m
