"""The plasticore neuron core: one tick of docs/numerics.md in hardware, learning included.

Shape (docs/architecture.md; the arithmetic is docs/numerics.md): neuron state and weights
live in block RAM, P lanes to a word; integration is event driven (only rows of inputs and
neurons that spiked are read); learning is event driven (only rows whose presynaptic factor is nonzero are updated); a
controller runs the phases of a tick and counts its cycles. The core is a composition:

* ``memories`` (:class:`~plasticore.hdl.memories.CoreMemories`): every memory, and the host
  bus onto them while idle; the spike bitmaps and error registers are the core's own.
* ``controller`` (:class:`~plasticore.hdl.controller.PhaseController`): the phase FSM.
* ``integrate``, ``feedback``, ``readout`` (:mod:`plasticore.hdl.integration`): the
  event-driven engines of ACCUMULATE and READOUT.
* ``neuron``, ``output``, ``xbar_pass`` (:mod:`plasticore.hdl.passes`): the word passes.
* ``learning`` (:class:`~plasticore.hdl.learning.Learning`): the row updaters and LFSR lanes.
* ``params`` (:class:`~plasticore.hdl.learning_registers.LearningRegisterFile`): the run-time
  learning registers (learning-rate shifts, learning enables) the host writes between ticks.

The core routes the memories' ports to the engines of the current phase.

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

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from plasticore.contract.geometry import BITMAP_WORD, Geometry
from plasticore.golden.config import Config, ConfigError
from plasticore.golden.rules import RULES
from plasticore.golden.synapses import lane_columns

from .bus import MemoryBus, TickControl
from .controller import Phase, PhaseController
from .integration import FeedbackIntegrator, RowIntegrator
from .lanes import trace_update
from .learning import Learning
from .learning_registers import LearningRegisterFile
from .memories import CoreMemories, drive_address, drive_enable, slot_layout
from .passes import NeuronPass, OutputPass, WordPass

__all__ = ["Core"]


def _read(memory, user) -> list:
    """``user`` (a read port's user) addresses ``memory``'s read port (a ``RamPorts``)."""
    return [memory.read.addr.eq(user.addr), memory.read.en.eq(user.en)]


def _write(memory, user) -> list:
    """``user`` (a write port's user) drives ``memory``'s write port (a ``RamPorts``)."""
    return [memory.write.addr.eq(user.addr), memory.write.data.eq(user.data), memory.write.en.eq(user.en)]


class Core(wiring.Component):
    """The neuron core: runs one tick of the network per ``ctl.start``.

    Parameters
    ----------
    cfg : Config
        The network and its hardware options.

    Members
    -------
    bus : In(MemoryBus(geometry))
        Host access to every memory and register of the memory map
        (``plasticore.contract.geometry``), served while the core is idle.
    ctl : In(TickControl())
        Run one tick and observe it.
    """

    def __init__(self, cfg: Config):
        geometry = Geometry(cfg)
        if geometry.sparse and cfg.weight_banks > 1 and cfg.slot_words & (cfg.slot_words - 1):
            # the bus decodes a table row's bank and address as bit fields
            raise ConfigError(
                f"connectivity: {cfg.connectivity!r} gives {cfg.slot_words} slot words per row; with "
                f"weight_banks={cfg.weight_banks} the RTL needs a power of two"
            )
        unbuilt = cfg.unbuilt_learning_features()
        if unbuilt:
            # golden's sample-efficient e-prop fields (docs/numerics.md) are specified, not yet
            # built: refuse them rather than silently building the old learning
            raise ConfigError(f"{unbuilt[0]} is not built by the RTL yet (the RTL builds its default)")
        self.cfg = cfg
        self.geometry = geometry
        super().__init__(
            {
                "bus": In(MemoryBus(self.geometry)),
                "ctl": In(TickControl()),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg, geom = self.cfg, self.geometry
        P, nw, nwo, nwi = geom.lanes, geom.words_rec, geom.words_out, geom.words_in
        K, KF = cfg.weight_banks, cfg.feedback_banks
        regions = geom.regions
        # the readout learns inside LEARN_W with weight banks (when register learn_readout is on)
        concurrent_readout = K > 1

        m.submodules.controller = ctrl = PhaseController(cfg)
        wiring.connect(m, wiring.flipped(self.ctl), ctrl.ctl)
        idle = ctrl.phase == Phase.IDLE
        learn = ctrl.learn

        m.submodules.memories = mems = CoreMemories(cfg)
        wiring.connect(m, wiring.flipped(self.bus), mems.bus)
        m.d.comb += mems.idle.eq(idle)

        # spike bitmaps, nonzero-factor bitmaps and the error registers -------------------------
        x_bits = Signal(max(nwi * P, regions["x"].depth * BITMAP_WORD))
        z_len = max(geom.n_rec_padded, regions["z"].depth * BITMAP_WORD)
        z_prev = Signal(z_len)
        z_new = Signal(z_len)
        xbar_nz = Signal(nwi * P)  # x_bar_i(t) != 0
        zprev_nz = Signal(geom.n_rec_padded)  # z_bar_j(t-1) != 0
        zbar_nz = Signal(geom.n_rec_padded)  # z_bar_j(t) != 0 (kept in step with the zbar memory)
        # the readout learns from its own trace z~ when the config keeps one (else from z_bar)
        readout_trace = cfg.readout_trace_q is not None
        zobar_nz = Signal(geom.n_rec_padded) if readout_trace else None  # z~_j(t) != 0
        e_regs = Signal(data.ArrayLayout(signed(cfg.e_bits), geom.n_out_padded))
        e_flat = e_regs.as_value()
        e_word_bits = regions["e"].word_bits

        # the host bus onto the registers (the memories answer it in CoreMemories) -------------
        region = Signal(geom.region_bits)
        word = Signal(geom.word_addr_bits)
        m.d.comb += Cat(word, region).eq(self.bus.addr)

        def bitmap_word(bits, w):
            return bits.word_select(w, BITMAP_WORD)

        with m.If(self.bus.we & idle):
            with m.Switch(region):
                with m.Case(regions["x"].index):
                    m.d.sync += bitmap_word(x_bits, word).eq(self.bus.wdata[:BITMAP_WORD])
                with m.Case(regions["z"].index):
                    m.d.sync += bitmap_word(z_prev, word).eq(self.bus.wdata[:BITMAP_WORD])
                with m.Case(regions["e"].index):
                    m.d.sync += e_flat.word_select(word, e_word_bits).eq(self.bus.wdata[:e_word_bits])
                with m.Case(regions["zbar"].index):
                    written = data.View(
                        data.ArrayLayout(unsigned(cfg.trace_bits), P), self.bus.wdata[: regions["zbar"].word_bits]
                    )
                    m.d.sync += zbar_nz.word_select(word, P).eq(Cat(written[lane] != 0 for lane in range(P)))
                if readout_trace:
                    with m.Case(regions["zobar"].index):
                        written = data.View(
                            data.ArrayLayout(unsigned(cfg.trace_bits), P), self.bus.wdata[: regions["zobar"].word_bits]
                        )
                        m.d.sync += zobar_nz.word_select(word, P).eq(Cat(written[lane] != 0 for lane in range(P)))
        # the run-time learning registers: region params
        m.submodules.params = params = LearningRegisterFile(cfg)
        m.d.comb += [
            params.word.eq(word),
            params.wdata.eq(self.bus.wdata),
            params.we.eq(self.bus.we & idle & (region == regions["params"].index)),
        ]
        register_word = Signal(self.bus.rdata.shape())  # bus reads of registers, captured at request
        m.d.comb += mems.register_rdata.eq(register_word)
        with m.If(self.bus.re & idle):
            with m.Switch(region):
                with m.Case(regions["x"].index):
                    m.d.sync += register_word.eq(bitmap_word(x_bits, word))
                with m.Case(regions["z"].index):
                    m.d.sync += register_word.eq(bitmap_word(z_prev, word))
                with m.Case(regions["e"].index):
                    m.d.sync += register_word.eq(e_flat.word_select(word, e_word_bits))
                with m.Case(regions["params"].index):
                    m.d.sync += register_word.eq(params.rdata)

        # the engines; their memory reads answer them whatever the phase ------------------------
        m.submodules.integrate = integrate = RowIntegrator(
            n_rows=geom.n_pre,
            words_per_row=geom.words_pre,
            lanes=P,
            weight_bits=cfg.w_bits,
            acc_bits=cfg.in_acc_bits,
            banks=K,
            slot=slot_layout(cfg) if geom.sparse else None,
            columns=[int(n) for n in lane_columns(cfg)] if geom.sparse else None,
        )
        m.d.comb += integrate.spikes.eq(Cat(x_bits[: cfg.n_in], z_prev[: cfg.n_rec]))
        for bank in range(K):
            m.d.comb += [
                integrate.weights[bank].data.eq(mems.w_pre[bank].read.data),
                integrate.acc[bank].read.data.eq(mems.acc[bank].read.data),
            ]

        m.submodules.feedback = feedback = FeedbackIntegrator(
            n_errors=cfg.n_out,
            errors_padded=geom.n_out_padded,
            words_per_row=nw,
            lanes=P,
            bank_depth=geom.fb_bank_depth,
            weight_bits=cfg.fb_w_bits,
            acc_bits=cfg.fb_acc_bits,
            error_bits=cfg.e_bits,
            engines=KF,
        )
        m.d.comb += feedback.errors.eq(e_regs)
        for bank in range(P):
            m.d.comb += feedback.b_fb[bank].data.eq(mems.b_fb[bank].read.data)
        for c in range(KF):
            m.d.comb += feedback.acc[c].read.data.eq(mems.fb_acc[c].read.data)

        m.submodules.readout = readout = RowIntegrator(
            n_rows=cfg.n_rec,
            words_per_row=nwo,
            lanes=P,
            weight_bits=cfg.weight_bits["w_out"],
            acc_bits=cfg.out_acc_bits,
        )
        m.d.comb += [
            readout.spikes.eq(z_new[: cfg.n_rec]),
            readout.weights[0].data.eq(mems.w_out.read.data),
            readout.acc[0].read.data.eq(mems.out_acc.read.data),
        ]

        m.submodules.xbar_pass = xbar_pass = WordPass(nwi)
        m.submodules.neuron = neuron = NeuronPass(cfg)
        m.d.comb += [
            neuron.u.eq(mems.u.read.data),
            neuron.a.eq(mems.a.read.data),
            neuron.ref.eq(mems.ref.read.data),
            neuron.v.eq(mems.v.read.data),
            neuron.zbar.eq(mems.zbar.read.data),
            *([neuron.zobar.eq(mems.zobar.read.data)] if readout_trace else []),
            neuron.z_prev.eq(z_prev),
            *(neuron.acc[b].eq(mems.acc[b].read.data) for b in range(K)),
            *(neuron.fb[c].eq(mems.fb_acc[c].read.data) for c in range(KF)),
        ]
        m.submodules.output = output = OutputPass(cfg)
        m.d.comb += [
            output.valid.eq(ctrl.valid),
            output.y.eq(mems.y.read.data),
            output.target.eq(mems.target.read.data),
            output.out_acc.eq(mems.out_acc.read.data),
        ]

        m.submodules.learning = learning = Learning(cfg)
        # the readout update's presynaptic trace and its nonzero bits: z~ when kept, else z_bar
        readout_bar = mems.zobar if readout_trace else mems.zbar
        readout_nz = zobar_nz if readout_trace else zbar_nz
        # a matrix whose learning is off (run-time registers) has no row to learn, as in golden
        if cfg.rule == "erbp":
            in_rows, rec_rows = x_bits[: cfg.n_in], z_prev[: cfg.n_rec]
        else:
            in_rows, rec_rows = xbar_nz[: cfg.n_in], zprev_nz[: cfg.n_rec]
        m.d.comb += learning.rows.eq(Cat(Mux(params.learn_input, in_rows, 0), Mux(params.learn_recurrent, rec_rows, 0)))
        m.d.comb += [
            learning.lr_shift.eq(params.lr_shift),
            learning.out_lr_shift.eq(params.out_lr_shift),
            ctrl.learn_readout.eq(params.learn_readout),
            neuron.threshold.eq(params.threshold),
        ]
        m.d.comb += [
            learning.readout_rows.eq(readout_nz[: cfg.n_rec]),
            learning.errors.eq(e_regs),
            learning.w_out.read.data.eq(mems.w_out.read.data),
            learning.zbar.data.eq(readout_bar.read.data),
        ]
        for bank in range(K):
            m.d.comb += [
                learning.w_pre[bank].read.data.eq(mems.w_pre[bank].read.data),
                learning.xbar[bank].data.eq(mems.xbar[bank].read.data),
                learning.zbar_prev[bank].data.eq(mems.zbar_prev[bank].read.data),
                learning.g[bank].data.eq(mems.g[bank].read.data),
            ]

        # the controller: each phase's engines start, and their end ends the phase -------------
        m.d.comb += [
            integrate.start.eq(ctrl.start_tick),
            feedback.start.eq(ctrl.start_tick),
            xbar_pass.start.eq(ctrl.start_tick),
            neuron.start.eq(ctrl.start_neuron),
            readout.start.eq(ctrl.start_readout),
            output.start.eq(ctrl.start_output),
            learning.start_hidden.eq(ctrl.start_learn_w),
            learning.start_readout.eq(ctrl.start_learn_out),
            ctrl.accumulate_done.eq(~(integrate.busy | feedback.busy | xbar_pass.busy)),
            ctrl.neuron_done.eq(~neuron.busy),
            ctrl.readout_done.eq(~readout.busy),
            ctrl.output_done.eq(~output.busy),
            ctrl.learn_w_done.eq(~(learning.hidden_busy | (learning.readout_busy if concurrent_readout else 0))),
            ctrl.learn_out_done.eq(~learning.readout_busy),
        ]
        with m.If(ctrl.finish):  # z(t) becomes the recurrent input of the next tick
            m.d.sync += z_prev.eq(z_new)

        def learn_readout_ports():
            """The memory ports of the readout update (its own: z-bar, Wout, and B if symmetric)."""
            m.d.comb += [
                *_read(mems.w_out, learning.w_out.read),
                *_write(mems.w_out, learning.w_out.write),
                readout_bar.read.addr.eq(learning.zbar.addr),
            ]
            if RULES[cfg.rule].symmetric_feedback:
                for bank in range(P):
                    m.d.comb += _write(mems.b_fb[bank], learning.b_fb[bank])

        # the memories' ports, given to the engines of the current phase -----------------------
        with m.Switch(ctrl.phase):
            with m.Case(Phase.ACCUMULATE):
                for bank in range(K):
                    m.d.comb += [
                        *_read(mems.w_pre[bank], integrate.weights[bank]),
                        *_read(mems.acc[bank], integrate.acc[bank].read),
                        *_write(mems.acc[bank], integrate.acc[bank].write),
                    ]
                for bank in range(P):
                    m.d.comb += mems.b_fb[bank].read.addr.eq(feedback.b_fb[bank].addr)
                for c in range(KF):
                    m.d.comb += [
                        *_read(mems.fb_acc[c], feedback.acc[c].read),
                        *_write(mems.fb_acc[c], feedback.acc[c].write),
                    ]
                # input traces, step 10: x_bar(t) from x(t); nonzero flags for learning
                m.d.comb += mems.xbar[0].read.addr.eq(xbar_pass.k)
                s1w = xbar_pass.s1_word
                x_word = x_bits.word_select(s1w, P)
                new_traces = [
                    trace_update(cfg, bar=mems.xbar[0].read.data[lane], spike=x_word[lane]) for lane in range(P)
                ]
                for copy in mems.xbar:
                    for lane in range(P):
                        m.d.comb += copy.write.data[lane].eq(new_traces[lane])
                    m.d.comb += [copy.write.addr.eq(s1w), copy.write.en.eq(xbar_pass.s1_valid)]
                with m.If(xbar_pass.s1_valid):
                    m.d.sync += xbar_nz.word_select(s1w, P).eq(Cat(t != 0 for t in new_traces))

            with m.Case(Phase.NEURON):
                state = (mems.u, mems.a, mems.ref, mems.v, mems.zbar, *mems.acc, *mems.fb_acc)
                if readout_trace:
                    state += (mems.zobar,)
                    m.d.comb += mems.zobar.write.data.eq(neuron.zobar_new)
                for memory in state:
                    m.d.comb += drive_address(memory.read.addr, neuron.rd_addr)
                m.d.comb += [
                    mems.u.write.data.eq(neuron.u_new),
                    mems.a.write.data.eq(neuron.a_new),
                    mems.ref.write.data.eq(neuron.ref_new),
                    mems.v.write.data.eq(neuron.v_new),
                    mems.zbar.write.data.eq(neuron.zbar_new),
                    *(acc.write.data.eq(0) for acc in (*mems.acc, *mems.fb_acc)),  # cleared
                    *(copy.write.data.eq(neuron.g_new) for copy in mems.g),
                    *(copy.write.data.eq(neuron.zbar_old) for copy in mems.zbar_prev),
                ]
                for memory in (*state, *mems.g, *mems.zbar_prev):
                    m.d.comb += [
                        *drive_address(memory.write.addr, neuron.wr_addr),
                        *drive_enable(memory.write.en, neuron.wr_en),
                    ]
                with m.If(neuron.wr_en):
                    ow = neuron.wr_addr
                    m.d.sync += [
                        z_new.word_select(ow, P).eq(neuron.z),
                        zprev_nz.word_select(ow, P).eq(neuron.zbar_old_nonzero),
                        zbar_nz.word_select(ow, P).eq(neuron.zbar_new_nonzero),
                    ]
                    if readout_trace:
                        m.d.sync += zobar_nz.word_select(ow, P).eq(neuron.zobar_new_nonzero)

            with m.Case(Phase.READOUT):
                m.d.comb += [
                    *_read(mems.w_out, readout.weights[0]),
                    *_read(mems.out_acc, readout.acc[0].read),
                    *_write(mems.out_acc, readout.acc[0].write),
                ]

            with m.Case(Phase.OUTPUT):
                for memory in (mems.y, mems.target, mems.out_acc):
                    m.d.comb += memory.read.addr.eq(output.rd_addr)
                m.d.comb += [mems.y.write.data.eq(output.y_new), mems.out_acc.write.data.eq(0)]
                for memory in (mems.y, mems.out_acc):
                    m.d.comb += [memory.write.addr.eq(output.wr_addr), memory.write.en.eq(output.wr_en)]
                with m.If(output.wr_en):
                    m.d.sync += e_flat.word_select(output.wr_addr, e_word_bits).eq(output.e)

            with m.Case(Phase.LEARN_W):
                if concurrent_readout:
                    learn_readout_ports()

            with m.Case(Phase.LEARN_OUT):
                learn_readout_ports()

        # the hidden rows learn from the end of NEURON (READOUT and OUTPUT use none of their
        # memories) until LEARN_W sees them done: their ports, in those phases only
        with m.If(
            learn & ((ctrl.phase == Phase.READOUT) | (ctrl.phase == Phase.OUTPUT) | (ctrl.phase == Phase.LEARN_W))
        ):
            for bank in range(K):
                m.d.comb += [
                    *_read(mems.xbar[bank], learning.xbar[bank]),
                    *_read(mems.zbar_prev[bank], learning.zbar_prev[bank]),
                    *_read(mems.w_pre[bank], learning.w_pre[bank].read),
                    *_write(mems.w_pre[bank], learning.w_pre[bank].write),
                    *_read(mems.g[bank], learning.g[bank]),
                ]
        return m
