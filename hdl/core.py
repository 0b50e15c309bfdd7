"""The plasticore neuron core (inference path): one tick of docs/numerics.md in hardware.

Shape (see DESIGN.md, "Hardware shape"): neuron state and weights live in block RAM, P lanes
to a word; integration is event driven (only rows of inputs and neurons that spiked are read);
a controller runs the phases of a tick and counts its cycles.

Phases of one tick, after ``ctl.start``:

``ACCUMULATE``  two engines in parallel (they use disjoint memories):
                * integration: rows of spiking inputs x(t) and neurons z(t-1) of Win / Wrec
                  into the synaptic accumulators ``acc``;
                * feedback: rows of nonzero errors e(t-1) of B, times e_k, into ``fb_acc``.
``NEURON``      one pass over the neuron words: U, a, r, V updated, z(t) decided, both
                accumulators cleared (``hdl.lanes.neuron_update`` per lane).
``READOUT``     rows of Wout of the neurons that spiked now into ``out_acc``.
``OUTPUT``      one pass over the readout words: Y and e(t) (``hdl.lanes.readout_update``).
``FINISH``      z(t) becomes the recurrent input of the next tick; ``done`` pulses.

The cycle count of a tick (``ctl.cycles``) is the number of cycles ``ctl.busy`` is high; the
model that predicts it exactly is ``hdl.cycles``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from golden.config import Config

from .accumulate import RowAccumulator
from .bus import MemoryBus, TickControl
from .geometry import BITMAP_WORD, Geometry
from .lanes import neuron_update, readout_update
from .scanner import SpikeScanner

__all__ = ["Core"]


class _Pass:
    """A two-stage pass over ``n`` words: stage 0 reads word ``k``, stage 1 (a cycle later)
    computes and writes word ``s1_word``."""

    def __init__(self, m: Module, name: str, n: int):
        self.k = Signal(range(max(n, 2)), name=f"{name}_k")
        self.active = Signal(name=f"{name}_active")
        self.s1_valid = Signal(name=f"{name}_s1_valid")
        self.s1_word = Signal.like(self.k, name=f"{name}_s1_word")
        m.d.sync += self.s1_valid.eq(self.active)
        with m.If(self.active):
            m.d.sync += [self.s1_word.eq(self.k), self.k.eq(self.k + 1)]
            with m.If(self.k == n - 1):
                m.d.sync += self.active.eq(0)

    def begin(self, m: Module):
        m.d.sync += [self.k.eq(0), self.active.eq(1)]

    @property
    def finished(self):
        return ~self.active & ~self.s1_valid


class Core(wiring.Component):
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.geometry = Geometry(cfg)
        super().__init__({
            "bus": In(MemoryBus(self.geometry)),
            "ctl": In(TickControl()),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, g = self.cfg, self.geometry
        P, nw, nwo = g.lanes, g.words_rec, g.words_out
        regions = g.regions

        def lanes_of(bits, is_signed=True):
            return data.ArrayLayout(signed(bits) if is_signed else unsigned(bits), P)

        def memory(name, depth, layout, transparent=False):
            mem = Memory(shape=layout, depth=max(depth, 1), init=[])
            m.submodules[name] = mem
            wp = mem.write_port()
            rp = mem.read_port(transparent_for=(wp,) if transparent else ())
            return rp, wp

        w_layout = lanes_of(cfg.w_bits)
        w_in_r, w_in_w = memory("w_in", regions["w_in"].depth, w_layout)
        w_rec_r, w_rec_w = memory("w_rec", regions["w_rec"].depth, w_layout)
        w_out_r, w_out_w = memory("w_out", regions["w_out"].depth, w_layout)
        b_fb_r, b_fb_w = memory("b_fb", regions["b_fb"].depth, w_layout)
        u_r, u_w = memory("u", nw, lanes_of(cfg.u_bits))
        a_r, a_w = memory("a", nw, lanes_of(cfg.a_bits, False))
        ref_r, ref_w = memory("ref", nw, lanes_of(cfg.ref_bits, False))
        v_r, v_w = memory("v", nw, lanes_of(cfg.v_bits))
        y_r, y_w = memory("y", nwo, lanes_of(cfg.y_bits))
        tgt_r, tgt_w = memory("target", nwo, lanes_of(cfg.y_bits))
        acc_r, acc_w = memory("acc", nw, lanes_of(cfg.in_acc_bits), transparent=True)
        fba_r, fba_w = memory("fb_acc", nw, lanes_of(cfg.fb_acc_bits), transparent=True)
        oacc_r, oacc_w = memory("out_acc", nwo, lanes_of(cfg.out_acc_bits), transparent=True)

        # spike bitmaps and the error registers --------------------------------------------
        x_len = max(cfg.n_in, regions["x"].depth * BITMAP_WORD)
        z_len = max(g.n_rec_padded, regions["z"].depth * BITMAP_WORD)
        x_bits = Signal(x_len)
        z_prev = Signal(z_len)
        z_new = Signal(z_len)
        e_layout = data.ArrayLayout(signed(cfg.e_bits), g.n_out_padded)
        e_regs = Signal(e_layout)
        e_nonzero = Signal(cfg.n_out)
        m.d.comb += e_nonzero.eq(Cat(e_regs[k] != 0 for k in range(cfg.n_out)))

        # controller state -------------------------------------------------------------------
        IDLE, ACCUMULATE, NEURON, READOUT, OUTPUT, FINISH = range(6)
        state = Signal(range(6))
        valid = Signal()
        count = Signal(32)
        cycles = Signal(32)
        ticks = Signal(32)
        idle = Signal()
        m.d.comb += [
            idle.eq(state == IDLE),
            self.ctl.busy.eq(~idle),
            self.ctl.done.eq(state == FINISH),
            self.ctl.cycles.eq(cycles),
            self.ctl.ticks.eq(ticks),
        ]
        with m.If(~idle):
            m.d.sync += count.eq(count + 1)

        # host bus (served while idle): defaults of every port, overridden by the phases below ---
        region = Signal(g.region_bits)
        word = Signal(g.word_addr_bits)
        m.d.comb += Cat(word, region).eq(self.bus.addr)
        bus_write = self.bus.we & idle
        bus_read = self.bus.re & idle

        bus_memories = {
            "w_in": (w_in_r, w_in_w), "w_rec": (w_rec_r, w_rec_w), "w_out": (w_out_r, w_out_w),
            "b_fb": (b_fb_r, b_fb_w), "u": (u_r, u_w), "a": (a_r, a_w), "ref": (ref_r, ref_w),
            "v": (v_r, v_w), "y": (y_r, y_w), "target": (tgt_r, tgt_w),
        }
        for name, (rp, wp) in bus_memories.items():
            r = regions[name]
            m.d.comb += [
                rp.addr.eq(word),
                wp.addr.eq(word),
                wp.data.eq(self.bus.wdata[:r.word_bits]),
                wp.en.eq(bus_write & (region == r.index)),
            ]

        def bitmap_word(bits, w):
            return bits.word_select(w, BITMAP_WORD)

        e_flat = e_regs.as_value()
        e_word_bits = regions["e"].word_bits
        with m.If(bus_write):
            with m.Switch(region):
                with m.Case(regions["x"].index):
                    m.d.sync += bitmap_word(x_bits, word).eq(self.bus.wdata[:BITMAP_WORD])
                with m.Case(regions["z"].index):
                    m.d.sync += bitmap_word(z_prev, word).eq(self.bus.wdata[:BITMAP_WORD])
                with m.Case(regions["e"].index):
                    m.d.sync += e_flat.word_select(word, e_word_bits).eq(self.bus.wdata[:e_word_bits])

        read_region = Signal.like(region)
        register_word = Signal(self.bus.rdata.shape())  # bus reads of registers, captured at request
        m.d.sync += [self.bus.rvalid.eq(bus_read), read_region.eq(region)]
        with m.If(bus_read):
            with m.Switch(region):
                with m.Case(regions["x"].index):
                    m.d.sync += register_word.eq(bitmap_word(x_bits, word))
                with m.Case(regions["z"].index):
                    m.d.sync += register_word.eq(bitmap_word(z_prev, word))
                with m.Case(regions["e"].index):
                    m.d.sync += register_word.eq(e_flat.word_select(word, e_word_bits))
        with m.Switch(read_region):
            for name, (rp, _) in bus_memories.items():
                with m.Case(regions[name].index):
                    m.d.comb += self.bus.rdata.eq(rp.data.as_value())
            with m.Default():
                m.d.comb += self.bus.rdata.eq(register_word)

        # ACCUMULATE: integration engine ------------------------------------------------------
        m.submodules.in_scan = in_scan = SpikeScanner(g.n_pre)
        m.submodules.integrate = integ = RowAccumulator(
            n_rows=g.n_pre, words_per_row=nw, lanes=P, weight_bits=cfg.w_bits, acc_bits=cfg.in_acc_bits)
        m.d.comb += in_scan.bits.eq(Cat(x_bits[:cfg.n_in], z_prev[:cfg.n_rec]))
        wiring.connect(m, in_scan.indices, integ.rows)
        from_rec = integ.rd_row >= cfg.n_in
        from_rec_s1 = Signal()
        m.d.sync += from_rec_s1.eq(from_rec)
        m.d.comb += integ.w_data.eq(Mux(from_rec_s1, w_rec_r.data.as_value(), w_in_r.data.as_value()))

        # ACCUMULATE: feedback engine (B . e(t-1)) ----------------------------------------------
        m.submodules.fb_scan = fb_scan = SpikeScanner(cfg.n_out)
        m.submodules.feedback = fbe = RowAccumulator(
            n_rows=cfg.n_out, words_per_row=nw, lanes=P, weight_bits=cfg.w_bits,
            acc_bits=cfg.fb_acc_bits, factor_bits=cfg.e_bits)
        m.d.comb += [
            fb_scan.bits.eq(e_nonzero),
            fbe.rows.valid.eq(fb_scan.indices.valid),
            fbe.rows.payload.row.eq(fb_scan.indices.payload),
            fbe.rows.payload.factor.eq(e_regs[fb_scan.indices.payload]),
            fb_scan.indices.ready.eq(fbe.rows.ready),
            fbe.w_data.eq(b_fb_r.data.as_value()),
        ]

        # READOUT engine -------------------------------------------------------------------------
        m.submodules.out_scan = out_scan = SpikeScanner(cfg.n_rec)
        m.submodules.readout = ro = RowAccumulator(
            n_rows=cfg.n_rec, words_per_row=nwo, lanes=P, weight_bits=cfg.w_bits, acc_bits=cfg.out_acc_bits)
        m.d.comb += out_scan.bits.eq(z_new[:cfg.n_rec])
        wiring.connect(m, out_scan.indices, ro.rows)
        m.d.comb += ro.w_data.eq(w_out_r.data.as_value())

        # engines' accumulator data paths (their ports are used only outside IDLE)
        for engine, acc_read in ((integ, acc_r), (fbe, fba_r), (ro, oacc_r)):
            m.d.comb += engine.acc_rd_data.eq(acc_read.data.as_value())

        # NEURON and OUTPUT passes ---------------------------------------------------------------
        neuron_pass = _Pass(m, "neuron", nw)
        output_pass = _Pass(m, "output", nwo)

        with m.Switch(state):
            with m.Case(IDLE):
                with m.If(self.ctl.start):
                    m.d.sync += [valid.eq(self.ctl.valid), count.eq(0), state.eq(ACCUMULATE)]
                    m.d.comb += [in_scan.start.eq(1), fb_scan.start.eq(1)]

            with m.Case(ACCUMULATE):
                m.d.comb += [
                    w_in_r.addr.eq(integ.rd_row * nw + integ.rd_word),
                    w_in_r.en.eq(integ.rd_en & ~from_rec),
                    w_rec_r.addr.eq((integ.rd_row - cfg.n_in) * nw + integ.rd_word),
                    w_rec_r.en.eq(integ.rd_en & from_rec),
                    acc_r.addr.eq(integ.acc_rd_addr),
                    acc_w.addr.eq(integ.acc_wr_addr),
                    acc_w.data.eq(integ.acc_wr_data),
                    acc_w.en.eq(integ.acc_wr_en),
                    b_fb_r.addr.eq(fbe.rd_row * nw + fbe.rd_word),
                    fba_r.addr.eq(fbe.acc_rd_addr),
                    fba_w.addr.eq(fbe.acc_wr_addr),
                    fba_w.data.eq(fbe.acc_wr_data),
                    fba_w.en.eq(fbe.acc_wr_en),
                ]
                engines_done = ~(in_scan.busy | integ.busy | fb_scan.busy | fbe.busy)
                with m.If(engines_done):
                    neuron_pass.begin(m)
                    m.d.sync += state.eq(NEURON)

            with m.Case(NEURON):
                for rp in (u_r, a_r, ref_r, v_r, acc_r, fba_r):
                    m.d.comb += rp.addr.eq(neuron_pass.k)
                s1w = neuron_pass.s1_word
                z_prev_word = z_prev.word_select(s1w, P)
                z_lanes = []
                for lane in range(P):
                    j = s1w * P + lane
                    out = neuron_update(
                        cfg, acc=acc_r.data[lane], fb=fba_r.data[lane], u=u_r.data[lane],
                        a=a_r.data[lane], ref=ref_r.data[lane], v=v_r.data[lane],
                        z_prev=z_prev_word[lane], is_alif=(j >= cfg.n_lif), is_real=(j < cfg.n_rec))
                    m.d.comb += [
                        u_w.data[lane].eq(out.u), a_w.data[lane].eq(out.a),
                        ref_w.data[lane].eq(out.ref), v_w.data[lane].eq(out.v),
                        acc_w.data[lane].eq(0), fba_w.data[lane].eq(0),
                    ]
                    z_lanes.append(out.z)
                for wp in (u_w, a_w, ref_w, v_w, acc_w, fba_w):
                    m.d.comb += [wp.addr.eq(s1w), wp.en.eq(neuron_pass.s1_valid)]
                with m.If(neuron_pass.s1_valid):
                    m.d.sync += z_new.word_select(s1w, P).eq(Cat(*z_lanes))
                with m.If(neuron_pass.finished):
                    m.d.comb += out_scan.start.eq(1)
                    m.d.sync += state.eq(READOUT)

            with m.Case(READOUT):
                m.d.comb += [
                    w_out_r.addr.eq(ro.rd_row * nwo + ro.rd_word),
                    w_out_r.en.eq(ro.rd_en),
                    oacc_r.addr.eq(ro.acc_rd_addr),
                    oacc_w.addr.eq(ro.acc_wr_addr),
                    oacc_w.data.eq(ro.acc_wr_data),
                    oacc_w.en.eq(ro.acc_wr_en),
                ]
                with m.If(~(out_scan.busy | ro.busy)):
                    output_pass.begin(m)
                    m.d.sync += state.eq(OUTPUT)

            with m.Case(OUTPUT):
                for rp in (y_r, tgt_r, oacc_r):
                    m.d.comb += rp.addr.eq(output_pass.k)
                s1w = output_pass.s1_word
                e_lanes = []
                for lane in range(P):
                    k = s1w * P + lane
                    y_new, e = readout_update(
                        cfg, y=y_r.data[lane], out_acc=oacc_r.data[lane], target=tgt_r.data[lane],
                        valid=valid, is_real=(k < cfg.n_out))
                    m.d.comb += [y_w.data[lane].eq(y_new), oacc_w.data[lane].eq(0)]
                    e_lanes.append(e)
                for wp in (y_w, oacc_w):
                    m.d.comb += [wp.addr.eq(s1w), wp.en.eq(output_pass.s1_valid)]
                with m.If(output_pass.s1_valid):
                    m.d.sync += e_flat.word_select(s1w, e_word_bits).eq(Cat(*e_lanes))
                with m.If(output_pass.finished):
                    m.d.sync += state.eq(FINISH)

            with m.Case(FINISH):
                m.d.sync += [
                    z_prev.eq(z_new),
                    cycles.eq(count + 1),
                    ticks.eq(ticks + 1),
                    state.eq(IDLE),
                ]
        return m
