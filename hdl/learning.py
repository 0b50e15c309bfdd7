"""On-chip learning: the row updaters of the hidden and readout weights, and their LFSR lanes.

Learning is event driven (docs/numerics.md, "Learning"): only the rows whose presynaptic factor
is nonzero are updated, each by a :class:`~plasticore.hdl.update.RowUpdater` that reads every
weight word of the row, adds the rounded product of the postsynaptic and presynaptic factors,
and writes it back.

* The hidden rows (the presynaptic table, Win then Wrec) learn from g = V*h (post) and the
  traces x-bar(t) or z-bar(t-1) (pre). With ``weight_banks`` K > 1, K updaters work side by
  side, one per weight bank, each with its own copies of the memories it reads the factors
  from and its own P LFSR lanes (bank b: lanes ``b*P .. b*P+P-1``).
* The readout rows (Wout) learn from the errors e(t) (post) and z-bar(t) (pre); with
  symmetric feedback the same new values are written into B = Wout^T. Its lanes are
  ``cfg.readout_lanes``: bank 0's when K = 1 (it learns after the hidden rows), its own when
  K > 1 (it learns alongside them).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from plasticore.contract.geometry import Geometry
from plasticore.golden import lfsr as golden_lfsr
from plasticore.golden.config import Config
from plasticore.golden.rules import RULES
from plasticore.golden.synapses import lane_columns

from .integration import bank_member, strided_scanner, suffix
from .lfsr import GaloisLFSR
from .memories import LaneRamPorts, RamPorts, slot_layout
from .passes import lanes_of, post_factor_layout, split_index
from .scanner import SpikeScanner
from .slot_update import SlotUpdater
from .update import MAX_SHIFT, RowUpdater

__all__ = ["Learning"]


def _read_signature(depth: int, shape) -> ReadPort.Signature:
    return ReadPort.Signature(addr_width=(max(depth, 1) - 1).bit_length(), shape=shape)


class Learning(wiring.Component):
    """The learning engines of a core: K hidden-row updaters, the readout updater, the LFSRs.

    Parameters
    ----------
    cfg : Config
        The core's configuration.

    Members
    -------
    rows : In(n_in + n_rec)
        The hidden rows to learn: nonzero presynaptic factor (for ``erbp``: the spikes).
    readout_rows : In(n_rec)
        The readout rows to learn: nonzero z-bar(t).
    errors : In(ArrayLayout(signed(e_bits), n_out_padded))
        The errors e(t).
    start_hidden, start_readout : In(1)
        Begin learning the hidden rows; the readout rows.
    hidden_busy, readout_busy : Out(1)
        The hidden rows; the readout rows, are still learning.
    w_pre : In(RamPorts(...)).array(weight_banks)
        The weight banks of the presynaptic table.
    xbar, zbar_prev, g : In(ReadPort.Signature(...)).array(weight_banks)
        Each bank's copies of the input traces, z-bar(t-1) and g.
    w_out : In(RamPorts(...))
        The readout weights.
    zbar : In(ReadPort.Signature(...))
        z-bar(t), the readout rows' presynaptic factor.
    b_fb : In(WritePort.Signature(...)).array(lanes)
        Write ports of the banks of B (driven with symmetric feedback only).
    lr_shift, out_lr_shift : In(range(MAX_SHIFT + 1))
        The learning-rate shifts of the hidden and the readout rows (run-time registers,
        ``plasticore.hdl.learning_registers``; reset values the config's).
    """

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.geometry = geom = Geometry(cfg)
        P, nw, nwi = geom.lanes, geom.words_rec, geom.words_in
        K = cfg.weight_banks
        self.bank_rows = -(-geom.n_pre // K)
        trace = lanes_of(P, cfg.trace_bits, False)
        if geom.sparse:  # the synapse table: slot words, written a slot at a time; g per lane
            slot_word = data.ArrayLayout(slot_layout(cfg), P)
            w_pre = RamPorts(self.bank_rows * geom.words_pre, slot_word, granularity=1)
            g = LaneRamPorts(nw, post_factor_layout(cfg)).members["read"].signature
        else:
            w_pre = RamPorts(self.bank_rows * nw, lanes_of(P, cfg.w_bits))
            g = _read_signature(nw, post_factor_layout(cfg))
        super().__init__(
            {
                "rows": In(cfg.n_in + cfg.n_rec),
                "lr_shift": In(range(MAX_SHIFT + 1), init=cfg.lr_shift),
                "out_lr_shift": In(range(MAX_SHIFT + 1), init=cfg.out_lr_shift),
                "readout_rows": In(cfg.n_rec),
                "errors": In(data.ArrayLayout(signed(cfg.e_bits), geom.n_out_padded)),
                "start_hidden": In(1),
                "start_readout": In(1),
                "hidden_busy": Out(1),
                "readout_busy": Out(1),
                "w_pre": In(w_pre).array(K),
                "xbar": In(_read_signature(nwi, trace)).array(K),
                "zbar_prev": In(_read_signature(nw, trace)).array(K),
                "g": In(g).array(K),
                "w_out": In(RamPorts(geom.regions["w_out"].depth, lanes_of(P, cfg.weight_bits["w_out"]))),
                "zbar": In(_read_signature(nw, trace)),
                "b_fb": In(
                    WritePort.Signature(
                        addr_width=(max(geom.fb_bank_depth, 1) - 1).bit_length(),
                        shape=lanes_of(P, cfg.fb_w_bits),
                        granularity=1,
                    )
                ).array(P),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg, geom = self.cfg, self.geometry
        P, nw, nwo = geom.lanes, geom.words_rec, geom.words_out
        K = cfg.weight_banks
        bank_bits = (K - 1).bit_length()
        factored = cfg.learn_multipliers == "factored"
        g_post_bits, g_gate_bits = (cfg.v_bits, cfg.h_bits) if factored else (cfg.g_bits, 0)

        # the lanes' LFSRs (bank b: lanes b*P .. b*P+P-1; the readout's: cfg.readout_lanes);
        # with rewiring the banks' lanes also leap, a rewiring candidate per cycle
        seeds = golden_lfsr.lane_seeds(cfg.lfsr_seed, cfg.lfsr_lanes)
        leap_steps = max(1, cfg.column_bits) if cfg.rewire else 0
        lfsrs = []
        for lane in range(cfg.lfsr_lanes):
            lfsr = GaloisLFSR(int(seeds[lane]), leap_steps=leap_steps if lane < K * P else 0)
            m.submodules[f"lfsr{lane}"] = lfsr
            lfsrs.append(lfsr)

        # the hidden rows: one updater per weight bank, over the bank's rows
        scans, updaters = [], []
        for bank in range(K):
            scan = strided_scanner(m, f"scan{suffix(bank, K)}", self.rows, bank, K)
            # the factors and the product's options, the same for dense rows and slot rows
            options = dict(
                n_rows=self.bank_rows,
                post_bits=g_post_bits,
                gate_bits=g_gate_bits,
                pre_bits=cfg.trace_bits,
                shift=cfg.lr_shift,
                multipliers=cfg.learn_multipliers,
                pipelined=cfg.pipelined,
            )
            if geom.sparse:
                updater = SlotUpdater(
                    words_per_row=geom.words_pre,
                    slot=slot_layout(cfg),
                    columns=[int(n) for n in lane_columns(cfg)],
                    rewire=cfg.rewire,
                    **options,
                )
            else:
                updater = RowUpdater(words_per_row=nw, lanes=P, weight_bits=cfg.w_bits, **options)
            m.submodules[f"learn_w{suffix(bank, K)}"] = updater
            wiring.connect(m, scan.indices, updater.rows)
            m.d.comb += [
                scan.start.eq(self.start_hidden),
                updater.draws.eq(Cat(lfsr.draw for lfsr in lfsrs[bank * P : (bank + 1) * P])),
                updater.shift.eq(self.lr_shift),
            ]
            scans.append(scan)
            updaters.append(updater)
        m.d.comb += self.hidden_busy.eq(Cat(*(s.busy for s in scans), *(u.busy for u in updaters)).any())

        # the readout rows
        m.submodules.learn_out_scan = lo_scan = SpikeScanner(cfg.n_rec)
        m.submodules.learn_out = lo = RowUpdater(
            n_rows=cfg.n_rec,
            words_per_row=nwo,
            lanes=P,
            weight_bits=cfg.weight_bits["w_out"],
            post_bits=cfg.e_bits,
            pre_bits=cfg.trace_bits,
            shift=cfg.out_lr_shift,
            pipelined=cfg.pipelined,
        )
        m.d.comb += [
            lo_scan.bits.eq(self.readout_rows),
            lo_scan.start.eq(self.start_readout),
            self.readout_busy.eq(lo_scan.busy | lo.busy),
            lo.shift.eq(self.out_lr_shift),
        ]
        wiring.connect(m, lo_scan.indices, lo.rows)

        readout_lfsrs = lfsrs[cfg.readout_lanes]
        assert len(readout_lfsrs) == P  # (a short Cat would pad the draws with zeros silently)
        m.d.comb += lo.draws.eq(Cat(lfsr.draw for lfsr in readout_lfsrs))
        steps = [[] for _ in lfsrs]  # the engines that step each lane
        for bank, updater in enumerate(updaters):
            for lane in range(bank * P, (bank + 1) * P):
                steps[lane].append(updater.step)
        for lane in range(cfg.lfsr_lanes)[cfg.readout_lanes]:
            steps[lane].append(lo.step)
        for lfsr, engines in zip(lfsrs, steps, strict=True):
            m.d.comb += lfsr.step.eq(Cat(*engines).any())
        if cfg.rewire:
            for bank, updater in enumerate(updaters):
                own = lfsrs[bank * P : (bank + 1) * P]
                m.d.comb += updater.leap_draws.eq(Cat(lfsr.leap_draw for lfsr in own))
                m.d.comb += [lfsr.leap.eq(updater.leap[lane]) for lane, lfsr in enumerate(own)]

        # the hidden rows' factors and weights: the presynaptic factor of a row a cycle after
        # it is accepted (bank b's row r is table row r*K + b; K is a power of two when > 1),
        # g of the word in stage 0 (the memory answers in stage 1)
        for bank, updater in enumerate(updaters):
            row = bank_member(updater.pre_row, bank, bank_bits)
            pre_is_rec = Signal(name=f"pre_is_rec{suffix(bank, K)}")
            pre_lane = Signal(range(max(P, 2)), name=f"pre_lane{suffix(bank, K)}")
            row_word, row_lane = split_index(
                Mux(row >= cfg.n_in, row - cfg.n_in, row)[: len(row)], P, max(cfg.n_in, cfg.n_rec)
            )
            with m.If(updater.pre_read):
                m.d.sync += [pre_is_rec.eq(row >= cfg.n_in), pre_lane.eq(row_lane)]
            if cfg.rule == "erbp":
                m.d.comb += updater.pre_value.eq(cfg.trace_inc)
            else:
                zprev_data, xbar_data = self.zbar_prev[bank].data, self.xbar[bank].data
                m.d.comb += updater.pre_value.eq(Mux(pre_is_rec, zprev_data[pre_lane], xbar_data[pre_lane]))
            w_pre = self.w_pre[bank]
            words = geom.words_pre
            m.d.comb += [
                self.xbar[bank].addr.eq(row_word),
                self.zbar_prev[bank].addr.eq(row_word),
                w_pre.read.addr.eq(updater.rd_row * words + updater.rd_word),
                w_pre.read.en.eq(updater.rd_en),
                self.g[bank].addr.eq(updater.post_addr if geom.sparse else updater.rd_word),
                w_pre.write.addr.eq(updater.wr_row * words + updater.wr_word),
                w_pre.write.data.eq(updater.wr_data),
                w_pre.write.en.eq(updater.wr_en),
                updater.post.eq(self.g[bank].data),
                updater.w_data.eq(w_pre.read.data),
            ]

        # the readout rows' factors and weights: z-bar(t) of the row; e of the word
        lo_row_word, lo_row_lane = split_index(lo.pre_row, P, cfg.n_rec)
        lo_pre_lane = Signal(range(max(P, 2)))
        with m.If(lo.pre_read):
            m.d.sync += lo_pre_lane.eq(lo_row_lane)
        m.d.comb += lo.pre_value.eq(self.zbar.data[lo_pre_lane])
        lo_post = Signal(lanes_of(P, cfg.e_bits))
        m.d.sync += lo_post.eq(self.errors.as_value().word_select(lo.rd_word, P * cfg.e_bits))
        m.d.comb += [
            lo.post.eq(lo_post),
            lo.w_data.eq(self.w_out.read.data),
            self.zbar.addr.eq(lo_row_word),
            self.w_out.read.addr.eq(lo.rd_row * nwo + lo.rd_word),
            self.w_out.read.en.eq(lo.rd_en),
            self.w_out.write.addr.eq(lo.wr_row * nwo + lo.wr_word),
            self.w_out.write.data.eq(lo.wr_data),
            self.w_out.write.en.eq(lo.wr_en),
        ]
        if RULES[cfg.rule].symmetric_feedback:
            # B[k][j] = Wout[k][j]: lane l of Wout word (j, w) is error k = w*P + l,
            # kept in bank l at row w, word j // P, lane j % P
            wr_word_of_j, wr_lane_of_j = split_index(lo.wr_row, P, cfg.n_rec)
            for bank, port in enumerate(self.b_fb):
                m.d.comb += [
                    port.addr.eq(lo.wr_word * nw + wr_word_of_j),
                    port.en.eq(Mux(lo.wr_en & ((lo.wr_word * P + bank) < cfg.n_out), Const(1, P) << wr_lane_of_j, 0)),
                ]
                for lane in range(P):
                    m.d.comb += port.data[lane].eq(lo.wr_data[bank])
        return m
