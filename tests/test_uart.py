"""The UART PHY in Amaranth's simulator: loopback, baud tolerance, framing errors, glitches,
and the whole path host UART -> board UART -> protocol engine -> core and back."""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from plasticore.contract.frame_codec import ReplyDecoder, encode_request, reg_read_args
from plasticore.contract.protocol_spec import MAGIC, Command, Reg, Status
from plasticore.golden import preset
from plasticore.hdl.system import System
from plasticore.hdl.uart import UART, UARTRx, UARTTx, divisor_for, frame_timeout_cycles


class Loopback(wiring.Component):
    """A transmitter wired to a receiver."""

    def __init__(self, divisor):
        self.divisor = divisor
        super().__init__({"i": In(stream.Signature(8)), "o": Out(stream.Signature(8)), "frame_error": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.tx = tx = UARTTx(self.divisor)
        m.submodules.rx = rx = UARTRx(self.divisor)
        m.d.comb += [rx.rx.eq(tx.tx), self.frame_error.eq(rx.frame_error)]
        wiring.connect(m, wiring.flipped(self.i), tx.data)
        wiring.connect(m, rx.data, wiring.flipped(self.o))
        return m


def run_stream(dut, send_stream, recv_stream, data, cycles):
    got = []

    async def sender(ctx):
        for b in data:
            ctx.set(send_stream.payload, b)
            ctx.set(send_stream.valid, 1)
            await ctx.tick().until(send_stream.ready)
        ctx.set(send_stream.valid, 0)

    async def receiver(ctx):
        ctx.set(recv_stream.ready, 1)
        async for _clk, _rst, valid, payload in ctx.tick().sample(recv_stream.valid, recv_stream.payload):
            if valid:
                got.append(payload)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(sender)
    sim.add_process(receiver)
    sim.run_until(cycles * 1e-8)
    return bytes(got)


@pytest.mark.parametrize("divisor", [8, 13, 104])
def test_loopback(divisor):
    n = 64 if divisor < 100 else 12
    data = (
        bytes([0x00, 0xFF, 0x55, 0xAA]) + np.random.default_rng(divisor).integers(0, 256, n, dtype=np.uint8).tobytes()
    )
    dut = Loopback(divisor)
    got = run_stream(dut, dut.i, dut.o, data, (len(data) + 2) * 10 * divisor)
    assert got == data


def bitbang(bits_per_symbol: float, symbols: list[int]) -> list[int]:
    """Line levels per clock cycle for a list of 0/1 symbols of a given (fractional) width."""
    levels, t = [], 0.0
    for s in symbols:
        t += bits_per_symbol
        levels += [s] * (int(round(t)) - len(levels))
    return levels


def uart_symbols(byte: int, stop: int = 1) -> list[int]:
    return [0] + [(byte >> i) & 1 for i in range(8)] + [stop]


def drive_rx(divisor, levels):
    dut = UARTRx(divisor)
    got, errors = [], []

    async def bench(ctx):
        ctx.set(dut.data.ready, 1)
        for level in levels + [1] * (4 * divisor):
            ctx.set(dut.rx, level)
            await ctx.tick()
            if ctx.get(dut.data.valid):
                got.append(ctx.get(dut.data.payload))
            if ctx.get(dut.frame_error):
                errors.append(len(got))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return bytes(got), errors


@pytest.mark.parametrize("skew", [0.97, 1.0, 1.03])
def test_receiver_tolerates_baud_error(skew):
    divisor = 16
    data = bytes([0x00, 0xFF, 0x81, 0x3C, 0xA5])
    symbols = [1, 1] + [s for b in data for s in uart_symbols(b)] + [1]
    got, errors = drive_rx(divisor, bitbang(divisor * skew, symbols))
    assert got == data and errors == []


def test_framing_error_drops_the_byte_and_glitches_are_ignored():
    divisor = 16
    glitch = [1] * 20 + [0] * 5 + [1] * 40  # shorter than half a bit: not a start bit
    levels = (
        glitch
        + bitbang(divisor, uart_symbols(0x42, stop=0))
        + [0] * 40
        + [1] * 40
        + bitbang(divisor, uart_symbols(0x17) + [1])
    )
    got, errors = drive_rx(divisor, levels)
    assert got == bytes([0x17]) and errors == [0]


def test_divisor_and_timeout_helpers():
    assert divisor_for(12e6, 115200) == 104
    assert divisor_for(24e6, 3_000_000) == 8
    with pytest.raises(ValueError, match="too fast"):
        divisor_for(12e6, 3_000_000)
    with pytest.raises(ValueError, match="off by"):
        divisor_for(12e6, 1_400_000)  # 8.57 cycles per bit: 9 is 4.8 % slow
    assert frame_timeout_cycles(12e6, 115200) == 600_000


class BoardLink(wiring.Component):
    """A host-side UART talking over two wires to a board: UART + System."""

    def __init__(self, cfg, divisor):
        self.cfg, self.divisor = cfg, divisor
        super().__init__({"i": In(stream.Signature(8)), "o": Out(stream.Signature(8))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.host_tx = host_tx = UARTTx(self.divisor)
        m.submodules.host_rx = host_rx = UARTRx(self.divisor)
        # the FIFO holds the second request while the engine still sends the first reply
        m.submodules.uart = uart = UART(self.divisor, rx_fifo_depth=16)
        m.submodules.system = system = System(self.cfg, window=4, max_payload=128, frame_timeout=4000)
        m.d.comb += [uart.rx_pin.eq(host_tx.tx), host_rx.rx.eq(uart.tx_pin)]
        wiring.connect(m, uart.rx, system.rx)
        wiring.connect(m, system.tx, uart.tx)
        wiring.connect(m, wiring.flipped(self.i), host_tx.data)
        wiring.connect(m, host_rx.data, wiring.flipped(self.o))
        return m


def test_frames_through_the_uart_reach_the_engine():
    divisor = 8
    dut = BoardLink(preset("small"), divisor)
    request = encode_request(Command.NOP, 1) + encode_request(Command.READ_REG, 2, reg_read_args(Reg.MAGIC, 2))
    reply_bytes = 8 + 8 + 8
    got = run_stream(dut, dut.i, dut.o, request, (len(request) + reply_bytes + 4) * 10 * divisor)
    replies = ReplyDecoder().feed(got)
    assert [(r.cmd, r.tag, r.status) for r in replies] == [
        (Command.NOP, 1, Status.OK),
        (Command.READ_REG, 2, Status.OK),
    ]
    assert int.from_bytes(replies[1].payload[:4], "little") == MAGIC
