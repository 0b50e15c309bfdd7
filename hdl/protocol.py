"""The protocol engine: framed commands on a byte stream, served on the core's bus and controls.

Bytes come in on ``rx`` and replies go out on ``tx`` (``amaranth.lib.stream`` of 8-bit
payloads); on a board a UART (``hdl/uart.py``) carries them, in simulation the bench feeds
the streams directly. The frame format, commands, registers and error codes are those of
:mod:`plasticore.contract.protocol_spec`; the address space (the core's regions plus the engine's tick
buffers) is :class:`plasticore.contract.system_map.SystemMap`. ``docs/protocol.md`` is the prose version.

How a request is handled, and why nothing is committed from a bad frame:

1. *Receive.* Outside a frame every byte but ``SYNC_REQUEST`` is dropped. After the sync byte
   the header (cmd, tag, length) and the payload are stored (the payload in a byte buffer of
   ``max_payload`` bytes) while the CRC register runs over them. A length above
   ``max_payload`` is answered with ``LENGTH`` at once; a gap of ``FRAME_TIMEOUT`` cycles
   inside a frame with ``TIMEOUT``.
2. *Check.* After the two CRC bytes the residue must be zero (``CRC``); then the command, the
   length and the arguments are checked, in that order (``COMMAND``, ``LENGTH``, ``RANGE``,
   ``READ_ONLY``, ``BUSY``).
3. *Execute*, only now: writes go from the payload buffer to the core or a buffer; RUN runs
   the sequencer (copy a tick's inputs from the input buffers into the core over the bus,
   pulse ``start`` with valid and learn, wait for ``done``, copy Y, z and the cycle count
   into the output buffers).
4. *Reply*: header, payload (register values or memory words read on the fly), CRC.

Each step is a component of its own: :mod:`.frame_receiver` (1), :mod:`.frame_checker` (2),
:mod:`.command_sequencer` (3, an FSM that also dispatches the checker's verdict) and
:mod:`.reply_transmitter` (4). They share the blocks that are idle outside their step:
:mod:`.region_port` (one word port over every region), :mod:`.crc`, :mod:`.wait_timer`,
:mod:`.word_cursor` and :mod:`.registers`.

Every wait has a bound (the frame timeout while receiving, the watchdog while a tick runs),
so the engine always returns to hunting for a sync byte. It handles one frame at a time: the
host sends the next request after the reply (``rx.ready`` is low while a request executes).

Signal discipline for benches: ``rx.ready``, ``tx.valid`` and ``tx.payload`` are functions of
registers only (never of ``rx.valid`` or ``tx.ready`` in the same cycle).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from plasticore.contract.protocol_spec import MIN_FRAME_TIMEOUT, MIN_WATCHDOG, REG_BITS, Reg, Status
from plasticore.contract.system_map import SystemMap

from .bus import MemoryBus, TickControl
from .command_sequencer import CommandSequencer, cursor_shape
from .crc import CRC16
from .frame_checker import FrameChecker
from .frame_observer import PROPERTIES, FrameObserver
from .frame_receiver import FrameReceiver
from .region_port import RegionPort
from .registers import Registers
from .reply_transmitter import ReplyTransmitter
from .wait_timer import WaitTimer
from .word_cursor import WordCursor

__all__ = ["ProtocolEngine"]


class ProtocolEngine(wiring.Component):
    """Serves framed requests from a byte stream on the core's bus and tick controls.

    It composes a :class:`~plasticore.hdl.frame_receiver.FrameReceiver`, a
    :class:`~plasticore.hdl.frame_checker.FrameChecker`, a
    :class:`~plasticore.hdl.command_sequencer.CommandSequencer` and a
    :class:`~plasticore.hdl.reply_transmitter.ReplyTransmitter`, which share a
    :class:`~plasticore.hdl.region_port.RegionPort` (the address space), a
    :class:`~plasticore.hdl.crc.CRC16`, a :class:`~plasticore.hdl.wait_timer.WaitTimer`, a
    :class:`~plasticore.hdl.word_cursor.WordCursor` and the
    :class:`~plasticore.hdl.registers.Registers`: exactly one of the four handles the request
    at a time, so each shared block serves one user at a time.

    Parameters
    ----------
    smap : :class:`~plasticore.contract.system_map.SystemMap`
        The address space: the core's regions, the tick buffers, the run window and the
        largest payload.
    frame_timeout : :class:`int`
        Initial value of register FRAME_TIMEOUT (cycles; at least ``MIN_FRAME_TIMEOUT``).
    watchdog : :class:`int`
        Initial value of register WATCHDOG (cycles; at least ``MIN_WATCHDOG``).
    formal : :class:`bool` or :class:`tuple` of :class:`str`
        Add the formal properties (docs/reliability.md, "Formal"): the reply stream's and
        those of :class:`~plasticore.hdl.frame_observer.FrameObserver` (``True``: all its
        groups, or a tuple of some of ``frame_observer.PROPERTIES``).

    Both are held, with SCRATCH, in the buffer memory: set at configuration, not by a logic
    reset.

    Members
    -------
    rx : :py:`In(stream.Signature(8))`
        Request bytes.
    tx : :py:`Out(stream.Signature(8))`
        Reply bytes.
    bus : :py:`Out(MemoryBus(smap.geometry))`
        The core's memory bus.
    ctl : :py:`Out(TickControl())`
        The core's tick controls.
    idle : :py:`Out(1)`
        Hunting for a frame, nothing left to send.
    clock : :py:`Out(32)`
        Register CLOCK: cycles since reset.

    Raises
    ------
    :exc:`ValueError`
        If ``frame_timeout`` or ``watchdog`` is below its minimum.
    """

    def __init__(self, smap: SystemMap, frame_timeout: int, watchdog: int, *, formal: bool | tuple = False):
        if frame_timeout < MIN_FRAME_TIMEOUT:
            raise ValueError(f"frame_timeout: {frame_timeout!r} is below the minimum {MIN_FRAME_TIMEOUT} cycles")
        if watchdog < MIN_WATCHDOG:
            raise ValueError(f"watchdog: {watchdog!r} is below the minimum {MIN_WATCHDOG} cycles")
        self.map = smap
        self.frame_timeout = frame_timeout
        self.watchdog = watchdog
        self.formal = formal
        super().__init__(
            {
                "rx": In(stream.Signature(8)),
                "tx": Out(stream.Signature(8)),
                "bus": Out(MemoryBus(smap.geometry)),
                "ctl": Out(TickControl()),
                "idle": Out(1),
                "clock": Out(32),
            }
        )

    def elaborate(self, platform):
        m = Module()
        smap = self.map
        reg_init = {Reg.SCRATCH: 0, Reg.FRAME_TIMEOUT: self.frame_timeout, Reg.WATCHDOG: self.watchdog}
        m.submodules.receiver = rcv = FrameReceiver(smap.max_payload)
        m.submodules.checker = chk = FrameChecker(smap)
        m.submodules.sequencer = seq = CommandSequencer(smap)
        m.submodules.transmitter = xmt = ReplyTransmitter(smap, formal=bool(self.formal))
        m.submodules.registers = regs = Registers(smap)
        m.submodules.port = port = RegionPort(smap, reg_init)
        m.submodules.timer = timer = WaitTimer(REG_BITS)
        m.submodules.crc = crc = CRC16()
        m.submodules.cursor = cursor = WordCursor(*cursor_shape(smap))
        m.submodules.payload = pmem = Memory(shape=8, depth=smap.max_payload, init=[])

        wiring.connect(m, wiring.flipped(self.rx), rcv.rx)
        wiring.connect(m, xmt.tx, wiring.flipped(self.tx))
        wiring.connect(m, port.bus, wiring.flipped(self.bus))
        wiring.connect(m, seq.ctl, wiring.flipped(self.ctl))
        wiring.connect(m, rcv.request, chk.request, seq.request, xmt.request)
        wiring.connect(m, rcv.payload, pmem.write_port())
        wiring.connect(m, seq.payload, pmem.read_port())
        wiring.connect(m, seq.reply, xmt.reply)

        # the receiver hands the frame to the sequencer, the transmitter releases it
        m.d.comb += [seq.received.eq(rcv.done), seq.received_status.eq(rcv.status), rcv.release.eq(xmt.done)]
        # the checker's verdict and the addressed region's word size
        m.d.comb += [
            chk.busy.eq(self.ctl.busy),
            seq.check.eq(chk.status),
            seq.read_length.eq(chk.read_length),
            seq.bytes_per_word.eq(chk.bytes_per_word),
            xmt.bytes_per_word.eq(chk.bytes_per_word),
        ]
        # the word port: the sequencer's, lent to the transmitter for its reads
        acc, s_acc, x_acc = port.access, seq.access, xmt.access
        with m.If(x_acc.re):
            m.d.comb += [acc.region.eq(x_acc.region), acc.addr.eq(x_acc.addr)]
        with m.Else():
            m.d.comb += [acc.region.eq(s_acc.region), acc.addr.eq(s_acc.addr)]
        m.d.comb += [
            acc.wdata.eq(s_acc.wdata),
            acc.we.eq(s_acc.we),
            acc.re.eq(s_acc.re | x_acc.re),
            s_acc.rdata.eq(acc.rdata),
            x_acc.rdata.eq(acc.rdata),
        ]
        # one wait timer: the frame timeout (receiver) and the watchdog (sequencer); the limit is
        # what the port reads while no state uses it
        m.d.comb += [
            timer.limit.eq(acc.rdata[:REG_BITS]),
            timer.load.eq(rcv.timer.load | seq.timer.load),
            timer.count.eq(rcv.timer.count | seq.timer.count),
            rcv.timer.expired.eq(timer.expired),
            seq.timer.expired.eq(timer.expired),
        ]
        # one CRC register: over the request while receiving, else over the reply
        m.d.comb += [
            crc.clear.eq(rcv.crc.clear | xmt.crc.clear),
            crc.en.eq(rcv.crc.en | xmt.crc.en),
            crc.data.eq(Mux(rcv.crc.en, rcv.crc.data, xmt.crc.data)),
            rcv.crc.crc.eq(crc.crc),
            rcv.crc.next.eq(crc.next),
            xmt.crc.crc.eq(crc.crc),
            xmt.crc.next.eq(crc.next),
        ]
        # one word cursor (WRITE_MEM, CLEAR_MEM, the reply's payload) and one word register
        m.d.comb += [
            cursor.load.eq(seq.cursor_load),
            cursor.first.eq(seq.cursor_first),
            cursor.count.eq(seq.cursor_count),
            cursor.step.eq(seq.cursor_step | xmt.cursor_step),
            seq.cursor_addr.eq(cursor.addr),
            seq.cursor_left.eq(cursor.left),
            xmt.cursor_addr.eq(cursor.addr),
            xmt.cursor_left.eq(cursor.left),
            xmt.put.eq(seq.put),
            xmt.put_index.eq(seq.put_index),
            xmt.put_data.eq(seq.put_data),
            seq.word.eq(xmt.word),
        ]
        # the registers
        m.d.comb += [
            regs.index.eq(xmt.reg_index),
            xmt.reg_value.eq(regs.value),
            regs.busy.eq(self.ctl.busy),
            regs.ticks.eq(self.ctl.ticks),
            regs.cycles.eq(self.ctl.cycles),
            regs.run_begin.eq(seq.run_begin),
            regs.tick_done.eq(seq.tick_done),
            regs.tripped.eq(seq.tripped),
            regs.reply.eq(seq.reply.start),
            regs.reply_ok.eq(seq.reply.status == Status.OK),
            self.clock.eq(regs.clock),
        ]
        m.d.comb += self.idle.eq(rcv.hunting & ~self.tx.valid)
        if self.formal:
            groups = PROPERTIES if self.formal is True else self.formal
            m.submodules.observer = obs = FrameObserver(smap, self.frame_timeout, self.watchdog, groups)
            m.d.comb += [
                obs.rx_valid.eq(self.rx.valid),
                obs.rx_ready.eq(self.rx.ready),
                obs.rx_byte.eq(self.rx.payload),
                obs.crc_next.eq(crc.next),
                obs.tx_valid.eq(self.tx.valid),
                obs.tx_ready.eq(self.tx.ready),
                obs.hunting.eq(rcv.hunting),
                obs.reply_start.eq(seq.reply.start),
                obs.we.eq(acc.we),
                obs.region.eq(acc.region),
                obs.addr.eq(acc.addr),
                obs.wdata.eq(acc.wdata),
                obs.start.eq(self.ctl.start),
            ]
        return m
