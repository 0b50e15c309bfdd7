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

Every wait has a bound (the frame timeout while receiving, the watchdog while a tick runs),
so the engine always returns to hunting for a sync byte. It handles one frame at a time: the
host sends the next request after the reply (``rx.ready`` is low while a request executes).

Signal discipline for benches: ``rx.ready``, ``tx.valid`` and ``tx.payload`` are functions of
registers only (never of ``rx.valid`` or ``tx.ready`` in the same cycle).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .bus import MemoryBus, TickControl
from .crc import crc16_next
from plasticore.contract.cycles import tick_counter_bits
from plasticore.contract.protocol_spec import (
    CRC_INIT, FIXED_LENGTHS, MEM_ARGS, MIN_FRAME_TIMEOUT, MIN_WATCHDOG, N_REGS, REG_BITS, RUN_FLAG_LEARN,
    RUN_FLAGS_KNOWN, SYNC_REPLY, SYNC_REQUEST, WRITABLE_REGS, Command, Reg, Status,
)
from plasticore.contract.system_map import SystemMap

__all__ = ["ProtocolEngine"]


class ProtocolEngine(wiring.Component):
    """``frame_timeout`` and ``watchdog`` are the initial values of the registers of that name
    (held, with SCRATCH, in the buffer memory: set at configuration, not by a logic reset)."""

    def __init__(self, smap: SystemMap, frame_timeout: int, watchdog: int):
        if frame_timeout < MIN_FRAME_TIMEOUT:
            raise ValueError(f"frame_timeout: {frame_timeout!r} is below the minimum {MIN_FRAME_TIMEOUT} cycles")
        if watchdog < MIN_WATCHDOG:
            raise ValueError(f"watchdog: {watchdog!r} is below the minimum {MIN_WATCHDOG} cycles")
        self.map = smap
        self.frame_timeout = frame_timeout
        self.watchdog = watchdog
        super().__init__({
            "rx": In(stream.Signature(8)),
            "tx": Out(stream.Signature(8)),
            "bus": Out(MemoryBus(smap.geometry)),
            "ctl": Out(TickControl()),
            "idle": Out(1),   # hunting for a frame, nothing left to send
            "clock": Out(32),  # register CLOCK
        })

    def elaborate(self, platform):
        m = Module()
        smap, g = self.map, self.map.geometry
        regions = sorted(smap.regions.values(), key=lambda r: r.index)
        buffers = [r for r in regions if r.is_buffer]
        by_name = smap.regions
        max_bpw = max(r.bytes_per_word for r in regions)
        WB = max_bpw * 8

        # -- one word port over every region: the core's bus or a buffer memory --------------
        REGS = len(regions)      # acc_region of the writable registers (not a protocol region)
        acc_region = Signal(range(len(regions) + 1))
        acc_addr = Signal(smap.addr_bits)
        acc_wdata = Signal(WB)
        acc_we = Signal()
        acc_re = Signal()
        acc_rdata = Signal(WB)   # valid the cycle after acc_re
        is_core = acc_region < smap.n_core_regions
        m.d.comb += [
            self.bus.addr.eq(Cat(acc_addr[:g.word_addr_bits], acc_region[:g.region_bits])),
            self.bus.wdata.eq(acc_wdata),
            self.bus.we.eq(acc_we & is_core),
            self.bus.re.eq(acc_re & is_core),
        ]
        # The buffers share one memory (one read port, one data mux): buffer r occupies words
        # base[r] .. base[r] + r.depth - 1 of it. A word wider than its buffer is masked on the
        # way in, so that a read gives back exactly what the region holds. The writable
        # registers (SCRATCH, FRAME_TIMEOUT, WATCHDOG) are its last words (acc_region REGS):
        # whenever no state uses the port, it reads the limit of the running wait (below).
        base, total = {}, 0
        for r in buffers:
            base[r.index], total = total, total + r.depth
        base[REGS] = total
        wregs = sorted(WRITABLE_REGS)
        reg_word = {reg: i for i, reg in enumerate(wregs)}
        reg_init = {Reg.SCRATCH: 0, Reg.FRAME_TIMEOUT: self.frame_timeout, Reg.WATCHDOG: self.watchdog}
        assert set(reg_init) == set(wregs)
        buf_bits = max([r.word_bits for r in buffers] + [REG_BITS])
        depth_all = total + len(wregs)
        m.submodules.buffers = bmem = Memory(shape=buf_bits, depth=depth_all,
                                             init=[0] * total + [reg_init[reg] for reg in wregs])
        bwp, brp = bmem.write_port(), bmem.read_port()
        buf_base = Signal(range(depth_all))
        buf_mask = Signal(buf_bits)
        with m.Switch(acc_region):
            for r in buffers:
                with m.Case(r.index):
                    m.d.comb += [buf_base.eq(base[r.index]), buf_mask.eq((1 << r.word_bits) - 1)]
            with m.Case(REGS):
                m.d.comb += [buf_base.eq(base[REGS]), buf_mask.eq((1 << buf_bits) - 1)]
        buf_addr = Signal(range(depth_all))
        m.d.comb += [buf_addr.eq(buf_base + acc_addr), brp.addr.eq(buf_addr), bwp.addr.eq(buf_addr),
                     bwp.data.eq(acc_wdata & buf_mask), bwp.en.eq(acc_we & ~is_core)]
        last_core = Signal()
        m.d.sync += last_core.eq(is_core)
        m.d.comb += acc_rdata.eq(Mux(last_core, self.bus.rdata, brp.data))

        # -- payload buffer ---------------------------------------------------------------
        m.submodules.payload = pmem = Memory(shape=8, depth=smap.max_payload, init=[])
        pb_w, pb_r = pmem.write_port(), pmem.read_port()

        # -- frame registers --------------------------------------------------------------
        # Internal widths come from the map, not from the wire format: a length past the header
        # check is at most max_payload, a word count past the range check at most the deepest
        # region, a tick slot below the window.
        max_depth = max(r.depth for r in regions)
        cmd, tag, status = Signal(8), Signal(8), Signal(8)
        length = Signal(range(smap.max_payload + 1))   # (8 bits at least: MIN_MAX_PAYLOAD)
        hidx = Signal(2)                      # header / CRC byte index
        rx_idx = Signal(range(smap.max_payload + 1))   # payload bytes received
        crc = Signal(16, init=CRC_INIT)
        # One down-counter times both waits (never at the same time): loaded with the limit
        # at a frame's sync byte and at every byte of it (FRAME_TIMEOUT), and when a tick
        # starts (WATCHDOG); the wait times out when it reads zero, i.e. on the limit + 1-th
        # cycle, as an up-count from 0 compared with the limit would. The limit is read from
        # the register memory whenever no state uses its port: WATCHDOG in VALID_GET (so that
        # it is there in START), else FRAME_TIMEOUT.
        timer = Signal(REG_BITS)
        limit = brp.data[:REG_BITS]
        read_wd = Signal()
        timed_out = Signal()
        m.d.comb += [acc_region.eq(REGS),
                     acc_addr.eq(Mux(read_wd, reg_word[Reg.WATCHDOG], reg_word[Reg.FRAME_TIMEOUT])),
                     timed_out.eq(timer == 0)]
        # one CRC step for both directions: the received byte while receiving, else the sent one
        crc_rx = Signal()
        crc_next = Signal(16)
        args = Signal(8 * MEM_ARGS)           # the first payload bytes
        a_region, a_addr, a_count = args[0:8], args[8:40], args[40:56]
        r_index, r_count, r_value = args[0:8], args[8:16], args[8:40]
        run_start, run_count, run_flags = args[0:16], args[16:32], args[32:40]

        # -- counters and registers -------------------------------------------------------
        clock = Signal(32)
        frames_ok, frames_err = Signal(32), Signal(32)
        run_ticks = Signal(range(smap.window + 1))   # a RUN runs at most a window of ticks
        # RUN_CORE_CYCLES and RUN_CYCLES are as wide as a RUN of a whole window of the longest
        # ticks the core counts needs (plasticore.contract.cycles.tick_counter_bits), copying included: only a
        # core that never finishes a tick (with a watchdog above the default) could wrap them
        tick_max = (1 << tick_counter_bits(smap.cfg)) - 1
        copy_max = 2 * sum(g.regions[n].depth for n in ("x", "target", "y", "z")) + 8
        run_core_cycles = Signal(range(smap.window * tick_max + 1))
        run_cycles = Signal(range(smap.window * (tick_max + copy_max) + 2))
        running, wd_tripped = Signal(), Signal()
        m.d.sync += clock.eq(clock + 1)
        m.d.comb += self.clock.eq(clock)
        with m.If(running):
            m.d.sync += run_cycles.eq(run_cycles + 1)
        consts = smap.constant_registers()
        reg_values = {
            **consts,
            Reg.STATUS: Cat(wd_tripped, self.ctl.busy),
            Reg.TICKS: self.ctl.ticks,
            Reg.TICK_CYCLES: self.ctl.cycles,
            Reg.RUN_TICKS: run_ticks,
            Reg.RUN_CORE_CYCLES: run_core_cycles,
            Reg.RUN_CYCLES: run_cycles,
            Reg.FRAMES_OK: frames_ok,
            Reg.FRAMES_ERR: frames_err,
            Reg.CLOCK: clock,
        }
        assert set(reg_values) | set(wregs) == set(Reg)

        # -- per-region constants of the addressed region ---------------------------------
        region_ok = a_region < len(regions)
        # (a_addr and a_count are compared in the bits of the deepest region: wider values are
        # out of range anyway, and nbytes only matters for counts in range)
        abits = max_depth.bit_length()
        depth = Signal(range(max_depth + 1))
        bpw = Signal(range(max_bpw + 1))
        nbytes = Signal(range(max_depth * max_bpw + 1))   # count * bytes per word (count in range)
        with m.Switch(a_region):
            for r in regions:
                with m.Case(r.index):
                    m.d.comb += [depth.eq(r.depth), bpw.eq(r.bytes_per_word),
                                 nbytes.eq(a_count[:abits] * r.bytes_per_word)]
        narrow = (a_addr[abits:] == 0) & ((a_count[abits:] == 0) if abits < 16 else 1)
        mem_in_range = (region_ok & narrow & (a_count != 0)
                        & ((a_addr[:abits] + a_count[:abits]) <= depth))
        # the core serves its bus only while idle: refuse rather than lose an access
        core_busy = self.ctl.busy & (a_region < smap.n_core_regions)

        # -- checks (after the CRC), in the documented order ---------------------------------
        # All but BUSY depend on the frame alone (command, length, arguments), which is complete
        # two bytes before CHECK (the CRC follows it): they are registered on the way, which
        # takes their multiplier and comparators out of CHECK's path (the longest of the ECP5
        # build once the core was pipelined: 40 ns). BUSY, last in every command's order, is
        # decided in CHECK itself from the core's state then.
        frame_check = Signal(8)
        reply_len = Signal(range(smap.max_payload + 1))
        fixed = {int(c): n for c, n in FIXED_LENGTHS.items()}
        with m.Switch(cmd):
            with m.Case(Command.NOP):
                m.d.comb += frame_check.eq(Mux(length == fixed[Command.NOP], Status.OK, Status.LENGTH))
            with m.Case(Command.READ_REG):
                with m.If(length != fixed[Command.READ_REG]):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif((r_count == 0) | ((r_index + r_count) > N_REGS)):
                    m.d.comb += frame_check.eq(Status.RANGE)
            with m.Case(Command.WRITE_REG):
                writable = Cat(r_index == int(reg) for reg in sorted(WRITABLE_REGS)).any()
                with m.If(length != fixed[Command.WRITE_REG]):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif(r_index >= N_REGS):
                    m.d.comb += frame_check.eq(Status.RANGE)
                with m.Elif(~writable):
                    m.d.comb += frame_check.eq(Status.READ_ONLY)
                with m.Elif(((r_index == Reg.FRAME_TIMEOUT) & (r_value < MIN_FRAME_TIMEOUT))
                            | ((r_index == Reg.WATCHDOG) & (r_value < MIN_WATCHDOG))):
                    m.d.comb += frame_check.eq(Status.RANGE)
            with m.Case(Command.READ_MEM):
                with m.If(length != fixed[Command.READ_MEM]):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif(~mem_in_range | (nbytes > smap.max_payload)):
                    m.d.comb += frame_check.eq(Status.RANGE)
            with m.Case(Command.WRITE_MEM):
                with m.If(length < MEM_ARGS):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif(~mem_in_range):
                    m.d.comb += frame_check.eq(Status.RANGE)
                with m.Elif(length != MEM_ARGS + nbytes):
                    m.d.comb += frame_check.eq(Status.LENGTH)
            with m.Case(Command.CLEAR_MEM):
                with m.If(length != fixed[Command.CLEAR_MEM]):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif(~mem_in_range):
                    m.d.comb += frame_check.eq(Status.RANGE)
            with m.Case(Command.RUN):
                with m.If(length != fixed[Command.RUN]):
                    m.d.comb += frame_check.eq(Status.LENGTH)
                with m.Elif((run_count == 0) | ((run_start + run_count) > smap.window)
                            | ((run_flags & ~RUN_FLAGS_KNOWN) != 0)):
                    m.d.comb += frame_check.eq(Status.RANGE)
            with m.Default():
                m.d.comb += frame_check.eq(Status.COMMAND)

        frame_check_q, nbytes_q = Signal(8), Signal.like(nbytes)   # (and READ_MEM's reply length)
        m.d.sync += [frame_check_q.eq(frame_check), nbytes_q.eq(nbytes)]
        refused_busy = Signal()
        with m.Switch(cmd):
            with m.Case(Command.READ_MEM, Command.WRITE_MEM, Command.CLEAR_MEM):
                m.d.comb += refused_busy.eq(core_busy)
            with m.Case(Command.RUN):
                m.d.comb += refused_busy.eq(self.ctl.busy)
        check = Mux(frame_check_q != Status.OK, frame_check_q, Mux(refused_busy, Status.BUSY, Status.OK))

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

        tidx = Signal(3)
        sh = Signal(max(WB, 32))          # bytes of the word being sent, low byte first
        sh_n = Signal(range(max(max_bpw, 4) + 1))
        src_mem = Signal()                # payload words come from memory (else registers)
        src_addr = Signal(max(smap.addr_bits, 8))
        words_left = Signal(range(max(max_depth, N_REGS) + 1))
        rd_pending = Signal()

        # reply() only selects what the reply carries; one block after the FSM (so that it takes
        # precedence over the state's other assignments, as if written last) starts it
        do_reply, reply_status, reply_plen = Signal(), Signal(8), Signal.like(reply_len)
        reply_mem, reply_first = Signal(), Signal.like(src_addr)

        def reply(status_value, payload_len=0, from_mem=False, first=0):
            """Start a reply (status may be a signal); payload words from regs or memory."""
            m.d.comb += [do_reply.eq(1), reply_status.eq(status_value), reply_plen.eq(payload_len),
                         reply_mem.eq(from_mem), reply_first.eq(first)]
            m.next = "REPLY"

        m.d.comb += crc_next.eq(crc16_next(crc, Mux(crc_rx, self.rx.payload, out_byte)))
        with m.If(emit & out_crc):
            m.d.sync += crc.eq(crc_next)

        # -- sequencer helpers ---------------------------------------------------------------
        t = Signal(range(max(smap.window, 2)))   # the buffer slot of the running tick
        ticks_left = Signal(range(smap.window + 1))
        k = Signal(range(max(max(r.depth for r in regions if not r.is_buffer), 2) + 1))
        valid_bit = Signal()
        wm_p = Signal(range(smap.max_payload + 1))   # payload byte address
        wm_b = Signal(range(max_bpw + 1))

        def copy_states(name, src, src_base, dst, dst_base, n, next_state):
            """Two states that copy ``n`` words from ``src`` to ``dst``, one word per 2 cycles."""
            with m.State(f"{name}_RD"):
                m.d.comb += [acc_re.eq(1), acc_region.eq(src.index), acc_addr.eq(src_base + k)]
                m.next = f"{name}_WR"
            with m.State(f"{name}_WR"):
                m.d.comb += [acc_we.eq(1), acc_region.eq(dst.index), acc_addr.eq(dst_base + k),
                             acc_wdata.eq(acc_rdata)]
                with m.If(k == n - 1):
                    m.d.sync += k.eq(0)
                    m.next = next_state
                with m.Else():
                    m.d.sync += k.eq(k + 1)
                    m.next = f"{name}_RD"

        byte = self.rx.payload
        got = Signal()
        m.d.comb += got.eq(self.rx.valid & self.rx.ready)
        core = g.regions

        def receiving_timeout():
            m.d.comb += crc_rx.eq(1)
            with m.If(got):
                m.d.sync += [timer.eq(limit), crc.eq(crc_next)]
            with m.Elif(timed_out):
                reply(Status.TIMEOUT)
            with m.Else():
                m.d.sync += timer.eq(timer - 1)

        with m.FSM(name="engine") as fsm:
            # ---- receive ----
            with m.State("HUNT"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(got & (byte == SYNC_REQUEST)):
                    m.d.sync += [crc.eq(CRC_INIT), hidx.eq(0), timer.eq(limit), cmd.eq(0), tag.eq(0),
                                 length.eq(0), rx_idx.eq(0), args.eq(0)]
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
                            with m.If(full > smap.max_payload):
                                reply(Status.LENGTH)
                            with m.Elif(full == 0):
                                m.next = "CRC"
                            with m.Else():
                                m.next = "PAYLOAD"

            with m.State("PAYLOAD"):
                m.d.comb += [self.rx.ready.eq(1), pb_w.addr.eq(rx_idx), pb_w.data.eq(byte),
                             pb_w.en.eq(got)]
                receiving_timeout()
                with m.If(got):
                    m.d.sync += rx_idx.eq(rx_idx + 1)
                    for i in range(MEM_ARGS):
                        with m.If(rx_idx == i):
                            m.d.sync += args[8 * i:8 * i + 8].eq(byte)
                    with m.If(rx_idx == length - 1):
                        m.next = "CRC"

            with m.State("CRC"):
                m.d.comb += self.rx.ready.eq(1)
                receiving_timeout()
                with m.If(got):
                    m.d.sync += hidx.eq(hidx + 1)
                    with m.If(hidx == 1):
                        with m.If(crc_next == 0):
                            m.next = "CHECK"
                        with m.Else():
                            reply(Status.CRC)

            # ---- check and dispatch ----
            with m.State("CHECK"):
                with m.If(check != Status.OK):
                    reply(check)
                with m.Else():
                    m.d.sync += [src_addr.eq(a_addr), words_left.eq(a_count),
                                 wm_p.eq(MEM_ARGS), wm_b.eq(0)]
                    with m.Switch(cmd):
                        with m.Case(Command.NOP):
                            reply(Status.OK)
                        with m.Case(Command.READ_REG):
                            reply(Status.OK, r_count * 4, from_mem=False, first=r_index)
                            m.d.sync += words_left.eq(r_count)
                        with m.Case(Command.WRITE_REG):
                            m.d.comb += [acc_we.eq(1), acc_region.eq(REGS), acc_wdata.eq(r_value)]
                            with m.Switch(r_index):
                                for reg in wregs:
                                    with m.Case(reg):
                                        m.d.comb += acc_addr.eq(reg_word[reg])
                            reply(Status.OK)
                        with m.Case(Command.READ_MEM):
                            reply(Status.OK, nbytes_q, from_mem=True, first=a_addr)
                        with m.Case(Command.WRITE_MEM):
                            m.next = "WM_RD"
                        with m.Case(Command.CLEAR_MEM):
                            m.next = "CLEAR"
                        with m.Case(Command.RUN):
                            m.d.sync += [t.eq(run_start), ticks_left.eq(run_count), k.eq(0),
                                         run_ticks.eq(0), run_core_cycles.eq(0), run_cycles.eq(0),
                                         running.eq(1), wd_tripped.eq(0)]
                            m.next = "X_RD"

            # ---- WRITE_MEM: payload bytes -> words (assembled in sh, idle until the reply) ->
            # region. Bytes of sh above the word's are left as they are: the core takes the
            # low word_bits of a bus word, a buffer write is masked. ----
            with m.State("WM_RD"):
                m.d.comb += pb_r.addr.eq(wm_p)
                m.next = "WM_GET"
            with m.State("WM_GET"):
                m.d.sync += [sh.word_select(wm_b, 8).eq(pb_r.data), wm_p.eq(wm_p + 1)]
                with m.If(wm_b == bpw - 1):
                    m.next = "WM_WR"
                with m.Else():
                    m.d.sync += wm_b.eq(wm_b + 1)
                    m.next = "WM_RD"
            with m.State("WM_WR"):
                m.d.comb += [acc_we.eq(1), acc_region.eq(a_region), acc_addr.eq(src_addr),
                             acc_wdata.eq(sh)]
                m.d.sync += [src_addr.eq(src_addr + 1), words_left.eq(words_left - 1), wm_b.eq(0)]
                with m.If(words_left == 1):
                    reply(Status.OK)
                with m.Else():
                    m.next = "WM_RD"

            # ---- CLEAR_MEM ----
            with m.State("CLEAR"):
                m.d.comb += [acc_we.eq(1), acc_region.eq(a_region), acc_addr.eq(src_addr), acc_wdata.eq(0)]
                m.d.sync += [src_addr.eq(src_addr + 1), words_left.eq(words_left - 1)]
                with m.If(words_left == 1):
                    reply(Status.OK)

            # ---- RUN: the tick sequencer ----
            in_x, in_tg = by_name["in_x"], by_name["in_target"]
            out_y, out_z = by_name["out_y"], by_name["out_z"]
            copy_states("X", in_x, t * in_x.per_tick, by_name["x"], 0, core["x"].depth, "T_RD")
            copy_states("T", in_tg, t * in_tg.per_tick, by_name["target"], 0, core["target"].depth,
                        "VALID_RD")
            with m.State("VALID_RD"):
                m.d.comb += [acc_re.eq(1), acc_region.eq(by_name["in_valid"].index), acc_addr.eq(t)]
                m.next = "VALID_GET"
            with m.State("VALID_GET"):
                m.d.comb += read_wd.eq(1)
                m.d.sync += valid_bit.eq(acc_rdata[0])
                m.next = "START"
            with m.State("START"):
                m.d.comb += [self.ctl.start.eq(1), self.ctl.valid.eq(valid_bit),
                             self.ctl.learn.eq((run_flags & RUN_FLAG_LEARN) != 0)]
                m.d.sync += timer.eq(limit)
                m.next = "WAIT"
            with m.State("WAIT"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(self.ctl.done):
                    m.next = "POST"
                with m.Elif(timed_out):
                    m.d.sync += wd_tripped.eq(1)
                    reply(Status.WATCHDOG)
            with m.State("POST"):   # the core is idle again; its cycle count is latched
                m.d.comb += [acc_we.eq(1), acc_region.eq(by_name["out_cycles"].index), acc_addr.eq(t),
                             acc_wdata.eq(self.ctl.cycles)]
                m.d.sync += [run_core_cycles.eq(run_core_cycles + self.ctl.cycles),
                             run_ticks.eq(run_ticks + 1)]
                m.next = "Y_RD"
            copy_states("Y", by_name["y"], 0, out_y, t * out_y.per_tick, core["y"].depth, "Z_RD")
            copy_states("Z", by_name["z"], 0, out_z, t * out_z.per_tick, core["z"].depth, "NEXT")
            with m.State("NEXT"):
                m.d.sync += [t.eq(t + 1), ticks_left.eq(ticks_left - 1)]
                with m.If(ticks_left == 1):
                    reply(Status.OK)
                with m.Else():
                    m.next = "X_RD"

            # ---- reply ----
            with m.State("REPLY"):
                header = [SYNC_REPLY, cmd, tag, status, reply_len[0:8], reply_len.as_unsigned() >> 8]
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
                            m.next = "PAYLOAD_OUT"
                        with m.Else():
                            m.next = "CRC_OUT"

            with m.State("PAYLOAD_OUT"):
                m.d.comb += [out_avail.eq(sh_n != 0), out_byte.eq(sh[0:8]), out_crc.eq(1)]
                with m.If(emit):
                    m.d.sync += [sh.eq(sh >> 8), sh_n.eq(sh_n - 1)]
                with m.If(rd_pending):
                    m.d.sync += [sh.eq(acc_rdata), sh_n.eq(Mux(src_mem, bpw, REG_BITS // 8)),
                                 rd_pending.eq(0)]
                with m.Elif((sh_n == 0) & (words_left != 0)):
                    m.d.sync += [src_addr.eq(src_addr + 1), words_left.eq(words_left - 1)]
                    with m.If(src_mem):
                        m.d.comb += [acc_re.eq(1), acc_region.eq(a_region), acc_addr.eq(src_addr)]
                        m.d.sync += rd_pending.eq(1)
                    with m.Else():
                        with m.Switch(src_addr[:(N_REGS - 1).bit_length()]):   # (index checked)
                            for reg, value in reg_values.items():
                                with m.Case(int(reg)):
                                    m.d.sync += [sh.eq(value), sh_n.eq(REG_BITS // 8)]
                            for reg in wregs:     # from the register memory, like a word
                                with m.Case(int(reg)):
                                    m.d.comb += [acc_re.eq(1), acc_region.eq(REGS),
                                                 acc_addr.eq(reg_word[reg])]
                                    m.d.sync += rd_pending.eq(1)
                with m.Elif((sh_n == 0) & (words_left == 0)):
                    m.next = "CRC_OUT"

            with m.State("CRC_OUT"):
                m.d.comb += [out_avail.eq(1), out_byte.eq(Mux(tidx == 0, crc[8:16], crc[0:8]))]
                with m.If(emit):
                    m.d.sync += tidx.eq(tidx + 1)
                    with m.If(tidx == 1):
                        m.next = "HUNT"
        with m.If(do_reply):
            ok = reply_status == Status.OK
            m.d.sync += [
                status.eq(reply_status),
                reply_len.eq(Mux(ok, reply_plen, 0)),
                tidx.eq(0),
                crc.eq(CRC_INIT),
                running.eq(0),
                src_mem.eq(reply_mem),
                src_addr.eq(reply_first),
                sh_n.eq(0),
                rd_pending.eq(0),
            ]
            with m.If(ok):
                m.d.sync += frames_ok.eq(frames_ok + 1)
            with m.Else():
                m.d.sync += frames_err.eq(frames_err + 1)
        m.d.comb += self.idle.eq(fsm.ongoing("HUNT") & ~tx_valid)
        return m
