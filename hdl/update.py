"""Row updater: the read-modify-write engine of on-chip learning, one weight word per cycle.

For every row index arriving on ``rows`` (a presynaptic unit whose factor ``pre`` is nonzero),
it updates the row's ``words_per_row`` weight words, lane by lane (docs/numerics.md,
"Learning", steps 9 and 11):

    W[row][w][l] <- sat_s(W[row][w][l] + sround(-post[w][l] * pre[row], shift), w_bits)

``post`` is the per-lane postsynaptic factor (``g = V*h`` of the neurons of word ``w``, or the
errors ``e`` of the outputs of word ``w``; with ``multipliers="factored"`` V and h separately,
``gate`` being h, and the product is taken as ``V * (h * pre)``: the same integer, with the
small ``h * pre`` built from adders and ``V * (h * pre)`` narrow enough for one hard
multiplier); ``sround`` rounds stochastically with one draw per
lane per word from the lanes' Galois LFSRs, which step exactly once per word (the draw order of
``plasticore.golden.learning.draw_matrix``).

Timing is the row accumulator's (``plasticore.hdl.accumulate``), so the same cycle model covers both: a
row is accepted when the engine is idle or on the cycle it issues its current row's last word;
stage 0 issues the word's reads, stage 1 (a cycle later) computes and writes. The row's
``pre`` value is read when the row is accepted (its memory answers a cycle later, when the
row's first word is in stage 0) and held for stage 1. Stage 1 writes the word stage 0 read the
cycle before; rows are distinct within a phase, so no read ever sees a stale word.

With ``pipelined=True`` stage 1 only multiplies, into registers, and stage 2 (a cycle later
still) rounds, adds, saturates, writes and steps the LFSRs: one more cycle after the last row,
and a shorter path. The write is then two cycles behind its read, still of a distinct row.
"""

from __future__ import annotations

from amaranth.hdl import Assert, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from plasticore.golden import lfsr as golden_lfsr
from plasticore.golden.config import LEARN_MULTIPLIERS
from plasticore.golden.numerics import signed_range

from .arith import multiply_by_bits, saturate

__all__ = ["RowUpdater", "MAX_SHIFT", "weight_product", "check_update_options", "draw_mask", "stochastic_round"]

#: the largest learning-rate shift: stochastic rounding adds the low ``shift`` bits of a draw
MAX_SHIFT = golden_lfsr.WIDTH


def check_update_options(multipliers: str, gate_bits: int, shift: int) -> None:
    """Refuse an updater's options that do not go together: unknown ``multipliers``, a gate
    without factored products (or the reverse), a shift outside ``0 .. MAX_SHIFT``."""
    if multipliers not in LEARN_MULTIPLIERS:
        raise ValueError(f"multipliers: {multipliers!r} is not one of {LEARN_MULTIPLIERS}")
    if (multipliers == "factored") != (gate_bits > 0):
        raise ValueError(
            f"multipliers {multipliers!r} with gate_bits {gate_bits}: the factored "
            f"products, and only they, take the post factor's gate"
        )
    if not 0 <= shift <= MAX_SHIFT:
        raise ValueError(f"shift: {shift!r} is outside the allowed range 0..{MAX_SHIFT}")


def draw_mask(m: Module, shift) -> Signal:
    """The low ``shift`` bits of an LFSR draw as a mask: the shift is a run-time register, so
    the mask is decoded from it."""
    mask = Signal(golden_lfsr.WIDTH)
    m.d.comb += mask.eq((Const(1, golden_lfsr.WIDTH + 1) << shift) - 1)
    return mask


def stochastic_round(product, draw, mask, shift):
    """``sround(product, shift)`` of docs/numerics.md: add the draw's low ``shift`` bits
    (``mask``, :func:`draw_mask`), then shift right (floor)."""
    return (product + (draw & mask)) >> shift


def weight_product(multipliers: str, post, pre):
    """The update's product ``-(post * pre)`` of one lane, built as ``multipliers`` says
    (``post``: the signed factor, or with ``"factored"`` the struct of value and gate)."""
    if multipliers == "logic":
        return -multiply_by_bits(post, pre)
    if multipliers == "factored":
        # h * e_bar < 2**(gate_bits + pre_bits): the adder tree's carry bits are zero
        gated_pre = multiply_by_bits(pre, post.gate)[: len(pre) + len(post.gate)]
        return -(post.value * gated_pre)
    return -(post * pre)


class RowUpdater(wiring.Component):
    """Updates weight rows in place, one word per cycle, with stochastic rounding.

    Parameters
    ----------
    n_rows : int
        Number of rows.
    words_per_row : int
        Words of a row.
    lanes : int
        Lanes of a word.
    weight_bits : int
        Width of a weight lane.
    post_bits : int
        Width of the signed postsynaptic factor (g, or V when factored; or e).
    pre_bits : int
        Width of the unsigned presynaptic factor (a trace).
    shift : int
        The reset value of the learning rate's shift (port ``shift``): the product is divided
        by ``2**shift``, rounded stochastically.
    multipliers : str
        How the products are built (one of ``plasticore.golden.config.LEARN_MULTIPLIERS``).
    pipelined : bool
        Register the products (one more cycle per row pass, a shorter path).
    gate_bits : int
        Width of the unsigned gate h of a factored post factor (``multipliers="factored"``
        only), else 0.
    formal : bool
        Add the formal property (docs/reliability.md, "Formal"): every written weight is the
        exact sum clamped to ``weight_bits`` (saturates, never wraps).

    Members
    -------
    rows : In(stream.Signature(range(n_rows)))
        The rows to update.
    busy : Out(1)
        A row is being updated.
    pre_row, pre_read : Out(range(n_rows)), Out(1)
        The row just accepted, whose presynaptic factor is to be read.
    pre_value : In(unsigned(pre_bits))
        The presynaptic factor of ``pre_row``, a cycle after ``pre_read``.
    rd_en, rd_row, rd_word : Out(1), Out(range(n_rows)), Out(range(words_per_row))
        Stage 0: the weight word and post-factor word read.
    w_data : In(ArrayLayout(signed(weight_bits), lanes))
        The weight word read the cycle before.
    post : In(ArrayLayout(post_shape(post_bits, gate_bits), lanes))
        The post-factor word read the cycle before.
    wr_en, wr_row, wr_word, wr_data : Out(1), Out(...), Out(...), Out(...)
        Write-back of the updated weight word.
    draws : In(ArrayLayout(unsigned(32), lanes))
        The lanes' LFSR draws for the word being written.
    step : Out(1)
        Step the lanes' LFSRs (once per written word).
    shift : In(range(MAX_SHIFT + 1))
        The learning rate's shift, a run-time register (``plasticore.golden.registers``); read
        when a word is rounded, so it must not change during a learning phase.
    """

    def __init__(
        self,
        *,
        n_rows: int,
        words_per_row: int,
        lanes: int,
        weight_bits: int,
        post_bits: int,
        pre_bits: int,
        shift: int,
        multipliers: str = "dsp",
        pipelined: bool = False,
        gate_bits: int = 0,
        formal: bool = False,
    ):
        check_update_options(multipliers, gate_bits, shift)
        self.multipliers = multipliers
        self.pipelined = pipelined
        self.formal = formal
        # -(post * pre) (times the gate): signed times unsigned, negated
        self.product_bits = post_bits + gate_bits + pre_bits + 1
        self.n_rows = n_rows
        self.words_per_row = words_per_row
        self.lanes = lanes
        self.weight_bits = weight_bits
        self.weight_layout = data.ArrayLayout(signed(weight_bits), lanes)
        self.post_layout = data.ArrayLayout(self.post_shape(post_bits, gate_bits), lanes)
        self.draws_layout = data.ArrayLayout(unsigned(golden_lfsr.WIDTH), lanes)
        word = range(max(words_per_row, 2))
        row = range(max(n_rows, 2))
        super().__init__(
            {
                "rows": In(stream.Signature(row)),
                "busy": Out(1),
                # the presynaptic factor of the accepted row: address now, value next cycle
                "pre_row": Out(row),
                "pre_read": Out(1),
                "pre_value": In(unsigned(pre_bits)),
                # stage 0: weight and post-factor reads of (rd_row, rd_word)
                "rd_en": Out(1),
                "rd_row": Out(row),
                "rd_word": Out(word),
                # stage 1: data of the word read in stage 0, and its write-back
                "w_data": In(self.weight_layout),
                "post": In(self.post_layout),
                "wr_en": Out(1),
                "wr_row": Out(row),
                "wr_word": Out(word),
                "wr_data": Out(self.weight_layout),
                # the lanes' LFSRs: step once per written word, the draw is the stepped state
                "draws": In(self.draws_layout),
                "step": Out(1),
                "shift": In(range(MAX_SHIFT + 1), init=shift),
            }
        )

    @staticmethod
    def post_shape(post_bits: int, gate_bits: int = 0):
        """One lane's postsynaptic factor: a signed value, or (factored products) the signed
        value and its unsigned gate, whose product is the factor. The memory that holds the
        factors for the updater has this shape per lane."""
        if not gate_bits:
            return signed(post_bits)
        return data.StructLayout({"value": signed(post_bits), "gate": unsigned(gate_bits)})

    def elaborate(self, platform):
        m = Module()
        last_word = self.words_per_row - 1

        active = Signal()
        row = Signal.like(self.rd_row)
        word = Signal.like(self.rd_word)
        accepted = Signal()  # a row was accepted last cycle: its pre value is on pre_value
        pre = Signal.like(self.pre_value)

        def take_row():
            m.d.comb += self.rows.ready.eq(1)
            with m.If(self.rows.valid):
                m.d.comb += [self.pre_row.eq(self.rows.payload), self.pre_read.eq(1)]
                m.d.sync += [row.eq(self.rows.payload), word.eq(0), active.eq(1), accepted.eq(1)]
            with m.Else():
                m.d.sync += active.eq(0)

        m.d.sync += accepted.eq(0)
        with m.If(accepted):
            m.d.sync += pre.eq(self.pre_value)

        # stage 0
        m.d.comb += [self.rd_row.eq(row), self.rd_word.eq(word)]
        s1_valid = Signal()
        s1_row = Signal.like(row)
        s1_word = Signal.like(word)
        m.d.sync += s1_valid.eq(active)
        with m.If(active):
            m.d.comb += self.rd_en.eq(1)
            m.d.sync += [s1_row.eq(row), s1_word.eq(word)]
            with m.If(word == last_word):
                take_row()
            with m.Else():
                m.d.sync += word.eq(word + 1)
        with m.Else():
            take_row()

        # stage 1: p = -post * pre; W + sround(p, shift), saturated (pipelined: the products
        # and the read weights go into registers, and stage 2 does the rest and the write)
        if self.pipelined:
            out_valid, out_row, out_word = Signal(), Signal.like(row), Signal.like(word)
            m.d.sync += [out_valid.eq(s1_valid), out_row.eq(s1_row), out_word.eq(s1_word)]
        else:
            out_valid, out_row, out_word = s1_valid, s1_row, s1_word
        mask = draw_mask(m, self.shift)
        m.d.comb += [
            self.wr_en.eq(out_valid),
            self.wr_row.eq(out_row),
            self.wr_word.eq(out_word),
            self.step.eq(out_valid),
        ]
        for lane in range(self.lanes):
            product = weight_product(self.multipliers, self.post[lane], pre)
            weight = self.w_data[lane]
            if self.pipelined:
                product_s2 = Signal(signed(self.product_bits), name=f"product{lane}")
                weight_s2 = Signal.like(weight, name=f"weight{lane}")
                m.d.sync += [product_s2.eq(product), weight_s2.eq(weight)]
                product, weight = product_s2, weight_s2
            rounded = stochastic_round(product, self.draws[lane], mask, self.shift)
            m.d.comb += self.wr_data[lane].eq(saturate(weight + rounded, self.weight_bits))
            if self.formal:
                exact, lo, hi = weight + rounded, *signed_range(self.weight_bits)
                written = self.wr_data[lane]
                m.d.comb += Assert(Mux(exact > hi, written == hi, Mux(exact < lo, written == lo, written == exact)))

        m.d.comb += self.busy.eq(active | s1_valid | out_valid)
        return m
