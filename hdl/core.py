"""The plasticore neuron core: one tick of docs/numerics.md in hardware, learning included.

Shape (see DESIGN.md, "Hardware shape"): neuron state and weights live in block RAM, P lanes
to a word; integration is event driven (only rows of inputs and neurons that spiked are read);
learning is event driven (only rows whose presynaptic factor is nonzero are updated); a
controller runs the phases of a tick and counts its cycles.

Phases of one tick, after ``ctl.start``:

``ACCUMULATE``  in parallel, on disjoint memories:
                * integration: rows of spiking inputs x(t) and neurons z(t-1) of the
                  presynaptic weight memory (Win rows, then Wrec rows) into ``acc``;
                * feedback: rows of nonzero errors e(t-1) of B, times e_k, into ``fb_acc``;
                * input traces: one pass over the x-bar words (step 10 for inputs).
``NEURON``      one pass over the neuron words: U, a, r, V updated, z(t) decided, h and
                g = V*h computed for learning, z-bar advanced (its old value kept for
                learning), both accumulators cleared (``plasticore.hdl.lanes``).
``READOUT``     rows of Wout of the neurons that spiked now into ``out_acc``.
``OUTPUT``      one pass over the readout words: Y and e(t).
``LEARN_W``     (learning on and target valid) rows with nonzero presynaptic factor: every
                weight word read, updated with stochastic rounding, written back (``plasticore.hdl.update``);
                with ``weight_banks`` K > 1, K updaters side by side, one per weight bank.
                They start as NEURON ends (g and the traces are final then) and work through
                READOUT and OUTPUT, which use none of their memories; LEARN_W waits for them.
``LEARN_OUT``   (same, ``cfg.learn_readout`` and K = 1; with K > 1 it runs inside LEARN_W on
                LFSR lanes of its own) rows of Wout with nonzero z-bar(t); with
                symmetric feedback, the same new values are written into B = Wout^T.
``FINISH``      z(t) becomes the recurrent input of the next tick; ``done`` pulses.

The cycle count of a tick (``ctl.cycles``) is the number of cycles ``ctl.busy`` is high; the
model that predicts it exactly is ``plasticore.contract.cycles``. Memories: ``w_pre`` holds Win and Wrec as one
table of presynaptic rows (the order scanners and learning visit them; on iCE40 it is what the
SPRAMs hold); B is split in P banks by error index modulo P so that a readout update can write
the P transposed copies of one Wout word in one cycle.

Weight banks: learning a row reads and writes every word of it, so LEARN_W is bound by the
weight memory's ports (one word read and one written per cycle). With ``cfg.weight_banks`` K,
the presynaptic table is K memories, row ``i`` in bank ``i mod K`` at row ``i div K``, and K
row updaters learn K rows at once, each with its own copies of the memories it reads a row's
factors from (x-bar, z-bar(t-1), g) and its own P LFSR lanes; the readout learns alongside
them. K integrators integrate the banks' spiking rows into K accumulators, and
``cfg.feedback_banks`` engines split the errors of ``B . e`` the same way; the neuron pass adds
the partial sums (exact, so the values do not depend on K). The host bus still sees one
table: it selects the bank from the row's low bits.

Pipelining: one cycle per word leaves a whole neuron update (decay products, sums,
saturation, threshold, then h and the product g = V*h) or a whole weight update (g times the
trace, rounding, saturation) to a single clock period, and that chain sets Fmax. With
``cfg.pipelined`` the NEURON and OUTPUT passes compute in two stages (spike and new states,
then h, g and the traces; Y, then e) and the row updaters register their products: one cycle
more per pass and per learning phase, the same values.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from plasticore.golden import lfsr as golden_lfsr
from plasticore.golden.config import Config

from .accumulate import RowAccumulator
from .bus import MemoryBus, TickControl
from plasticore.contract.cycles import tick_counter_bits
from plasticore.contract.geometry import BITMAP_WORD, Geometry, ceil_div
from .lanes import neuron_update, pseudo_derivative, readout_error, readout_update, trace_update
from .lfsr import GaloisLFSR
from .scanner import SpikeScanner
from .update import RowUpdater

__all__ = ["Core"]


class _Pass:
    """A pass over ``n`` words: stage 0 reads word ``k``, stage 1 (a cycle later) computes and
    writes word ``s1_word``. With ``stages=2`` (``Config.pipelined``) stage 1 computes the first
    half of the arithmetic into registers and stage 2, another cycle later, the rest and the
    write; ``out_valid``/``out_word`` name the writing stage either way."""

    def __init__(self, m: Module, name: str, n: int, stages: int = 1):
        assert stages in (1, 2)
        self.k = Signal(range(max(n, 2)), name=f"{name}_k")
        self.active = Signal(name=f"{name}_active")
        self.s1_valid = Signal(name=f"{name}_s1_valid")
        self.s1_word = Signal.like(self.k, name=f"{name}_s1_word")
        m.d.sync += self.s1_valid.eq(self.active)
        with m.If(self.active):
            m.d.sync += [self.s1_word.eq(self.k), self.k.eq(self.k + 1)]
            with m.If(self.k == n - 1):
                m.d.sync += self.active.eq(0)
        self.out_valid, self.out_word = self.s1_valid, self.s1_word
        self.busy = self.active | self.s1_valid
        if stages == 2:
            self.out_valid = Signal(name=f"{name}_s2_valid")
            self.out_word = Signal.like(self.k, name=f"{name}_s2_word")
            m.d.sync += [self.out_valid.eq(self.s1_valid), self.out_word.eq(self.s1_word)]
            self.busy = self.busy | self.out_valid

    def begin(self, m: Module):
        m.d.sync += [self.k.eq(0), self.active.eq(1)]

    @property
    def finished(self):
        return ~self.busy


def _split(index, divisor: int, n: int):
    """``(index // divisor, index % divisor)`` for ``0 <= index < n``: a shift and a mask when
    the divisor is a power of two, else two small constant tables."""
    if divisor & (divisor - 1) == 0:
        shift = divisor.bit_length() - 1
        return index >> shift, index & (divisor - 1)
    n = max(n, 1)
    quotients = Array(Const(i // divisor, range(max(n // divisor + 1, 2))) for i in range(n))
    remainders = Array(Const(i % divisor, range(max(divisor, 2))) for i in range(n))
    return quotients[index], remainders[index]


def accumulator_ports(engine, acc_r, acc_w) -> list:
    """Connect a row accumulator's read-modify-write of its accumulator memory to the memory's
    read and write ports (the passes that accumulate rows each own one such memory)."""
    return [
        acc_r.addr.eq(engine.acc_rd_addr),
        acc_w.addr.eq(engine.acc_wr_addr),
        acc_w.data.eq(engine.acc_wr_data),
        acc_w.en.eq(engine.acc_wr_en),
    ]


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
        P, nw, nwo, nwi = g.lanes, g.words_rec, g.words_out, g.words_in
        regions = g.regions
        symmetric = cfg.rule == "eprop_symmetric"

        def lanes_of(bits, is_signed=True):
            return data.ArrayLayout(signed(bits) if is_signed else unsigned(bits), P)

        def named(name, shape, value):
            """``value`` as a signal of its own (exactly: ``shape`` holds every value it takes),
            with more than one weight bank. There the neuron pass's results feed K copies of g
            and K partial sums feed it, and as expressions they were repeated at every use (the
            Verilog of an 8-bank core was 5.6 MB and took Verilator 9 minutes; 1.1 MB as
            signals). With one bank the expressions stay: yosys packs them better into the
            iCE40 (`ice40`: 5,179 LCs as expressions, 5,299 as signals, of 5,280)."""
            if K == 1:
                return value
            sig = Signal(shape, name=name)
            m.d.comb += sig.eq(value)
            return sig

        def stage_register(name, shape, value):
            """``value`` of a pass's stage 1 as its stage 2 sees it: a register when the passes
            have two stages (``Config.pipelined``), else the value itself (``named``)."""
            if not cfg.pipelined:
                return named(name, shape, value)
            reg = Signal(shape, name=name)
            m.d.sync += reg.eq(value)
            return reg

        def memory(name, depth, layout, transparent=False, granularity=None, attrs=None):
            mem = Memory(shape=layout, depth=max(depth, 1), init=[], attrs=attrs)
            m.submodules[name] = mem
            wp = mem.write_port(granularity=granularity)
            rp = mem.read_port(transparent_for=(wp,) if transparent else ())
            return rp, wp

        w_layout = lanes_of(cfg.w_bits)
        trace_layout = lanes_of(cfg.trace_bits, False)
        K = cfg.weight_banks
        bank_rows = ceil_div(g.n_pre, K)                    # rows per weight bank
        KF = cfg.feedback_banks

        def suffix(index, count=K):
            """Name suffix of copy ``index`` of ``count``: none when there is only one."""
            return "" if count == 1 else str(index)

        def strided_scanner(name, bits, first, step):
            """A spike scanner over bits ``first, first+step, ...`` of ``bits``: one bank's share
            (its index i is the bit ``first + i*step``); a bank with no bits gets a 1-bit scanner."""
            own = range(first, len(bits), step)
            scan = SpikeScanner(max(len(own), 1))
            m.submodules[name] = scan
            m.d.comb += scan.bits.eq(Cat(bits[i] for i in own) if own else 0)
            return scan

        def bank_member(local, bank, bank_bits):
            """Index into the whole table of a bank's ``local`` index (banks are powers of two)."""
            return Cat(Const(bank, bank_bits), local) if bank_bits else local
        w_pre = [memory(f"w_pre{suffix(b)}", bank_rows * nw, w_layout) for b in range(K)]
        w_out_r, w_out_w = memory("w_out", regions["w_out"].depth, lanes_of(cfg.out_w_bits))
        fb_banks = [memory(f"b_fb{bank}", g.fb_bank_depth, lanes_of(cfg.fb_w_bits), granularity=1)
                    for bank in range(P)]
        u_r, u_w = memory("u", nw, lanes_of(cfg.u_bits))
        a_r, a_w = memory("a", nw, lanes_of(cfg.a_bits, False))
        ref_r, ref_w = memory("ref", nw, lanes_of(cfg.ref_bits, False))
        v_r, v_w = memory("v", nw, lanes_of(cfg.v_bits))
        y_r, y_w = memory("y", nwo, lanes_of(cfg.y_bits))
        tgt_r, tgt_w = memory("target", nwo, lanes_of(cfg.y_bits))
        # the per-bank copies below (accumulators, g) in block RAM if the config asks for it
        bank_attrs = {"ram_style": "block"} if cfg.bank_memories == "block" else None
        # one synaptic accumulator per weight bank (its integrator's); the neuron pass adds them
        accs = [memory(f"acc{suffix(b)}", nw, lanes_of(cfg.in_acc_bits), transparent=True, attrs=bank_attrs)
                for b in range(K)]
        fb_accs = [memory(f"fb_acc{suffix(c, KF)}", nw, lanes_of(cfg.fb_acc_bits), transparent=True,
                          attrs=bank_attrs) for c in range(KF)]
        oacc_r, oacc_w = memory("out_acc", nwo, lanes_of(cfg.out_acc_bits), transparent=True)
        # x-bar, z-bar(t-1) and g: one copy per weight bank's updater (every copy written alike)
        xbars = [memory(f"xbar{suffix(b)}", nwi, trace_layout) for b in range(K)]
        zbar_r, zbar_w = memory("zbar", nw, trace_layout)
        zprevs = [memory(f"zbar_prev{suffix(b)}", nw, trace_layout) for b in range(K)]
        # (with factored update products, g is kept as its two factors V and h)
        factored = cfg.learn_multipliers == "factored"
        g_post_bits, g_gate_bits = (cfg.v_bits, cfg.h_bits) if factored else (cfg.g_bits, 0)
        g_layout = data.ArrayLayout(RowUpdater.post_shape(g_post_bits, g_gate_bits), P)
        gmems = [memory(f"g{suffix(b)}", nw, g_layout, attrs=bank_attrs) for b in range(K)]
        xbar_r, xbar_w = xbars[0]

        # spike bitmaps, nonzero-factor bitmaps and the error registers -------------------------
        x_len = max(g.words_in * P, regions["x"].depth * BITMAP_WORD)
        z_len = max(g.n_rec_padded, regions["z"].depth * BITMAP_WORD)
        x_bits = Signal(x_len)
        z_prev = Signal(z_len)
        z_new = Signal(z_len)
        xbar_nz = Signal(g.words_in * P)      # x_bar_i(t) != 0
        zprev_nz = Signal(g.n_rec_padded)     # z_bar_j(t-1) != 0
        zbar_nz = Signal(g.n_rec_padded)      # z_bar_j(t) != 0 (kept in step with the zbar memory)
        e_layout = data.ArrayLayout(signed(cfg.e_bits), g.n_out_padded)
        e_regs = Signal(e_layout)
        e_nonzero = Signal(cfg.n_out)
        m.d.comb += e_nonzero.eq(Cat(e_regs[k] != 0 for k in range(cfg.n_out)))

        # controller state ----------------------------------------------------------------------
        IDLE, ACCUMULATE, NEURON, READOUT, OUTPUT, LEARN_W, LEARN_OUT, FINISH = range(8)
        state = Signal(range(8))
        valid = Signal()
        learn = Signal()
        # (as wide as any real tick needs: plasticore.contract.cycles.tick_counter_bits; ctl.cycles is 32 bits)
        count = Signal(tick_counter_bits(cfg))
        cycles = Signal(tick_counter_bits(cfg))
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

        def serve(r, rp, wp, addr=None, enable=None):
            m.d.comb += [
                rp.addr.eq(word if addr is None else addr),
                wp.addr.eq(word if addr is None else addr),
                wp.data.eq(self.bus.wdata[:r.word_bits]),
                wp.en.eq(Mux(bus_write & (region == r.index) & (1 if enable is None else enable),
                             (1 << len(wp.en)) - 1, 0)),
            ]

        for name, (rp, wp) in {"w_out": (w_out_r, w_out_w), "u": (u_r, u_w), "a": (a_r, a_w),
                               "ref": (ref_r, ref_w), "v": (v_r, v_w), "y": (y_r, y_w),
                               "target": (tgt_r, tgt_w), "xbar": (xbar_r, xbar_w),
                               "zbar": (zbar_r, zbar_w)}.items():
            serve(regions[name], rp, wp)
        for rp, wp in xbars[1:]:
            serve(regions["xbar"], rp, wp)
        # Win and Wrec are two bus regions of the one presynaptic table (split in K banks by the
        # row's low bits: K and the words per row are powers of two when K > 1, Config checks)
        pre_region_is_rec = region == regions["w_rec"].index
        pre_addr = Mux(pre_region_is_rec, word + cfg.n_in * nw, word)
        word_bits, bank_bits = (nw - 1).bit_length(), (K - 1).bit_length()
        bus_pre_bank = pre_addr[word_bits:word_bits + bank_bits] if K > 1 else 0
        bus_pre_addr = Cat(pre_addr[:word_bits], pre_addr[word_bits + bank_bits:]) if K > 1 else pre_addr
        for bank, (rp, wp) in enumerate(w_pre):
            m.d.comb += [
                rp.addr.eq(bus_pre_addr), wp.addr.eq(bus_pre_addr),
                wp.data.eq(self.bus.wdata[:regions["w_in"].word_bits]),
                wp.en.eq(bus_write & ((region == regions["w_in"].index) | pre_region_is_rec)
                         & (bus_pre_bank == bank)),
            ]
        read_pre_bank = Signal(range(max(K, 2)))
        m.d.sync += read_pre_bank.eq(bus_pre_bank)
        w_pre_data = Array(rp.data.as_value() for rp, _ in w_pre)
        # B: bank in the high bits of the word address, address in the bank in the low bits
        stride_bits = (g.fb_bank_stride - 1).bit_length()
        bus_bank = word[stride_bits:]
        for bank, (rp, wp) in enumerate(fb_banks):
            serve(regions["b_fb"], rp, wp, addr=word[:stride_bits], enable=(bus_bank == bank))

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
                with m.Case(regions["zbar"].index):
                    written = data.View(trace_layout, self.bus.wdata[:regions["zbar"].word_bits])
                    m.d.sync += zbar_nz.word_select(word, P).eq(Cat(written[l] != 0 for l in range(P)))

        read_region = Signal.like(region)
        read_bank = Signal.like(bus_bank)
        register_word = Signal(self.bus.rdata.shape())  # bus reads of registers, captured at request
        m.d.sync += [self.bus.rvalid.eq(bus_read), read_region.eq(region), read_bank.eq(bus_bank)]
        with m.If(bus_read):
            with m.Switch(region):
                with m.Case(regions["x"].index):
                    m.d.sync += register_word.eq(bitmap_word(x_bits, word))
                with m.Case(regions["z"].index):
                    m.d.sync += register_word.eq(bitmap_word(z_prev, word))
                with m.Case(regions["e"].index):
                    m.d.sync += register_word.eq(e_flat.word_select(word, e_word_bits))
        fb_bank_data = Array(rp.data.as_value() for rp, _ in fb_banks)
        with m.Switch(read_region):
            with m.Case(regions["w_in"].index, regions["w_rec"].index):
                m.d.comb += self.bus.rdata.eq(w_pre_data[read_pre_bank])
            for name, rp in (("w_out", w_out_r), ("u", u_r), ("a", a_r), ("ref", ref_r), ("v", v_r),
                             ("y", y_r), ("target", tgt_r), ("xbar", xbar_r), ("zbar", zbar_r)):
                with m.Case(regions[name].index):
                    m.d.comb += self.bus.rdata.eq(rp.data.as_value())
            with m.Case(regions["b_fb"].index):
                m.d.comb += self.bus.rdata.eq(fb_bank_data[read_bank])
            with m.Default():
                m.d.comb += self.bus.rdata.eq(register_word)

        # ACCUMULATE: one integration engine per weight bank, over the bank's rows -------------
        spiking_rows = Cat(x_bits[:cfg.n_in], z_prev[:cfg.n_rec])
        in_scans, integs = [], []
        for bank in range(K):
            scan = strided_scanner(f"in_scan{suffix(bank)}", spiking_rows, bank, K)
            integ = RowAccumulator(n_rows=bank_rows, words_per_row=nw, lanes=P, weight_bits=cfg.w_bits,
                                   acc_bits=cfg.in_acc_bits)
            m.submodules[f"integrate{suffix(bank)}"] = integ
            wiring.connect(m, scan.indices, integ.rows)
            m.d.comb += [integ.w_data.eq(w_pre[bank][0].data.as_value()),
                         integ.acc_rd_data.eq(accs[bank][0].data.as_value())]
            in_scans.append(scan)
            integs.append(integ)

        # ACCUMULATE: feedback engines (B . e(t-1)) over the banks of B: engine c takes the errors
        # k = r*KF + c (KF divides P, so B's bank k mod P is one of engine c's: c, c+KF, ...) ----
        fb_scans, fbes, fb_rows_in_bank = [], [], []
        kf_bits = (KF - 1).bit_length()
        error_bits = max(1, (cfg.n_out - 1).bit_length())
        for c in range(KF):
            scan = strided_scanner(f"fb_scan{suffix(c, KF)}", e_nonzero, c, KF)
            fbe = RowAccumulator(
                n_rows=scan.n, words_per_row=nw, lanes=P, weight_bits=cfg.fb_w_bits,
                acc_bits=cfg.fb_acc_bits, factor_bits=cfg.e_bits)
            m.submodules[f"feedback{suffix(c, KF)}"] = fbe
            k_scan = bank_member(scan.indices.payload, c, kf_bits)
            k_read = bank_member(fbe.rd_row, c, kf_bits)
            row_in_bank, bank = _split(k_read[:error_bits], P, cfg.n_out)
            own_banks = Array(rp.data.as_value() for rp, _ in fb_banks[c::KF])
            own_bank_s1 = Signal(range(max(len(own_banks), 2)), name=f"fb_bank_s1_{c}")
            m.d.sync += own_bank_s1.eq(bank >> kf_bits if KF > 1 else bank)
            m.d.comb += [
                fbe.rows.valid.eq(scan.indices.valid),
                fbe.rows.payload.row.eq(scan.indices.payload),
                fbe.rows.payload.factor.eq(e_regs[k_scan[:error_bits]]),
                scan.indices.ready.eq(fbe.rows.ready),
                fbe.w_data.eq(own_banks[own_bank_s1]),
                fbe.acc_rd_data.eq(fb_accs[c][0].data.as_value()),
            ]
            fb_scans.append(scan)
            fbes.append(fbe)
            fb_rows_in_bank.append(row_in_bank)

        # READOUT engine ---------------------------------------------------------------------------
        m.submodules.out_scan = out_scan = SpikeScanner(cfg.n_rec)
        m.submodules.readout = ro = RowAccumulator(
            n_rows=cfg.n_rec, words_per_row=nwo, lanes=P, weight_bits=cfg.out_w_bits, acc_bits=cfg.out_acc_bits)
        m.d.comb += out_scan.bits.eq(z_new[:cfg.n_rec])
        wiring.connect(m, out_scan.indices, ro.rows)
        m.d.comb += ro.w_data.eq(w_out_r.data.as_value())

        m.d.comb += ro.acc_rd_data.eq(oacc_r.data.as_value())

        # LEARN engines and the lanes' LFSRs (bank b: lanes b*P .. b*P+P-1; the readout's:
        # cfg.readout_lanes) ------------------------------------------------------------------------
        seeds = golden_lfsr.lane_seeds(cfg.lfsr_seed, cfg.lfsr_lanes)
        lfsrs = []
        for lane in range(cfg.lfsr_lanes):
            lfsr = GaloisLFSR(int(seeds[lane]))
            m.submodules[f"lfsr{lane}"] = lfsr
            lfsrs.append(lfsr)

        if cfg.rule == "erbp":
            learn_rows = Cat(x_bits[:cfg.n_in], z_prev[:cfg.n_rec])
        else:
            learn_rows = Cat(xbar_nz[:cfg.n_in], zprev_nz[:cfg.n_rec])
        learn_scans, lws = [], []
        for bank in range(K):
            scan = strided_scanner(f"learn_scan{suffix(bank)}", learn_rows, bank, K)
            lw_b = RowUpdater(
                n_rows=bank_rows, words_per_row=nw, lanes=P, weight_bits=cfg.w_bits,
                post_bits=g_post_bits, gate_bits=g_gate_bits, pre_bits=cfg.trace_bits,
                shift=cfg.lr_shift, multipliers=cfg.learn_multipliers, pipelined=cfg.pipelined)
            m.submodules[f"learn_w{suffix(bank)}"] = lw_b
            wiring.connect(m, scan.indices, lw_b.rows)
            m.d.comb += lw_b.draws.eq(Cat(lfsr.draw for lfsr in lfsrs[bank * P:(bank + 1) * P]))
            learn_scans.append(scan)
            lws.append(lw_b)

        m.submodules.learn_out_scan = lo_scan = SpikeScanner(cfg.n_rec)
        m.submodules.learn_out = lo = RowUpdater(
            n_rows=cfg.n_rec, words_per_row=nwo, lanes=P, weight_bits=cfg.out_w_bits,
            post_bits=cfg.e_bits, pre_bits=cfg.trace_bits, shift=cfg.out_lr_shift,
            pipelined=cfg.pipelined)
        m.d.comb += lo_scan.bits.eq(zbar_nz[:cfg.n_rec])
        wiring.connect(m, lo_scan.indices, lo.rows)

        # the readout's lanes: bank 0's when K = 1 (it learns after the hidden rows), its own when
        # K > 1 (it learns alongside them, in LEARN_W)
        readout_lfsrs = lfsrs[cfg.readout_lanes]
        assert len(readout_lfsrs) == P  # (a short Cat would pad the draws with zeros silently)
        m.d.comb += lo.draws.eq(Cat(lfsr.draw for lfsr in readout_lfsrs))
        steps = [[] for _ in lfsrs]      # the engines that step each lane
        for bank, lw_b in enumerate(lws):
            for lane in range(bank * P, (bank + 1) * P):
                steps[lane].append(lw_b.step)
        for lane in range(cfg.lfsr_lanes)[cfg.readout_lanes]:
            steps[lane].append(lo.step)
        for lfsr, engines in zip(lfsrs, steps):
            m.d.comb += lfsr.step.eq(Cat(*engines).any())
        concurrent_readout = K > 1 and cfg.learn_readout

        # the presynaptic factor of a learning row, a cycle after it is accepted (bank b's row r
        # is table row r*K + b; K is a power of two when > 1)
        learn_row_words = []
        for bank, lw_b in enumerate(lws):
            row = bank_member(lw_b.pre_row, bank, bank_bits)
            pre_is_rec = Signal(name=f"pre_is_rec{suffix(bank)}")
            pre_lane = Signal(range(max(P, 2)), name=f"pre_lane{suffix(bank)}")
            row_word, row_lane = _split(Mux(row >= cfg.n_in, row - cfg.n_in, row)[:len(row)], P,
                                        max(cfg.n_in, cfg.n_rec))
            learn_row_words.append(row_word)
            with m.If(lw_b.pre_read):
                m.d.sync += [pre_is_rec.eq(row >= cfg.n_in), pre_lane.eq(row_lane)]
            if cfg.rule == "erbp":
                m.d.comb += lw_b.pre_value.eq(cfg.trace_inc)
            else:
                zprev_data, xbar_data = zprevs[bank][0].data, xbars[bank][0].data
                m.d.comb += lw_b.pre_value.eq(Mux(pre_is_rec, zprev_data[pre_lane], xbar_data[pre_lane]))
        lo_row_word, lo_row_lane = _split(lo.pre_row, P, cfg.n_rec)
        lo_pre_lane = Signal(range(max(P, 2)))
        with m.If(lo.pre_read):
            m.d.sync += lo_pre_lane.eq(lo_row_lane)
        m.d.comb += lo.pre_value.eq(zbar_r.data[lo_pre_lane])

        # post factors: g of the word in stage 0 (memory answers in stage 1); e of the word
        for bank, lw_b in enumerate(lws):
            m.d.comb += [lw_b.post.eq(gmems[bank][0].data.as_value()),
                         lw_b.w_data.eq(w_pre[bank][0].data.as_value())]
        lo_post = Signal(lanes_of(cfg.e_bits))
        m.d.sync += lo_post.eq(e_flat.word_select(lo.rd_word, e_word_bits))
        m.d.comb += lo.post.eq(lo_post)
        m.d.comb += lo.w_data.eq(w_out_r.data.as_value())

        # NEURON, OUTPUT and input-trace passes ---------------------------------------------------------
        neuron_pass = _Pass(m, "neuron", nw, cfg.compute_stages)
        output_pass = _Pass(m, "output", nwo, cfg.compute_stages)
        xbar_pass = _Pass(m, "xbar", nwi)

        def start_tick():
            m.d.sync += [valid.eq(self.ctl.valid), learn.eq(self.ctl.learn & self.ctl.valid),
                         count.eq(0), state.eq(ACCUMULATE)]
            m.d.comb += [scan.start.eq(1) for scan in in_scans + fb_scans]
            xbar_pass.begin(m)

        wr_word_of_j, wr_lane_of_j = _split(lo.wr_row, P, cfg.n_rec)

        def learn_readout_ports():
            """The memory ports of the readout update (its own: z-bar, Wout, and B if symmetric)."""
            m.d.comb += [
                zbar_r.addr.eq(lo_row_word),
                w_out_r.addr.eq(lo.rd_row * nwo + lo.rd_word),
                w_out_r.en.eq(lo.rd_en),
                w_out_w.addr.eq(lo.wr_row * nwo + lo.wr_word),
                w_out_w.data.eq(lo.wr_data),
                w_out_w.en.eq(lo.wr_en),
            ]
            if symmetric:
                # B[k][j] = Wout[k][j]: lane l of Wout word (j, w) is error k = w*P + l,
                # kept in bank l at row w, word j // P, lane j % P
                for bank, (_, wp) in enumerate(fb_banks):
                    m.d.comb += [
                        wp.addr.eq(lo.wr_word * nw + wr_word_of_j),
                        wp.en.eq(Mux(lo.wr_en & ((lo.wr_word * P + bank) < cfg.n_out),
                                     Const(1, P) << wr_lane_of_j, 0)),
                    ]
                    for lane in range(P):
                        m.d.comb += wp.data[lane].eq(lo.wr_data[bank])

        with m.Switch(state):
            with m.Case(IDLE):
                with m.If(self.ctl.start):
                    start_tick()

            with m.Case(ACCUMULATE):
                for (rp, _), integ, (acc_r, acc_w) in zip(w_pre, integs, accs):
                    m.d.comb += [rp.addr.eq(integ.rd_row * nw + integ.rd_word), rp.en.eq(integ.rd_en),
                                 *accumulator_ports(integ, acc_r, acc_w)]
                for c, (fbe, (fba_r, fba_w)) in enumerate(zip(fbes, fb_accs)):
                    m.d.comb += accumulator_ports(fbe, fba_r, fba_w)
                    for rp, _ in fb_banks[c::KF]:
                        m.d.comb += rp.addr.eq(fb_rows_in_bank[c] * nw + fbe.rd_word)
                # input traces, step 10: x_bar(t) from x(t); nonzero flags for learning
                m.d.comb += xbar_r.addr.eq(xbar_pass.k)
                s1w = xbar_pass.s1_word
                x_word = x_bits.word_select(s1w, P)
                new_traces = [trace_update(cfg, bar=xbar_r.data[l], spike=x_word[l]) for l in range(P)]
                for _, wp in xbars:
                    for l in range(P):
                        m.d.comb += wp.data[l].eq(new_traces[l])
                    m.d.comb += [wp.addr.eq(s1w), wp.en.eq(xbar_pass.s1_valid)]
                with m.If(xbar_pass.s1_valid):
                    m.d.sync += xbar_nz.word_select(s1w, P).eq(Cat(t != 0 for t in new_traces))
                integrating = Cat(*(scan.busy for scan in in_scans), *(integ.busy for integ in integs)).any()
                feeding_back = Cat(*(scan.busy for scan in fb_scans), *(fbe.busy for fbe in fbes)).any()
                engines_done = ~(integrating | feeding_back) & xbar_pass.finished
                with m.If(engines_done):
                    neuron_pass.begin(m)
                    m.d.sync += state.eq(NEURON)

            with m.Case(NEURON):
                for rp in (u_r, a_r, ref_r, v_r, zbar_r, *(r for r, _ in accs + fb_accs)):
                    m.d.comb += rp.addr.eq(neuron_pass.k)
                s1w, ow = neuron_pass.s1_word, neuron_pass.out_word   # compute (first half), write
                z_prev_word = z_prev.word_select(s1w, P)
                z_lanes, old_nz, new_nz = [], [], []
                for lane in range(P):
                    j = s1w * P + lane
                    # the banks' partial sums, added into signals: exact (the totals fit the
                    # accumulator widths by construction) and leaves of the arithmetic below,
                    # which would otherwise repeat the whole sum wherever it uses its input
                    acc_sum = named(f"acc_sum{lane}", signed(cfg.in_acc_bits),
                                    sum(acc_r.data[lane] for acc_r, _ in accs))
                    fb_sum = named(f"fb_sum{lane}", signed(cfg.fb_acc_bits),
                                   sum(fba_r.data[lane] for fba_r, _ in fb_accs))
                    out = neuron_update(
                        cfg, acc=acc_sum, fb=fb_sum, u=u_r.data[lane],
                        a=a_r.data[lane], ref=ref_r.data[lane], v=v_r.data[lane],
                        z_prev=z_prev_word[lane], is_alif=(j >= cfg.n_lif), is_real=(j < cfg.n_rec))
                    # the lane's results as signals (each is used several times below, and g by
                    # every bank's copy; an expression would be repeated at every use), or, with
                    # two stages, registers: stage 2 derives h, g and the trace from them
                    u_new = stage_register(f"u_new{lane}", signed(cfg.u_bits), out.u)
                    a_new = stage_register(f"a_new{lane}", unsigned(cfg.a_bits), out.a)
                    v_new = stage_register(f"v_new{lane}", signed(cfg.v_bits), out.v)
                    z = stage_register(f"z_new{lane}", 1, out.z)
                    ref_new = stage_register(f"ref_new{lane}", unsigned(cfg.ref_bits), out.ref)
                    ready = stage_register(f"ready{lane}", 1, ref_r.data[lane] == 0)
                    old_bar = stage_register(f"zbar_old{lane}", unsigned(cfg.trace_bits), zbar_r.data[lane])
                    h = named(f"h{lane}", unsigned(cfg.h_bits), pseudo_derivative(
                        cfg, u=u_new, threshold=cfg.threshold + a_new, ready=ready))
                    is_neuron = ow * P + lane < cfg.n_rec
                    if factored:   # g = V * h, kept as its factors (h = 0 off the neurons)
                        g_new = Signal(g_layout.elem_shape, name=f"g_new{lane}")
                        m.d.comb += [g_new.value.eq(v_new), g_new.gate.eq(Mux(is_neuron, h, 0))]
                    else:
                        g_new = named(f"g_new{lane}", signed(cfg.g_bits), Mux(is_neuron, v_new * h, 0))
                    new_bar = named(f"zbar_new{lane}", unsigned(cfg.trace_bits), trace_update(cfg, bar=old_bar, spike=z))
                    m.d.comb += [
                        u_w.data[lane].eq(u_new), a_w.data[lane].eq(a_new),
                        ref_w.data[lane].eq(ref_new), v_w.data[lane].eq(v_new),
                        *(acc_w.data[lane].eq(0) for _, acc_w in accs + fb_accs),
                        zbar_w.data[lane].eq(new_bar),
                    ]
                    for _, gmem_w in gmems:
                        m.d.comb += gmem_w.data[lane].eq(g_new)
                    for _, zprev_w in zprevs:
                        m.d.comb += zprev_w.data[lane].eq(old_bar)
                    z_lanes.append(z)
                    old_nz.append(old_bar != 0)
                    new_nz.append(new_bar != 0)
                for wp in (u_w, a_w, ref_w, v_w, zbar_w, *(w for _, w in accs + fb_accs + gmems + zprevs)):
                    m.d.comb += [wp.addr.eq(ow), wp.en.eq(neuron_pass.out_valid)]
                with m.If(neuron_pass.out_valid):
                    m.d.sync += [
                        z_new.word_select(ow, P).eq(Cat(*z_lanes)),
                        zprev_nz.word_select(ow, P).eq(Cat(*old_nz)),
                        zbar_nz.word_select(ow, P).eq(Cat(*new_nz)),
                    ]
                with m.If(neuron_pass.finished):
                    m.d.comb += out_scan.start.eq(1)
                    with m.If(learn):   # g and the traces are final: the hidden rows can learn
                        m.d.comb += [scan.start.eq(1) for scan in learn_scans]
                    m.d.sync += state.eq(READOUT)

            with m.Case(READOUT):
                m.d.comb += [
                    w_out_r.addr.eq(ro.rd_row * nwo + ro.rd_word),
                    w_out_r.en.eq(ro.rd_en),
                    *accumulator_ports(ro, oacc_r, oacc_w),
                ]
                with m.If(~(out_scan.busy | ro.busy)):
                    output_pass.begin(m)
                    m.d.sync += state.eq(OUTPUT)

            with m.Case(OUTPUT):
                for rp in (y_r, tgt_r, oacc_r):
                    m.d.comb += rp.addr.eq(output_pass.k)
                s1w, ow = output_pass.s1_word, output_pass.out_word   # compute (first half), write
                e_lanes = []
                for lane in range(P):
                    y_new = stage_register(f"y_new{lane}", signed(cfg.y_bits), readout_update(
                        cfg, y=y_r.data[lane], out_acc=oacc_r.data[lane]))
                    target = stage_register(f"target{lane}", signed(cfg.y_bits), tgt_r.data[lane])
                    counts = stage_register(f"e_counts{lane}", 1, valid & (s1w * P + lane < cfg.n_out))
                    e = readout_error(cfg, y_new=y_new, target=target, counts=counts)
                    m.d.comb += [y_w.data[lane].eq(y_new), oacc_w.data[lane].eq(0)]
                    e_lanes.append(e)
                for wp in (y_w, oacc_w):
                    m.d.comb += [wp.addr.eq(ow), wp.en.eq(output_pass.out_valid)]
                with m.If(output_pass.out_valid):
                    m.d.sync += e_flat.word_select(ow, e_word_bits).eq(Cat(*e_lanes))
                with m.If(output_pass.finished):
                    with m.If(learn):
                        if concurrent_readout:
                            m.d.comb += lo_scan.start.eq(1)
                        m.d.sync += state.eq(LEARN_W)
                    with m.Else():
                        m.d.sync += state.eq(FINISH)

            with m.Case(LEARN_W):
                if concurrent_readout:
                    learn_readout_ports()
                learning_busy = Cat(*(scan.busy for scan in learn_scans), *(lw_b.busy for lw_b in lws),
                                    *((lo_scan.busy, lo.busy) if concurrent_readout else ())).any()
                with m.If(~learning_busy):
                    if cfg.learn_readout and not concurrent_readout:
                        m.d.comb += lo_scan.start.eq(1)
                        m.d.sync += state.eq(LEARN_OUT)
                    else:
                        m.d.sync += state.eq(FINISH)

            with m.Case(LEARN_OUT):
                learn_readout_ports()
                with m.If(~(lo_scan.busy | lo.busy)):
                    m.d.sync += state.eq(FINISH)

            with m.Case(FINISH):
                m.d.sync += [
                    z_prev.eq(z_new),
                    cycles.eq(count + 1),
                    ticks.eq(ticks + 1),
                    state.eq(IDLE),
                ]

        # the hidden rows learn from the end of NEURON (READOUT and OUTPUT use none of their
        # memories) until LEARN_W sees them done: their ports, in those phases only
        with m.If(learn & ((state == READOUT) | (state == OUTPUT) | (state == LEARN_W))):
            for bank, lw_b in enumerate(lws):
                (rp, wp), row_word = w_pre[bank], learn_row_words[bank]
                m.d.comb += [
                    xbars[bank][0].addr.eq(row_word), zprevs[bank][0].addr.eq(row_word),
                    rp.addr.eq(lw_b.rd_row * nw + lw_b.rd_word),
                    rp.en.eq(lw_b.rd_en),
                    gmems[bank][0].addr.eq(lw_b.rd_word),
                    wp.addr.eq(lw_b.wr_row * nw + lw_b.wr_word),
                    wp.data.eq(lw_b.wr_data),
                    wp.en.eq(lw_b.wr_en),
                ]
        return m
