"""Receiving a request frame: sync byte, header, payload and CRC, off a byte stream.

Outside a frame every byte but ``SYNC_REQUEST`` is dropped. After the sync byte the header
(cmd, tag, length) and the payload are stored (the payload through a memory write port, its
first ``MEM_ARGS`` bytes also in ``args``) while the shared CRC register runs over them. A
length above ``max_payload`` ends the frame with ``LENGTH`` at once; a gap of FRAME_TIMEOUT
cycles inside a frame with ``TIMEOUT``; a CRC residue other than zero with ``CRC``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import WritePort
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from plasticore.contract.protocol_spec import MEM_ARGS, SYNC_REQUEST, Status

from .crc import CRCPort
from .wait_timer import TimerControl

__all__ = ["Request", "FrameReceiver"]


class Request(wiring.Signature):
    """Signature of the fields of a received request frame, from the receiver's side.

    Parameters
    ----------
    max_payload : :class:`int`
        Largest payload the engine accepts (a longer length is refused in the header).

    Members
    -------
    cmd : :py:`Out(8)`
        Command byte.
    tag : :py:`Out(8)`
        Tag byte, echoed in the reply.
    length : :py:`Out(range(max_payload + 1))`
        Payload length (past the header check, at most ``max_payload``).
    args : :py:`Out(8 * MEM_ARGS)`
        The first ``MEM_ARGS`` payload bytes (zero past the payload), little-endian.
    """

    def __init__(self, max_payload: int):
        self.max_payload = max_payload
        super().__init__(
            {
                "cmd": Out(8),
                "tag": Out(8),
                "length": Out(range(max_payload + 1)),
                "args": Out(8 * MEM_ARGS),
            }
        )

    def __eq__(self, other):
        return type(self) is type(other) and self.max_payload == other.max_payload

    def __repr__(self):
        return f"Request({self.max_payload})"


class FrameReceiver(wiring.Component):
    """Takes one request frame off ``rx``, then holds until the reply has been sent.

    ``rx.ready`` is a function of the state only. When a frame ends (complete, or refused
    while receiving) ``done`` pulses with its ``status`` and ``rx.ready`` stays low until
    ``release``.

    Parameters
    ----------
    max_payload : :class:`int`
        Depth of the payload buffer behind ``payload``.

    Members
    -------
    rx : :py:`In(stream.Signature(8))`
        Bytes from the host.
    request : :py:`Out(Request(max_payload))`
        The fields of the frame (valid from ``done`` until the next frame's sync byte).
    payload : :py:`Out(WritePort.Signature(...).flip())`
        Write port of the payload buffer (byte ``i`` of the payload at address ``i``).
    crc : :py:`Out(CRCPort())`
        The shared CRC register, run over the frame from ``cmd`` to the CRC bytes.
    timer : :py:`Out(TimerControl())`
        The shared wait timer, loaded with FRAME_TIMEOUT at the sync byte and every byte.
    done : :py:`Out(1)`
        Pulse: the frame has ended.
    status : :py:`Out(8)`
        With ``done``: ``OK`` (the CRC matched: check and execute it), else ``LENGTH``,
        ``TIMEOUT`` or ``CRC``.
    release : :py:`In(1)`
        The reply has been sent: hunt for the next frame.
    hunting : :py:`Out(1)`
        Outside a frame, waiting for a sync byte.
    """

    def __init__(self, max_payload: int):
        self.max_payload = max_payload
        addr_width = ceil_log2(max_payload)
        super().__init__(
            {
                "rx": In(stream.Signature(8)),
                "request": Out(Request(max_payload)),
                "payload": Out(WritePort.Signature(addr_width=addr_width, shape=8).flip()),
                "crc": Out(CRCPort()),
                "timer": Out(TimerControl()),
                "done": Out(1),
                "status": Out(8),
                "release": In(1),
                "hunting": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cmd, tag, length, args = self.request.cmd, self.request.tag, self.request.length, self.request.args
        hidx = Signal(2)  # header / CRC byte index
        rx_idx = Signal(range(self.max_payload + 1))  # payload bytes received
        byte = self.rx.payload
        got = Signal()
        m.d.comb += [got.eq(self.rx.valid & self.rx.ready), self.crc.data.eq(byte)]

        def end(status):
            m.d.comb += [self.done.eq(1), self.status.eq(status)]
            m.next = "HELD"

        def receiving_timeout():
            with m.If(got):
                m.d.comb += [self.timer.load.eq(1), self.crc.en.eq(1)]
            with m.Elif(self.timer.expired):
                end(Status.TIMEOUT)
            with m.Else():
                m.d.comb += self.timer.count.eq(1)

        with m.FSM(name="receiver") as fsm:
            with m.State("HUNT"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(got & (byte == SYNC_REQUEST)):
                    m.d.comb += [self.crc.clear.eq(1), self.timer.load.eq(1)]
                    m.d.sync += [hidx.eq(0), cmd.eq(0), tag.eq(0), length.eq(0), rx_idx.eq(0), args.eq(0)]
                    m.next = "HEADER"

            with m.State("HEADER"):
                m.d.comb += self.rx.ready.eq(1)
                receiving_timeout()
                with m.If(got):
                    m.d.sync += hidx.eq(hidx + 1)
                    with m.Switch(hidx):
                        with m.Case(0):
                            m.d.sync += cmd.eq(byte)
                        with m.Case(1):
                            m.d.sync += tag.eq(byte)
                        with m.Case(2):
                            m.d.sync += length[0:8].eq(byte)
                        with m.Case(3):
                            full = Cat(length[0:8], byte)
                            m.d.sync += [length.eq(full), hidx.eq(0)]
                            with m.If(full > self.max_payload):
                                end(Status.LENGTH)
                            with m.Elif(full == 0):
                                m.next = "CRC"
                            with m.Else():
                                m.next = "PAYLOAD"

            with m.State("PAYLOAD"):
                m.d.comb += [
                    self.rx.ready.eq(1),
                    self.payload.addr.eq(rx_idx),
                    self.payload.data.eq(byte),
                    self.payload.en.eq(got),
                ]
                receiving_timeout()
                with m.If(got):
                    m.d.sync += rx_idx.eq(rx_idx + 1)
                    for i in range(MEM_ARGS):
                        with m.If(rx_idx == i):
                            m.d.sync += args[8 * i : 8 * i + 8].eq(byte)
                    with m.If(rx_idx == length - 1):
                        m.next = "CRC"

            with m.State("CRC"):
                m.d.comb += self.rx.ready.eq(1)
                receiving_timeout()
                with m.If(got):
                    m.d.sync += hidx.eq(hidx + 1)
                    with m.If(hidx == 1):
                        end(Mux(self.crc.next == 0, Status.OK, Status.CRC))

            with m.State("HELD"):  # the request executes and is answered
                with m.If(self.release):
                    m.next = "HUNT"
        m.d.comb += self.hunting.eq(fsm.ongoing("HUNT"))
        return m
