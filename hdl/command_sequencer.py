"""Executing a checked request: the protocol engine's command sequencer.

Nothing is committed before a frame has passed all its checks. Then writes go from the
payload buffer to the core or a buffer; RUN copies each tick's inputs from the input buffers
into the core over the bus, pulses ``start`` with valid and learn, waits for ``done`` (bounded
by the watchdog) and copies Y, z and the cycle count into the output buffers. Every command
ends by starting its reply.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import ReadPort
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from plasticore.contract.protocol_spec import MEM_ARGS, N_REGS, RUN_FLAG_LEARN, WRITABLE_REGS, Command, Reg, Status
from plasticore.contract.system_map import SystemMap

from .bus import TickControl
from .frame_checker import max_bytes_per_word
from .frame_receiver import Request
from .region_port import REGISTER_WORDS, RegionAccess, register_region
from .wait_timer import TimerControl

__all__ = ["ReplyStart", "CommandSequencer", "cursor_shape"]


def cursor_shape(smap: SystemMap) -> tuple[int, int]:
    """Address bits and largest word count of the engine's word cursor."""
    max_depth = max(r.depth for r in smap.regions.values())
    return max(smap.addr_bits, 8), max(max_depth, N_REGS)


class ReplyStart(wiring.Signature):
    """Signature of the start of a reply, from the side of the command sequencer.

    Parameters
    ----------
    max_payload : :class:`int`
        Largest reply payload.

    Members
    -------
    start : :py:`Out(1)`
        Pulse: start the reply.
    status : :py:`Out(8)`
        Its status.
    length : :py:`Out(range(max_payload + 1))`
        Its payload length (ignored unless the status is ``OK``).
    from_mem : :py:`Out(1)`
        The payload words come from the addressed region (else from the registers), from the
        word cursor on.
    """

    def __init__(self, max_payload: int):
        self.max_payload = max_payload
        super().__init__(
            {
                "start": Out(1),
                "status": Out(8),
                "length": Out(range(max_payload + 1)),
                "from_mem": Out(1),
            }
        )

    def __eq__(self, other):
        return type(self) is type(other) and self.max_payload == other.max_payload

    def __repr__(self):
        return f"ReplyStart({self.max_payload})"


class CommandSequencer(wiring.Component):
    """Dispatches a received frame: refuses it, or executes it, then starts its reply.

    Its FSM waits in ``IDLE`` for the end of a frame, takes the checker's verdict in
    ``CHECK``, and runs WRITE_MEM, CLEAR_MEM and RUN in states of their own. It owns the word
    port (``access``) and lends it to the reply's reads; whenever no state uses the port, it
    reads the limit of the running wait (WATCHDOG before a tick starts, else FRAME_TIMEOUT)
    for the wait timer.

    Parameters
    ----------
    smap : :class:`~plasticore.contract.system_map.SystemMap`
        The address space (regions, run window, largest payload).

    Members
    -------
    request : :py:`In(Request(smap.max_payload))`
        The received frame.
    received : :py:`In(1)`
        Pulse: a frame has ended, with ``received_status``.
    received_status : :py:`In(8)`
        ``OK`` for a frame to check, else the error to reply with.
    check : :py:`In(8)`
        The checker's status of the frame.
    bytes_per_word : :py:`In(range(max bytes per word + 1))`
        Bytes per word of the addressed region.
    read_length : :py:`In(range(smap.max_payload + 1))`
        Payload length of READ_MEM's reply.
    access : :py:`Out(RegionAccess(smap))`
        The word port.
    payload : :py:`Out(ReadPort.Signature(...).flip())`
        Read port of the payload buffer (WRITE_MEM's data).
    timer : :py:`Out(TimerControl())`
        The shared wait timer: the watchdog of a tick.
    ctl : :py:`Out(TickControl())`
        The core's tick controls.
    cursor_load, cursor_first, cursor_count : :py:`Out(1)`, :py:`Out(addr bits)`, :py:`Out(range(max count + 1))`
        Load the word cursor (at the check: the first word and the count of the request).
    cursor_step : :py:`Out(1)`
        One word written.
    cursor_addr, cursor_left : :py:`In(addr bits)`, :py:`In(range(max count + 1))`
        The word cursor.
    put : :py:`Out(1)`
        Store ``put_data`` as byte ``put_index`` of the word register (of the reply
        transmitter, idle until the reply): WRITE_MEM assembles its words there.
    put_index : :py:`Out(range(max bytes per word + 1))`
        Byte of the word register.
    put_data : :py:`Out(8)`
        The byte.
    word : :py:`In(8 * max bytes per word)`
        The word register.
    reply : :py:`Out(ReplyStart(smap.max_payload))`
        Start of the reply.
    run_begin : :py:`Out(1)`
        Pulse: a RUN starts (the run counters clear).
    tick_done : :py:`Out(1)`
        Pulse: a tick of the RUN has finished, the core's cycle count is latched.
    tripped : :py:`Out(1)`
        Pulse: the watchdog ended the RUN.
    """

    def __init__(self, smap: SystemMap):
        self.map = smap
        max_bpw = max_bytes_per_word(smap)
        addr_bits, max_count = cursor_shape(smap)
        super().__init__(
            {
                "request": In(Request(smap.max_payload)),
                "received": In(1),
                "received_status": In(8),
                "check": In(8),
                "bytes_per_word": In(range(max_bpw + 1)),
                "read_length": In(range(smap.max_payload + 1)),
                "access": Out(RegionAccess(smap)),
                "payload": Out(ReadPort.Signature(addr_width=ceil_log2(smap.max_payload), shape=8).flip()),
                "timer": Out(TimerControl()),
                "ctl": Out(TickControl()),
                "cursor_load": Out(1),
                "cursor_first": Out(addr_bits),
                "cursor_count": Out(range(max_count + 1)),
                "cursor_step": Out(1),
                "cursor_addr": In(addr_bits),
                "cursor_left": In(range(max_count + 1)),
                "put": Out(1),
                "put_index": Out(range(max_bpw + 1)),
                "put_data": Out(8),
                "word": In(8 * max_bpw),
                "reply": Out(ReplyStart(smap.max_payload)),
                "run_begin": Out(1),
                "tick_done": Out(1),
                "tripped": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        smap, geom = self.map, self.map.geometry
        regions = sorted(smap.regions.values(), key=lambda r: r.index)
        by_name, core = smap.regions, geom.regions
        max_bpw = max_bytes_per_word(smap)
        REGS = register_region(smap)
        acc, ctl, bpw = self.access, self.ctl, self.bytes_per_word
        args = self.request.args
        a_region, a_addr, a_count = args[0:8], args[8:40], args[40:56]
        r_index, r_count, r_value = args[0:8], args[8:16], args[8:40]
        run_start, run_count, run_flags = args[0:16], args[16:32], args[32:40]

        # whenever no state uses the port, it reads the limit of the next wait: WATCHDOG in
        # VALID_GET (so that it is there in START), else FRAME_TIMEOUT
        read_wd = Signal()
        m.d.comb += [
            acc.region.eq(REGS),
            acc.addr.eq(Mux(read_wd, REGISTER_WORDS[Reg.WATCHDOG], REGISTER_WORDS[Reg.FRAME_TIMEOUT])),
        ]

        def reply(status, length=0, from_mem=False):
            m.d.comb += [
                self.reply.start.eq(1),
                self.reply.status.eq(status),
                self.reply.length.eq(length),
                self.reply.from_mem.eq(from_mem),
            ]
            m.next = "IDLE"

        t = Signal(range(max(smap.window, 2)))  # the buffer slot of the running tick
        ticks_left = Signal(range(smap.window + 1))
        k = Signal(range(max(max(r.depth for r in regions if not r.is_buffer), 2) + 1))
        valid_bit = Signal()
        wm_p = Signal(range(smap.max_payload + 1))  # payload byte address
        wm_b = Signal(range(max_bpw + 1))

        def copy_states(name, src, src_base, dst, dst_base, n, next_state):
            """Two states that copy ``n`` words from ``src`` to ``dst``, one word per 2 cycles."""
            with m.State(f"{name}_RD"):
                m.d.comb += [acc.re.eq(1), acc.region.eq(src.index), acc.addr.eq(src_base + k)]
                m.next = f"{name}_WR"
            with m.State(f"{name}_WR"):
                m.d.comb += [acc.we.eq(1), acc.region.eq(dst.index), acc.addr.eq(dst_base + k), acc.wdata.eq(acc.rdata)]
                with m.If(k == n - 1):
                    m.d.sync += k.eq(0)
                    m.next = next_state
                with m.Else():
                    m.d.sync += k.eq(k + 1)
                    m.next = f"{name}_RD"

        with m.FSM(name="sequencer"):
            with m.State("IDLE"):
                with m.If(self.received):
                    with m.If(self.received_status == Status.OK):
                        m.next = "CHECK"
                    with m.Else():
                        reply(self.received_status)

            # ---- check and dispatch ----
            with m.State("CHECK"):
                with m.If(self.check != Status.OK):
                    reply(self.check)
                with m.Else():
                    is_read_reg = self.request.cmd == Command.READ_REG
                    m.d.comb += [
                        self.cursor_load.eq(1),
                        self.cursor_first.eq(Mux(is_read_reg, r_index, a_addr)),
                        self.cursor_count.eq(Mux(is_read_reg, r_count, a_count)),
                    ]
                    m.d.sync += [wm_p.eq(MEM_ARGS), wm_b.eq(0)]
                    with m.Switch(self.request.cmd):
                        with m.Case(Command.NOP):
                            reply(Status.OK)
                        with m.Case(Command.READ_REG):
                            reply(Status.OK, r_count * 4, from_mem=False)
                        with m.Case(Command.WRITE_REG):
                            m.d.comb += [acc.we.eq(1), acc.region.eq(REGS), acc.wdata.eq(r_value)]
                            with m.Switch(r_index):
                                for reg in sorted(WRITABLE_REGS):
                                    with m.Case(reg):
                                        m.d.comb += acc.addr.eq(REGISTER_WORDS[reg])
                            reply(Status.OK)
                        with m.Case(Command.READ_MEM):
                            reply(Status.OK, self.read_length, from_mem=True)
                        with m.Case(Command.WRITE_MEM):
                            m.next = "WM_RD"
                        with m.Case(Command.CLEAR_MEM):
                            m.next = "CLEAR"
                        with m.Case(Command.RUN):
                            m.d.comb += self.run_begin.eq(1)
                            m.d.sync += [t.eq(run_start), ticks_left.eq(run_count), k.eq(0)]
                            m.next = "X_RD"

            # ---- WRITE_MEM: payload bytes -> words (assembled in the reply's word register) ->
            # region. Bytes of the word above the region's are left as they are: the core takes
            # the low word_bits of a bus word, a buffer write is masked. ----
            with m.State("WM_RD"):
                m.d.comb += self.payload.addr.eq(wm_p)
                m.next = "WM_GET"
            with m.State("WM_GET"):
                m.d.comb += [self.put.eq(1), self.put_index.eq(wm_b), self.put_data.eq(self.payload.data)]
                m.d.sync += wm_p.eq(wm_p + 1)
                with m.If(wm_b == bpw - 1):
                    m.next = "WM_WR"
                with m.Else():
                    m.d.sync += wm_b.eq(wm_b + 1)
                    m.next = "WM_RD"
            with m.State("WM_WR"):
                m.d.comb += [
                    acc.we.eq(1),
                    acc.region.eq(a_region),
                    acc.addr.eq(self.cursor_addr),
                    acc.wdata.eq(self.word),
                    self.cursor_step.eq(1),
                ]
                m.d.sync += wm_b.eq(0)
                with m.If(self.cursor_left == 1):
                    reply(Status.OK)
                with m.Else():
                    m.next = "WM_RD"

            # ---- CLEAR_MEM ----
            with m.State("CLEAR"):
                m.d.comb += [
                    acc.we.eq(1),
                    acc.region.eq(a_region),
                    acc.addr.eq(self.cursor_addr),
                    acc.wdata.eq(0),
                    self.cursor_step.eq(1),
                ]
                with m.If(self.cursor_left == 1):
                    reply(Status.OK)

            # ---- RUN: the tick sequencer ----
            in_x, in_tg = by_name["in_x"], by_name["in_target"]
            out_y, out_z = by_name["out_y"], by_name["out_z"]
            copy_states("X", in_x, t * in_x.per_tick, by_name["x"], 0, core["x"].depth, "T_RD")
            copy_states("T", in_tg, t * in_tg.per_tick, by_name["target"], 0, core["target"].depth, "VALID_RD")
            with m.State("VALID_RD"):
                m.d.comb += [acc.re.eq(1), acc.region.eq(by_name["in_valid"].index), acc.addr.eq(t)]
                m.next = "VALID_GET"
            with m.State("VALID_GET"):
                m.d.comb += read_wd.eq(1)
                m.d.sync += valid_bit.eq(acc.rdata[0])
                m.next = "START"
            with m.State("START"):
                m.d.comb += [
                    ctl.start.eq(1),
                    ctl.valid.eq(valid_bit),
                    ctl.learn.eq((run_flags & RUN_FLAG_LEARN) != 0),
                    self.timer.load.eq(1),
                ]
                m.next = "WAIT"
            with m.State("WAIT"):
                m.d.comb += self.timer.count.eq(1)
                with m.If(ctl.done):
                    m.next = "POST"
                with m.Elif(self.timer.expired):
                    m.d.comb += self.tripped.eq(1)
                    reply(Status.WATCHDOG)
            with m.State("POST"):  # the core is idle again; its cycle count is latched
                m.d.comb += [
                    acc.we.eq(1),
                    acc.region.eq(by_name["out_cycles"].index),
                    acc.addr.eq(t),
                    acc.wdata.eq(ctl.cycles),
                    self.tick_done.eq(1),
                ]
                m.next = "Y_RD"
            copy_states("Y", by_name["y"], 0, out_y, t * out_y.per_tick, core["y"].depth, "Z_RD")
            copy_states("Z", by_name["z"], 0, out_z, t * out_z.per_tick, core["z"].depth, "NEXT")
            with m.State("NEXT"):
                m.d.sync += [t.eq(t + 1), ticks_left.eq(ticks_left - 1)]
                with m.If(ticks_left == 1):
                    reply(Status.OK)
                with m.Else():
                    m.next = "X_RD"
        return m
