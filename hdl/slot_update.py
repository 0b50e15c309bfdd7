"""Slot updater: on-chip learning of the sparse synapse table, with DEEP R rewiring.

The sparse form of :class:`~plasticore.hdl.update.RowUpdater` (docs/numerics.md, "Sparse
synapse table and rewiring", "Learning (step 9 on the table) and rewiring, in visit order").
For every row arriving on ``rows`` it updates the row's ``words_per_row`` slot words, each
slot with the dense update of the synapse it holds:

    S[l] <- sat_s(S[l] + sround(-g[c*P + l] * pre[row], shift), w_bits)

drawing once per lane per word from the lanes' LFSRs, as a dense row does. The factor ``g``
is one memory per lane, read at each slot's column.

Pipeline: stage 0 reads the slot word; stage 1 (its data back) reads g at each lane's column;
stage 2 (a cycle later) rounds, adds, saturates, writes and steps the LFSRs. With
``pipelined=True`` stage 2 only multiplies into registers and stage 3 does the rest. A row is
taken on the cycle the last word of the previous one is read, as in the dense updater.

With ``rewire``: a slot at 0 is dormant (not updated, its draw still consumed); a slot whose
result reaches zero or changes sign is pruned. The row is then finished before the next one is
taken: once its last word is written, each lane's pruned slots (lanes in increasing order,
slots in increasing word) are re-targeted one candidate per cycle: the lane's LFSR leaps
``max(1, column_bits)`` steps, ``c`` is the low ``column_bits`` bits, accepted iff it is a real
column of the lane that no other slot of the row and lane holds; the slot gets ``c`` and
``+-1`` of its old sign, written in the cycle it is accepted (one lane of the word).
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from plasticore.golden import lfsr as golden_lfsr

from .arith import saturate
from .update import MAX_SHIFT, RowUpdater, check_update_options, draw_mask, stochastic_round, weight_product

__all__ = ["SlotUpdater"]


def _lowest(bits: list):
    """Index of the lowest set bit of ``bits`` (0 when none): a priority encoder."""
    index = Const(0, range(max(len(bits), 2)))
    for i in reversed(range(len(bits))):
        index = Mux(bits[i], i, index)
    return index


class SlotUpdater(wiring.Component):
    """Updates slot rows in place, one word per cycle, and re-targets pruned slots (``rewire``).

    Parameters
    ----------
    n_rows : int
        Number of rows.
    words_per_row : int
        Slot words of a row (``Config.slot_words``).
    slot : StructLayout
        A slot: ``weight`` (signed ``weight_bits``) and ``column`` (unsigned ``column_bits``).
    columns : list of int
        Real columns of each lane (``plasticore.golden.synapses.lane_columns``).
    post_bits, gate_bits, pre_bits : int
        Widths of the post factor (g, or V when factored), its gate h (factored only, else 0)
        and the unsigned presynaptic factor.
    shift : int
        Reset value of the learning rate's shift (port ``shift``).
    multipliers : str
        How the products are built (``plasticore.golden.config.LEARN_MULTIPLIERS``).
    pipelined : bool
        Register the products (one more cycle per row pass).
    rewire : bool
        Prune and re-target slots (DEEP R).

    Members
    -------
    rows : In(stream.Signature(range(n_rows)))
        The rows to update.
    busy : Out(1)
        A row is being updated or re-targeted.
    pre_row, pre_read : Out(range(n_rows)), Out(1)
        The row just accepted, whose presynaptic factor is to be read.
    pre_value : In(unsigned(pre_bits))
        The presynaptic factor of ``pre_row``, a cycle after ``pre_read``.
    rd_en, rd_row, rd_word : Out(1), Out(range(n_rows)), Out(range(words_per_row))
        Stage 0: the slot word read.
    w_data : In(ArrayLayout(slot, lanes))
        The slot word read the cycle before.
    post_addr : Out(ArrayLayout(unsigned, lanes))
        Stage 1: each lane's address of g (the slot's column).
    post : In(ArrayLayout(post shape, lanes))
        The lanes' g read the cycle before.
    wr_en : Out(lanes)
        Write the lanes of slot word (``wr_row``, ``wr_word``) with ``wr_data``.
    wr_row, wr_word, wr_data : Out(...)
        The slot word written.
    draws : In(ArrayLayout(unsigned(32), lanes))
        The lanes' LFSR draws for the word being written.
    step : Out(1)
        Step the lanes' LFSRs (once per written word).
    leap : Out(lanes)
        (``rewire``) Leap one lane's LFSR (a rewiring candidate).
    leap_draws : In(ArrayLayout(unsigned(32), lanes))
        (``rewire``) The lanes' states after a leap.
    shift : In(range(MAX_SHIFT + 1))
        The learning rate's shift (a run-time register).
    """

    def __init__(
        self,
        *,
        n_rows: int,
        words_per_row: int,
        slot: data.StructLayout,
        columns: list[int],
        post_bits: int,
        pre_bits: int,
        shift: int,
        multipliers: str = "dsp",
        pipelined: bool = False,
        gate_bits: int = 0,
        rewire: bool = False,
    ):
        check_update_options(multipliers, gate_bits, shift)
        self.n_rows, self.words_per_row, self.columns = n_rows, words_per_row, list(columns)
        self.lanes = len(self.columns)
        self.slot = slot
        self.weight_bits = slot["weight"].shape.width
        self.column_bits = slot["column"].shape.width
        self.multipliers, self.pipelined, self.rewire = multipliers, pipelined, rewire
        self.product_bits = post_bits + gate_bits + pre_bits + 1
        self.words = max(self.columns)  # words of a lane's g memory (the columns of lane 0)
        P = self.lanes
        row = range(max(n_rows, 2))
        word_layout = data.ArrayLayout(slot, P)
        draws = data.ArrayLayout(unsigned(golden_lfsr.WIDTH), P)
        members = {
            "rows": In(stream.Signature(row)),
            "busy": Out(1),
            "pre_row": Out(row),
            "pre_read": Out(1),
            "pre_value": In(unsigned(pre_bits)),
            "rd_en": Out(1),
            "rd_row": Out(row),
            "rd_word": Out(range(max(words_per_row, 2))),
            "w_data": In(word_layout),
            "post_addr": Out(data.ArrayLayout(unsigned((max(self.words, 1) - 1).bit_length()), P)),
            "post": In(data.ArrayLayout(RowUpdater.post_shape(post_bits, gate_bits), P)),
            "wr_en": Out(P),
            "wr_row": Out(row),
            "wr_word": Out(range(max(words_per_row, 2))),
            "wr_data": Out(word_layout),
            "draws": In(draws),
            "step": Out(1),
            "shift": In(range(MAX_SHIFT + 1), init=shift),
        }
        if rewire:
            members.update({"leap": Out(P), "leap_draws": In(draws)})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        P, D = self.lanes, self.words_per_row
        last_word = D - 1

        active = Signal()  # issuing the words of ``row``
        draining = Signal()  # (rewire) waiting for the row's last word to be written
        rewiring = Signal()  # (rewire) re-targeting the row's pruned slots
        row = Signal.like(self.rd_row)
        word = Signal.like(self.rd_word)
        accepted = Signal()
        pre = Signal.like(self.pre_value)
        # (rewire) per lane: the row's slots pruned (one bit per word), their old signs, and
        # the columns held by the row's other slots
        dying = [Signal(D, name=f"dying{lane}") for lane in range(P)]
        negative = [Signal(D, name=f"negative{lane}") for lane in range(P)]
        used = [Signal(max(self.words, 1), name=f"used{lane}") for lane in range(P)]

        def take_row():
            m.d.comb += self.rows.ready.eq(1)
            with m.If(self.rows.valid):
                m.d.comb += [self.pre_row.eq(self.rows.payload), self.pre_read.eq(1)]
                m.d.sync += [row.eq(self.rows.payload), word.eq(0), active.eq(1), accepted.eq(1)]
                if self.rewire:
                    m.d.sync += [*(d.eq(0) for d in dying), *(u.eq(0) for u in used)]
            with m.Else():
                m.d.sync += active.eq(0)

        m.d.sync += accepted.eq(0)
        with m.If(accepted):
            m.d.sync += pre.eq(self.pre_value)

        # stage 0: read the slot word
        m.d.comb += [self.rd_row.eq(row), self.rd_word.eq(word)]
        s1_valid, s1_row, s1_word = Signal(), Signal.like(row), Signal.like(word)
        m.d.sync += s1_valid.eq(active)

        # stage 1: the slots are here; read g at each lane's column
        s2_valid, s2_row, s2_word = Signal(), Signal.like(row), Signal.like(word)
        s2_slots = Signal(data.ArrayLayout(self.slot, P))
        s2_real = Signal(P)
        # the row's presynaptic factor travels with its words: the next row's replaces ``pre``
        # while this row's last word is still in stage 2
        s2_pre = Signal.like(pre)
        m.d.sync += [
            s2_valid.eq(s1_valid),
            s2_row.eq(s1_row),
            s2_word.eq(s1_word),
            s2_slots.eq(self.w_data),
            s2_pre.eq(pre),
        ]
        for lane in range(P):
            m.d.comb += self.post_addr[lane].eq(self.w_data[lane].column)
            m.d.sync += s2_real[lane].eq(self.w_data[lane].column < self.columns[lane])

        # stage 2: products (a phantom slot's factor is 0); pipelined: registered, stage 3 on
        products = [
            Mux(s2_real[lane], weight_product(self.multipliers, self.post[lane], s2_pre), 0) for lane in range(P)
        ]
        if self.pipelined:
            out_valid, out_row, out_word = Signal(), Signal.like(row), Signal.like(word)
            out_slots = Signal.like(s2_slots)
            out_products = [Signal(signed(self.product_bits), name=f"product{lane}") for lane in range(P)]
            m.d.sync += [out_valid.eq(s2_valid), out_row.eq(s2_row), out_word.eq(s2_word), out_slots.eq(s2_slots)]
            m.d.sync += [reg.eq(p) for reg, p in zip(out_products, products, strict=True)]
        else:
            out_valid, out_row, out_word, out_slots, out_products = s2_valid, s2_row, s2_word, s2_slots, products
        pipeline_busy = s1_valid | s2_valid | out_valid

        with m.If(active):
            m.d.comb += self.rd_en.eq(1)
            m.d.sync += [s1_row.eq(row), s1_word.eq(word)]
            with m.If(word == last_word):
                if self.rewire:
                    m.d.sync += [active.eq(0), draining.eq(1)]
                else:
                    take_row()
            with m.Else():
                m.d.sync += word.eq(word + 1)
        if self.rewire:
            with m.Elif(draining):
                with m.If(~pipeline_busy):
                    m.d.sync += draining.eq(0)
                    with m.If(Cat(*dying).any()):
                        m.d.sync += rewiring.eq(1)
                    with m.Else():
                        take_row()
            with m.Elif(rewiring):
                self._rewire(m, row, dying, negative, used, rewiring, take_row)
        with m.Else():
            take_row()

        # the write stage: round, add, saturate; (rewire) prune
        mask = draw_mask(m, self.shift)
        with m.If(out_valid):
            m.d.comb += [
                self.wr_en.eq((1 << P) - 1),
                self.wr_row.eq(out_row),
                self.wr_word.eq(out_word),
                self.step.eq(1),
            ]
            for lane in range(P):
                old = out_slots[lane]
                rounded = stochastic_round(out_products[lane], self.draws[lane], mask, self.shift)
                summed = saturate(old.weight + rounded, self.weight_bits)
                m.d.comb += self.wr_data[lane].column.eq(old.column)
                if not self.rewire:
                    m.d.comb += self.wr_data[lane].weight.eq(summed)
                    continue
                new = Mux(old.weight == 0, 0, summed)  # a dormant slot stays at 0
                m.d.comb += self.wr_data[lane].weight.eq(new)
                new_weight = self.wr_data[lane].weight
                dies = (old.weight != 0) & Mux(old.weight < 0, new_weight >= 0, new_weight <= 0)
                m.d.sync += [
                    dying[lane].bit_select(out_word, 1).eq(dies),
                    negative[lane].bit_select(out_word, 1).eq(old.weight < 0),
                ]
                with m.If(~dies):
                    m.d.sync += used[lane].bit_select(old.column, 1).eq(1)

        m.d.comb += self.busy.eq(active | draining | rewiring | pipeline_busy)
        return m

    def _rewire(self, m: Module, row, dying, negative, used, rewiring, take_row) -> None:
        """One rewiring candidate per cycle: the lowest lane with a pruned slot, its lowest word."""
        P = self.lanes
        lane = Signal(range(max(P, 2)))
        m.d.comb += lane.eq(_lowest([bits.any() for bits in dying]))
        lane_dying = Array(dying)[lane]
        d = Signal(range(max(self.words_per_row, 2)))
        m.d.comb += d.eq(_lowest([lane_dying[i] for i in range(self.words_per_row)]))
        m.d.comb += self.leap.eq(Const(1, P) << lane)
        candidate = Signal(max(self.column_bits, 1))
        if self.column_bits:
            m.d.comb += candidate.eq(Array(self.leap_draws[i] for i in range(P))[lane][: self.column_bits])
        real = candidate < Array(Const(n, range(max(self.columns) + 1)) for n in self.columns)[lane]
        held = Array(used)[lane].bit_select(candidate, 1)
        accept = real & ~held
        with m.If(accept):
            m.d.comb += [self.wr_en.eq(Const(1, P) << lane), self.wr_row.eq(row), self.wr_word.eq(d)]
            for i in range(P):
                m.d.comb += [
                    self.wr_data[i].column.eq(candidate),
                    self.wr_data[i].weight.eq(Mux(negative[i].bit_select(d, 1), -1, 1)),
                ]
            every = Cat(*dying)
            with m.Switch(lane):
                for i in range(P):
                    with m.Case(i):
                        m.d.sync += [dying[i].bit_select(d, 1).eq(0), used[i].bit_select(candidate, 1).eq(1)]
            with m.If((every & (every - 1)) == 0):  # that was the last one
                m.d.sync += rewiring.eq(0)
                take_row()
