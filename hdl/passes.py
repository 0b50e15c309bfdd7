"""Word passes: the phases of a tick that visit every word of a memory once, in order.

:class:`WordPass` is the sequencer every pass shares (read word ``k``, compute and write it a
cycle or two later); :class:`NeuronPass` and :class:`OutputPass` add the per-lane arithmetic of
``plasticore.hdl.lanes`` for the NEURON and OUTPUT phases (docs/numerics.md, steps 1-7 and 10,
and step 6). They only compute: the core routes their addresses and data to its memories
while their phase runs (``plasticore.hdl.core``).
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from plasticore.contract.geometry import Geometry
from plasticore.golden.config import Config
from plasticore.golden.registers import register_ranges

from .lanes import (
    neuron_update,
    pseudo_derivative,
    readout_error,
    readout_update,
    regularized_signal,
    trace_update,
)
from .update import RowUpdater

__all__ = ["WordPass", "NeuronPass", "OutputPass", "split_index", "lanes_of", "post_factor_layout"]


def lanes_of(lanes: int, bits: int, is_signed: bool = True) -> data.ArrayLayout:
    """The layout of a memory word: ``lanes`` integers of ``bits`` bits."""
    return data.ArrayLayout(signed(bits) if is_signed else unsigned(bits), lanes)


def post_factor_layout(cfg: Config) -> data.ArrayLayout:
    """The layout of a word of the learning factor g = V*h (with factored update products, g
    is kept as its two factors V and h)."""
    if cfg.learn_multipliers == "factored":
        post_bits, gate_bits = cfg.v_bits, cfg.h_bits
    else:
        post_bits, gate_bits = cfg.g_bits, 0
    return data.ArrayLayout(RowUpdater.post_shape(post_bits, gate_bits), cfg.lanes)


def split_index(index, divisor: int, n: int):
    """``(index // divisor, index % divisor)`` for ``0 <= index < n``: a shift and a mask when
    the divisor is a power of two, else two small constant tables."""
    if divisor & (divisor - 1) == 0:
        shift = divisor.bit_length() - 1
        return index >> shift, index & (divisor - 1)
    n = max(n, 1)
    quotients = Array(Const(i // divisor, range(max(n // divisor + 1, 2))) for i in range(n))
    remainders = Array(Const(i % divisor, range(max(divisor, 2))) for i in range(n))
    return quotients[index], remainders[index]


class WordPass(wiring.Component):
    """A pass over ``n`` words, one per cycle.

    Stage 0 reads word ``k``; stage 1, a cycle later (when block RAM answers), computes and
    writes word ``s1_word``. With ``stages=2`` (``Config.pipelined``) stage 1 computes the first
    half of the arithmetic into registers and stage 2, another cycle later, the rest and the
    write; ``out_valid`` and ``out_word`` name the writing stage either way.

    Parameters
    ----------
    n : int
        Number of words.
    stages : int
        Stages after the read: 1, or 2 when the computation is split by a register.

    Members
    -------
    start : In(1)
        Begin the pass (word 0 is read on the next cycle).
    k : Out(range(n))
        The word read in stage 0.
    active : Out(1)
        Stage 0 holds a word.
    s1_valid : Out(1)
        Stage 1 holds a word.
    s1_word : Out(range(n))
        The word in stage 1.
    out_valid : Out(1)
        The writing stage holds a word.
    out_word : Out(range(n))
        The word in the writing stage.
    busy : Out(1)
        Some stage holds a word; the pass is finished when it is low.
    """

    def __init__(self, n: int, stages: int = 1):
        assert stages in (1, 2)
        self.n = n
        self.stages = stages
        word = range(max(n, 2))
        super().__init__(
            {
                "start": In(1),
                "k": Out(word),
                "active": Out(1),
                "s1_valid": Out(1),
                "s1_word": Out(word),
                "out_valid": Out(1),
                "out_word": Out(word),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.s1_valid.eq(self.active)
        with m.If(self.active):
            m.d.sync += [self.s1_word.eq(self.k), self.k.eq(self.k + 1)]
            with m.If(self.k == self.n - 1):
                m.d.sync += self.active.eq(0)
        with m.If(self.start):
            m.d.sync += [self.k.eq(0), self.active.eq(1)]
        if self.stages == 2:
            m.d.sync += [self.out_valid.eq(self.s1_valid), self.out_word.eq(self.s1_word)]
            m.d.comb += self.busy.eq(self.active | self.s1_valid | self.out_valid)
        else:
            m.d.comb += [
                self.out_valid.eq(self.s1_valid),
                self.out_word.eq(self.s1_word),
                self.busy.eq(self.active | self.s1_valid),
            ]
        return m


class _Staging:
    """Naming of a pass's intermediate values (see :meth:`named`, :meth:`stage_register`)."""

    def __init__(self, m: Module, *, as_signals: bool, pipelined: bool):
        self.m, self.as_signals, self.pipelined = m, as_signals, pipelined

    def named(self, name, shape, value):
        """``value`` as a signal of its own (exactly: ``shape`` holds every value it takes),
        with more than one weight bank: there the neuron pass's results feed K copies of g and
        K partial sums feed it, and as expressions they would be repeated at every use (a much
        larger Verilog). With one bank the expressions stay: yosys packs them better into the
        iCE40."""
        if not self.as_signals:
            return value
        sig = Signal(shape, name=name)
        self.m.d.comb += sig.eq(value)
        return sig

    def stage_register(self, name, shape, value):
        """``value`` of a pass's stage 1 as its stage 2 sees it: a register when the passes
        have two stages (``Config.pipelined``), else the value itself (:meth:`named`)."""
        if not self.pipelined:
            return self.named(name, shape, value)
        reg = Signal(shape, name=name)
        self.m.d.sync += reg.eq(value)
        return reg


class NeuronPass(wiring.Component):
    """The NEURON phase: one pass over the neuron words (docs/numerics.md, steps 1-5, 7, 10).

    For each word it reads U, a, r, V, z-bar and the partial sums of the synaptic and feedback
    accumulators, and computes the new U, a, r, V, the spikes z(t), the pseudo-derivative h and
    the learning factor g = V*h, and the advanced z-bar (its old value is kept for learning);
    the accumulators are cleared by the core. The banks' partial sums are added exactly (the
    totals fit the accumulator widths by construction).

    Parameters
    ----------
    cfg : Config
        The core's configuration: ``cfg.weight_banks`` synaptic and ``cfg.feedback_banks``
        feedback accumulators hold partial sums of each word.

    Members
    -------
    start, busy : In(1), Out(1)
        Begin the pass; a word is in flight.
    rd_addr : Out(range(words))
        The word whose state is read (stage 0).
    u, a, ref, v, zbar : In(lanes)
        The read state of the word (stage 1).
    acc : In(lanes).array(weight_banks)
        The synaptic accumulators' partial sums of the word.
    fb : In(lanes).array(feedback_banks)
        The feedback accumulators' partial sums of the word.
    z_prev : In(n_rec_padded)
        The spikes z(t-1) of every neuron.
    s1_word : Out(range(words))
        The word in the computing stage (to address the word's z(t-1) bits).
    wr_en, wr_addr : Out(1), Out(range(words))
        Write-back of the new state of word ``wr_addr``.
    u_new, a_new, ref_new, v_new, zbar_new : Out(lanes)
        The word's new state.
    zbar_old : Out(lanes)
        The word's z-bar(t-1), for learning.
    g_new : Out(lanes)
        The word's learning factor g = V*h (or its factors V and h), zero off the neurons; with
        ``cfg.rate_target`` V is the regularized signal V' (:func:`.lanes.regularized_signal`).
    z, zbar_old_nonzero, zbar_new_nonzero : Out(lanes)
        Per-lane bits of the word: its spikes, and which traces are nonzero.
    zobar, zobar_new, zobar_new_nonzero : In(lanes), Out(lanes), Out(lanes)
        With ``cfg.tau_readout_trace`` only: the readout's own trace z~ of the word (read, new,
        and which new ones are nonzero), decayed by ``readout_trace_q``.
    threshold : In(range(max threshold + 1))
        The base threshold theta (a run-time register; reset value ``cfg.threshold``).
    """

    def __init__(self, cfg: Config):
        self.cfg = cfg
        geom = Geometry(cfg)
        self.n_words = geom.words_rec
        P = cfg.lanes
        word = range(max(self.n_words, 2))
        trace = lanes_of(P, cfg.trace_bits, False)
        super().__init__(
            {
                "start": In(1),
                "busy": Out(1),
                "rd_addr": Out(word),
                "u": In(lanes_of(P, cfg.u_bits)),
                "a": In(lanes_of(P, cfg.a_bits, False)),
                "ref": In(lanes_of(P, cfg.ref_bits, False)),
                "v": In(lanes_of(P, cfg.v_bits)),
                "zbar": In(trace),
                "acc": In(lanes_of(P, cfg.in_acc_bits)).array(cfg.weight_banks),
                "fb": In(lanes_of(P, cfg.fb_acc_bits)).array(cfg.feedback_banks),
                "z_prev": In(geom.n_rec_padded),
                "s1_word": Out(word),
                "wr_en": Out(1),
                "wr_addr": Out(word),
                "u_new": Out(lanes_of(P, cfg.u_bits)),
                "a_new": Out(lanes_of(P, cfg.a_bits, False)),
                "ref_new": Out(lanes_of(P, cfg.ref_bits, False)),
                "v_new": Out(lanes_of(P, cfg.v_bits)),
                "zbar_new": Out(trace),
                "zbar_old": Out(trace),
                "g_new": Out(post_factor_layout(cfg)),
                "z": Out(P),
                "zbar_old_nonzero": Out(P),
                "zbar_new_nonzero": Out(P),
                "threshold": In(range(register_ranges(cfg)["threshold"][1] + 1), init=cfg.threshold),
                **(
                    {"zobar": In(trace), "zobar_new": Out(trace), "zobar_new_nonzero": Out(P)}
                    if cfg.readout_trace_q is not None
                    else {}
                ),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg, P = self.cfg, self.cfg.lanes
        m.submodules.words = words = WordPass(self.n_words, cfg.compute_stages)
        m.d.comb += [
            words.start.eq(self.start),
            self.busy.eq(words.busy),
            self.rd_addr.eq(words.k),
            self.s1_word.eq(words.s1_word),
            self.wr_en.eq(words.out_valid),
            self.wr_addr.eq(words.out_word),
        ]
        staging = _Staging(m, as_signals=cfg.weight_banks > 1, pipelined=cfg.pipelined)
        named, stage_register = staging.named, staging.stage_register
        factored = cfg.learn_multipliers == "factored"
        s1w, ow = words.s1_word, words.out_word  # compute (first half), write
        z_prev_word = self.z_prev.word_select(s1w, P)
        for lane in range(P):
            j = s1w * P + lane
            # the banks' partial sums, added into signals: exact and leaves of the arithmetic
            # below, which would otherwise repeat the whole sum wherever it uses its input
            acc_sum = named(f"acc_sum{lane}", signed(cfg.in_acc_bits), sum(acc[lane] for acc in self.acc))
            fb_sum = named(f"fb_sum{lane}", signed(cfg.fb_acc_bits), sum(fb[lane] for fb in self.fb))
            out = neuron_update(
                cfg,
                acc=acc_sum,
                fb=fb_sum,
                u=self.u[lane],
                a=self.a[lane],
                ref=self.ref[lane],
                v=self.v[lane],
                z_prev=z_prev_word[lane],
                is_alif=(j >= cfg.n_lif),
                is_real=(j < cfg.n_rec),
                threshold=self.threshold,
            )
            # the lane's results as signals (each is used several times below, and g by every
            # bank's copy), or, with two stages, registers: stage 2 derives h, g and the trace
            u_new = stage_register(f"u_new{lane}", signed(cfg.u_bits), out.u)
            a_new = stage_register(f"a_new{lane}", unsigned(cfg.a_bits), out.a)
            v_new = stage_register(f"v_new{lane}", signed(cfg.v_bits), out.v)
            z = stage_register(f"z_new{lane}", 1, out.z)
            ref_new = stage_register(f"ref_new{lane}", unsigned(cfg.ref_bits), out.ref)
            ready = stage_register(f"ready{lane}", 1, self.ref[lane] == 0)
            old_bar = stage_register(f"zbar_old{lane}", unsigned(cfg.trace_bits), self.zbar[lane])
            h = named(
                f"h{lane}",
                unsigned(cfg.h_bits),
                pseudo_derivative(cfg, u=u_new, threshold=self.threshold + a_new, ready=ready),
            )
            is_neuron = ow * P + lane < cfg.n_rec
            # the learning signal g is formed with: V, or with rate regularization V' from the
            # trace z_bar(t-1) this pass reads anyway (golden's tr_prev), in the same cycle
            v_learn = v_new
            if cfg.rate_target is not None:
                v_learn = named(f"v_learn{lane}", signed(cfg.v_bits), regularized_signal(cfg, v=v_new, z_bar=old_bar))
            if factored:  # g = V * h, kept as its factors (h = 0 off the neurons)
                m.d.comb += [self.g_new[lane].value.eq(v_learn), self.g_new[lane].gate.eq(Mux(is_neuron, h, 0))]
            else:
                g_new = named(f"g_new{lane}", signed(cfg.g_bits), Mux(is_neuron, v_learn * h, 0))
                m.d.comb += self.g_new[lane].eq(g_new)
            new_bar = named(f"zbar_new{lane}", unsigned(cfg.trace_bits), trace_update(cfg, bar=old_bar, spike=z))
            m.d.comb += [
                self.u_new[lane].eq(u_new),
                self.a_new[lane].eq(a_new),
                self.ref_new[lane].eq(ref_new),
                self.v_new[lane].eq(v_new),
                self.zbar_new[lane].eq(new_bar),
                self.zbar_old[lane].eq(old_bar),
                self.z[lane].eq(z),
                self.zbar_old_nonzero[lane].eq(old_bar != 0),
                self.zbar_new_nonzero[lane].eq(new_bar != 0),
            ]
            if cfg.readout_trace_q is not None:
                old_readout_bar = stage_register(f"zobar_old{lane}", unsigned(cfg.trace_bits), self.zobar[lane])
                new_readout_bar = named(
                    f"zobar_new{lane}",
                    unsigned(cfg.trace_bits),
                    trace_update(cfg, bar=old_readout_bar, spike=z, q=cfg.readout_trace_q),
                )
                m.d.comb += [
                    self.zobar_new[lane].eq(new_readout_bar),
                    self.zobar_new_nonzero[lane].eq(new_readout_bar != 0),
                ]
        return m


class OutputPass(wiring.Component):
    """The OUTPUT phase: one pass over the readout words (docs/numerics.md, step 6).

    For each word it reads Y, the target and the readout accumulator, and computes the new Y
    and the error e(t) (zero where the target is not valid or past the last readout); the
    accumulator is cleared by the core.

    Parameters
    ----------
    cfg : Config
        The core's configuration.

    Members
    -------
    start, busy : In(1), Out(1)
        Begin the pass; a word is in flight.
    valid : In(1)
        The targets of this tick are valid.
    rd_addr : Out(range(words))
        The word read (stage 0).
    y, target, out_acc : In(lanes)
        The read word (stage 1).
    wr_en, wr_addr : Out(1), Out(range(words))
        Write-back of word ``wr_addr``.
    y_new : Out(lanes)
        The word's new Y.
    e : Out(lanes)
        The word's errors.
    """

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.n_words = Geometry(cfg).words_out
        P = cfg.lanes
        word = range(max(self.n_words, 2))
        super().__init__(
            {
                "start": In(1),
                "busy": Out(1),
                "valid": In(1),
                "rd_addr": Out(word),
                "y": In(lanes_of(P, cfg.y_bits)),
                "target": In(lanes_of(P, cfg.y_bits)),
                "out_acc": In(lanes_of(P, cfg.out_acc_bits)),
                "wr_en": Out(1),
                "wr_addr": Out(word),
                "y_new": Out(lanes_of(P, cfg.y_bits)),
                "e": Out(lanes_of(P, cfg.e_bits)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg, P = self.cfg, self.cfg.lanes
        m.submodules.words = words = WordPass(self.n_words, cfg.compute_stages)
        m.d.comb += [
            words.start.eq(self.start),
            self.busy.eq(words.busy),
            self.rd_addr.eq(words.k),
            self.wr_en.eq(words.out_valid),
            self.wr_addr.eq(words.out_word),
        ]
        stage_register = _Staging(m, as_signals=cfg.weight_banks > 1, pipelined=cfg.pipelined).stage_register
        s1w = words.s1_word
        for lane in range(P):
            y_new = stage_register(
                f"y_new{lane}", signed(cfg.y_bits), readout_update(cfg, y=self.y[lane], out_acc=self.out_acc[lane])
            )
            target = stage_register(f"target{lane}", signed(cfg.y_bits), self.target[lane])
            counts = stage_register(f"e_counts{lane}", 1, self.valid & (s1w * P + lane < cfg.n_out))
            m.d.comb += [
                self.y_new[lane].eq(y_new),
                self.e[lane].eq(readout_error(cfg, y_new=y_new, target=target, counts=counts)),
            ]
        return m
