"""Sending a reply frame: header, payload words read on the fly, CRC.

The payload words are read as they are sent: registers (the read-only ones by index, the
writable ones from the word port) or words of the addressed region, from the word cursor on,
each shifted out low byte first. The output register makes ``tx.valid`` and ``tx.payload``
functions of registers only.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.protocol_spec import N_REGS, REG_BITS, SYNC_REPLY, WRITABLE_REGS, Reg, Status
from plasticore.contract.system_map import SystemMap

from .command_sequencer import ReplyStart, cursor_shape
from .crc import CRCPort
from .frame_checker import max_bytes_per_word
from .frame_receiver import Request
from .properties import stream_held
from .region_port import REGISTER_WORDS, RegionAccess, register_region

__all__ = ["ReplyTransmitter"]


class ReplyTransmitter(wiring.Component):
    """Sends the reply to the current request on ``tx``.

    Its FSM waits in ``IDLE`` for ``reply.start``, then sends the header (``HEADER``), the
    payload (``PAYLOAD``, if the status is ``OK`` and the length not zero) and the CRC
    (``CRC``); ``done`` pulses with the last byte. Its word register, idle outside a reply,
    also assembles WRITE_MEM's words (``put``).

    Parameters
    ----------
    smap : :class:`~plasticore.contract.system_map.SystemMap`
        The address space (regions, largest payload).
    formal : :class:`bool`
        Add the formal property (docs/reliability.md, "Formal"): ``tx`` keeps to the rules of
        ``amaranth.lib.stream`` (valid held with its payload until ready).

    Members
    -------
    tx : :py:`Out(stream.Signature(8))`
        Bytes to the host.
    request : :py:`In(Request(smap.max_payload))`
        The frame answered (command and tag echoed; the region of a memory read).
    reply : :py:`In(ReplyStart(smap.max_payload))`
        Start of the reply: status, payload length and source.
    crc : :py:`Out(CRCPort())`
        The shared CRC register: cleared at the start, run over the bytes after the sync byte.
    access : :py:`Out(RegionAccess(smap))`
        The word port, for payload words read from memory or writable registers (requests
        are made with ``re``; the engine serves the sequencer otherwise).
    bytes_per_word : :py:`In(range(max bytes per word + 1))`
        Bytes per word of the addressed region.
    cursor_addr, cursor_left : :py:`In(addr bits)`, :py:`In(range(max count + 1))`
        The word cursor: the next word to send and the words left.
    cursor_step : :py:`Out(1)`
        One word fetched.
    reg_index : :py:`Out(range(N_REGS))`
        Register to read (the cursor's address).
    reg_value : :py:`In(REG_BITS)`
        Its value, if it is a read-only register.
    put : :py:`In(1)`
        Store ``put_data`` as byte ``put_index`` of the word register.
    put_index : :py:`In(range(max bytes per word + 1))`
        Byte of the word register.
    put_data : :py:`In(8)`
        The byte.
    word : :py:`Out(8 * max bytes per word)`
        The word register (its low bytes).
    done : :py:`Out(1)`
        Pulse: the last byte of the reply is sent.
    """

    def __init__(self, smap: SystemMap, *, formal: bool = False):
        self.map = smap
        self.formal = formal
        max_bpw = max_bytes_per_word(smap)
        addr_bits, max_count = cursor_shape(smap)
        super().__init__(
            {
                "tx": Out(stream.Signature(8)),
                "request": In(Request(smap.max_payload)),
                "reply": In(ReplyStart(smap.max_payload)),
                "crc": Out(CRCPort()),
                "access": Out(RegionAccess(smap)),
                "bytes_per_word": In(range(max_bpw + 1)),
                "cursor_addr": In(addr_bits),
                "cursor_left": In(range(max_count + 1)),
                "cursor_step": Out(1),
                "reg_index": Out(range(N_REGS)),
                "reg_value": In(REG_BITS),
                "put": In(1),
                "put_index": In(range(max_bpw + 1)),
                "put_data": In(8),
                "word": Out(8 * max_bpw),
                "done": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        smap = self.map
        max_bpw = max_bytes_per_word(smap)
        WB = 8 * max_bpw
        REGS = register_region(smap)
        acc, bpw = self.access, self.bytes_per_word
        a_region = self.request.args[0:8]

        # -- reply byte source and the tx output register -----------------------------------
        tx_valid, tx_data = Signal(), Signal(8)
        m.d.comb += [self.tx.valid.eq(tx_valid), self.tx.payload.eq(tx_data)]
        out_avail, out_byte, out_crc = Signal(), Signal(8), Signal()
        emit = Signal()
        m.d.comb += emit.eq(out_avail & (~tx_valid | self.tx.ready))
        with m.If(emit):
            m.d.sync += [tx_valid.eq(1), tx_data.eq(out_byte)]
        with m.Elif(self.tx.ready):
            m.d.sync += tx_valid.eq(0)
        m.d.comb += [self.crc.data.eq(out_byte), self.crc.en.eq(emit & out_crc)]

        status = Signal(8)
        reply_len = Signal(range(smap.max_payload + 1))
        tidx = Signal(3)
        sh = Signal(max(WB, 32))  # bytes of the word being sent, low byte first
        sh_n = Signal(range(max(max_bpw, 4) + 1))
        src_mem = Signal()  # payload words come from memory (else registers)
        rd_pending = Signal()
        m.d.comb += [self.word.eq(sh), self.reg_index.eq(self.cursor_addr)]
        with m.If(self.put):
            m.d.sync += sh.word_select(self.put_index, 8).eq(self.put_data)

        with m.FSM(name="transmitter"):
            with m.State("IDLE"):
                with m.If(self.reply.start):
                    m.next = "HEADER"

            with m.State("HEADER"):
                header = [
                    SYNC_REPLY,
                    self.request.cmd,
                    self.request.tag,
                    status,
                    reply_len[0:8],
                    reply_len.as_unsigned() >> 8,
                ]
                m.d.comb += [out_avail.eq(1), out_crc.eq(tidx != 0)]
                with m.Switch(tidx):
                    for i, b in enumerate(header):
                        with m.Case(i):
                            m.d.comb += out_byte.eq(b)
                with m.If(emit):
                    m.d.sync += tidx.eq(tidx + 1)
                    with m.If(tidx == len(header) - 1):
                        m.d.sync += tidx.eq(0)
                        with m.If(reply_len != 0):
                            m.next = "PAYLOAD"
                        with m.Else():
                            m.next = "CRC"

            with m.State("PAYLOAD"):
                m.d.comb += [out_avail.eq(sh_n != 0), out_byte.eq(sh[0:8]), out_crc.eq(1)]
                with m.If(emit):
                    m.d.sync += [sh.eq(sh >> 8), sh_n.eq(sh_n - 1)]
                with m.If(rd_pending):
                    m.d.sync += [sh.eq(acc.rdata), sh_n.eq(Mux(src_mem, bpw, REG_BITS // 8)), rd_pending.eq(0)]
                with m.Elif((sh_n == 0) & (self.cursor_left != 0)):
                    m.d.comb += self.cursor_step.eq(1)
                    with m.If(src_mem):
                        m.d.comb += [acc.re.eq(1), acc.region.eq(a_region), acc.addr.eq(self.cursor_addr)]
                        m.d.sync += rd_pending.eq(1)
                    with m.Else():
                        with m.Switch(self.reg_index):  # (index checked)
                            for reg in Reg:
                                with m.Case(int(reg)):
                                    if reg in WRITABLE_REGS:  # from the register memory, like a word
                                        m.d.comb += [
                                            acc.re.eq(1),
                                            acc.region.eq(REGS),
                                            acc.addr.eq(REGISTER_WORDS[reg]),
                                        ]
                                        m.d.sync += rd_pending.eq(1)
                                    else:
                                        m.d.sync += [sh.eq(self.reg_value), sh_n.eq(REG_BITS // 8)]
                with m.Elif((sh_n == 0) & (self.cursor_left == 0)):
                    m.next = "CRC"

            with m.State("CRC"):
                crc = self.crc.crc
                m.d.comb += [out_avail.eq(1), out_byte.eq(Mux(tidx == 0, crc[8:16], crc[0:8]))]
                with m.If(emit):
                    m.d.sync += tidx.eq(tidx + 1)
                    with m.If(tidx == 1):
                        m.d.comb += self.done.eq(1)
                        m.next = "IDLE"

        with m.If(self.reply.start):
            ok = self.reply.status == Status.OK
            m.d.comb += self.crc.clear.eq(1)
            m.d.sync += [
                status.eq(self.reply.status),
                reply_len.eq(Mux(ok, self.reply.length, 0)),
                tidx.eq(0),
                src_mem.eq(self.reply.from_mem),
                sh_n.eq(0),
                rd_pending.eq(0),
            ]
        if self.formal:
            stream_held(m, self.tx, name="tx")
        return m
