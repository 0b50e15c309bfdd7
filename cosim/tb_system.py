"""cocotb bench: ``plasticore.hdl.system.System`` as a simulated board, driven over a socket.

The host (``plasticore.cosim.host_transport.SimulatedTransport``, in the pytest or CLI process) connects
to the Unix socket named by ``PLASTICORE_SYSTEM_SOCKET`` and sends operations; the bench
carries them out on the DUT's byte streams and answers with the bytes the DUT sent meanwhile.
The UART is bypassed: bytes go straight into ``rx`` and come out of ``tx``.

Simulated time advances only inside an operation, never while the bench waits for the host,
so a run is deterministic whatever the host's speed, and a frame the host writes in one
operation reaches the engine back to back (no spurious frame timeouts). Operations:

``WRITE``    present the bytes on ``rx`` one per cycle as the engine takes them;
``READ n``   run until ``n`` bytes came out, the engine is idle, or a cycle limit;
``ADVANCE``  run a number of cycles with nothing on ``rx`` (a line gap);
``STOP``     end the simulation.

Each answer carries: the bytes ``tx`` sent during the operation, the cycle count, and
whether the engine is idle. Signal discipline as in ``cosim/tb_core.py``: inputs change and
outputs are read at falling edges; ``rx.ready`` and ``tx.valid`` are registered in the
engine, so the value read at a falling edge holds through the next rising edge.
"""

from __future__ import annotations

import os
import socket

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, First, RisingEdge, Timer
from cocotb.utils import get_sim_time

from plasticore.cosim.byte_link import ANSWER, OP_ADVANCE, OP_READ, OP_STOP, OP_WRITE, REQUEST

PERIOD_NS = 10


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class ByteBench:
    """Byte-level access to the DUT's streams; handles are looked up once (per-cycle Python
    work is what limits the simulated transport's speed)."""

    def __init__(self, dut):
        self.dut = dut
        self.falling = FallingEdge(dut.clk)
        self.tx_valid, self.tx_payload = dut.tx__valid, dut.tx__payload
        self.rx_valid, self.rx_payload, self.rx_ready = dut.rx__valid, dut.rx__payload, dut.rx__ready
        self.idle = dut.idle
        self.out = bytearray()

    @staticmethod
    def cycle() -> int:
        return int(get_sim_time("ns")) // PERIOD_NS

    async def _edge(self) -> bool:
        """To the next falling edge; record the byte tx offers there (taken at the coming
        rising edge, tx.ready being 1). Returns whether there was one."""
        await self.falling
        if self.tx_valid.value:
            self.out.append(int(self.tx_payload.value))
            return True
        return False

    async def write(self, data: bytes) -> None:
        i, n = 0, len(data)
        rx_valid, rx_payload, rx_ready = self.rx_valid, self.rx_payload, self.rx_ready
        rx_valid.value = 1
        while i < n:
            rx_payload.value = data[i]
            if rx_ready.value:
                i += 1  # taken at the coming rising edge
            await self._edge()
        rx_valid.value = 0

    async def run(self, want: int | None, cycles: int, stop_when_idle: bool) -> bool:
        """Run until ``want`` bytes are out, the engine is idle (if asked) or ``cycles`` passed.
        Returns True when the cycle limit ended the run."""
        end = self.cycle() + cycles
        streaming = bool(self.tx_valid.value)  # the byte at this edge is already recorded
        while True:
            if want is not None and len(self.out) >= want:
                return False
            if streaming:
                streaming = await self._edge()
                continue
            if stop_when_idle and self.idle.value:
                return False
            now = self.cycle()
            if now >= end:
                return True
            # nothing to record: let the simulator run freely until something happens
            triggers = [RisingEdge(self.tx_valid), Timer((end - now) * PERIOD_NS, unit="ns")]
            if stop_when_idle:
                triggers.append(RisingEdge(self.idle))
            await First(*triggers)
            streaming = await self._edge()


@cocotb.test()
async def serve_host(dut):
    # the C++ clock: free-running stretches (ticks, timeouts) run without Python per cycle
    Clock(dut.clk, PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    dut.rx__valid.value = 0
    dut.rx__payload.value = 0
    dut.tx__ready.value = 1
    dut.rst.value = 1
    bench = ByteBench(dut)
    await bench.falling
    await bench.falling
    dut.rst.value = 0
    await bench.falling

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.environ["PLASTICORE_SYSTEM_SOCKET"])
    try:
        while True:
            head = _recv_exact(sock, REQUEST.size)
            if head is None:
                break
            op, n, cycles, size = REQUEST.unpack(head)
            data = _recv_exact(sock, size) if size else b""
            limit = False
            bench.out.clear()
            if op == OP_WRITE:
                await bench.write(data)
            elif op == OP_READ:
                limit = await bench.run(n, cycles, stop_when_idle=True)
            elif op == OP_ADVANCE:
                await bench.run(None, cycles, stop_when_idle=False)
            elif op == OP_STOP:
                sock.sendall(ANSWER.pack(0, int(dut.idle.value), bench.cycle(), 0))
                break
            else:
                raise RuntimeError(f"unknown bench operation {op}")
            sock.sendall(ANSWER.pack(int(limit), int(dut.idle.value), bench.cycle(), len(bench.out)) + bytes(bench.out))
    finally:
        sock.close()
