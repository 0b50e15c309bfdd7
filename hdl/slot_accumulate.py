"""Slot accumulator: adds the sparse synapse table's rows into per-lane accumulators.

The sparse form of :class:`~plasticore.hdl.accumulate.RowAccumulator` (docs/numerics.md,
"Sparse synapse table and rewiring"). A row is ``words_per_row`` words of P slots; slot ``l``
of a word holds a column ``c`` and a weight, and adds the weight into lane ``l``'s accumulator
at address ``c`` (neuron ``c*P + l``). Each lane's accumulator is a memory of its own, so the P
slots of a word are added in one cycle with no write conflict.

Pipeline: stage 0 reads the slot word; stage 1 (its data back) reads each lane's accumulator
at the slot's column; stage 2 adds and writes back. One stage more than the dense engine,
because an accumulator address is known only when the slot word is. The accumulators' reads
are transparent for their writes, so the read of stage 1 sees the sum stage 2 writes in the
same cycle (two consecutive rows may hit one column; one row never hits a column twice).
A slot whose neuron is past the last (``c >= columns[l]``: a phantom) adds nothing.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SlotAccumulator"]


class SlotAccumulator(wiring.Component):
    """Adds slot rows, one word per cycle, into one accumulator memory per lane.

    Parameters
    ----------
    n_rows : int
        Number of rows.
    words_per_row : int
        Slot words of a row (``Config.slot_words``).
    slot : StructLayout
        A slot: ``weight`` (signed) and ``column`` (unsigned).
    columns : list of int
        Real columns of each lane (``plasticore.golden.synapses.lane_columns``); the
        accumulator of lane ``l`` has ``max(columns)`` words.
    acc_bits : int
        Width of an accumulator lane.

    Members
    -------
    rows : In(stream.Signature(range(n_rows)))
        The rows to add.
    busy : Out(1)
        A row is being added.
    rd_en, rd_row, rd_word : Out(1), Out(range(n_rows)), Out(range(words_per_row))
        Stage 0: the slot word read (the owner maps it to a memory and an address).
    w_data : In(ArrayLayout(slot, lanes))
        The slot word read the cycle before.
    acc_rd_addr : Out(ArrayLayout(unsigned, lanes))
        Stage 1: each lane's accumulator address (the slot's column).
    acc_rd_data : In(ArrayLayout(signed(acc_bits), lanes))
        The accumulator words read the cycle before.
    acc_wr_en, acc_wr_addr, acc_wr_data : Out(lanes), Out(...), Out(...)
        Stage 2: write-back of the lanes' sums (a phantom slot's lane is not written).
    """

    def __init__(self, *, n_rows: int, words_per_row: int, slot: data.StructLayout, columns: list[int], acc_bits: int):
        self.n_rows, self.words_per_row, self.columns = n_rows, words_per_row, list(columns)
        lanes = len(self.columns)
        self.lanes = lanes
        self.weight_shape = slot["weight"].shape
        addr = data.ArrayLayout(unsigned((max(max(self.columns), 1) - 1).bit_length()), lanes)
        acc = data.ArrayLayout(signed(acc_bits), lanes)
        row = range(max(n_rows, 2))
        super().__init__(
            {
                "rows": In(stream.Signature(row)),
                "busy": Out(1),
                "rd_en": Out(1),
                "rd_row": Out(row),
                "rd_word": Out(range(max(words_per_row, 2))),
                "w_data": In(data.ArrayLayout(slot, lanes)),
                "acc_rd_addr": Out(addr),
                "acc_rd_data": In(acc),
                "acc_wr_en": Out(lanes),
                "acc_wr_addr": Out(addr),
                "acc_wr_data": Out(acc),
            }
        )

    def elaborate(self, platform):
        m = Module()
        last_word = self.words_per_row - 1
        active = Signal()
        row = Signal.like(self.rd_row)
        word = Signal.like(self.rd_word)

        def take_row():
            m.d.comb += self.rows.ready.eq(1)
            with m.If(self.rows.valid):
                m.d.sync += [row.eq(self.rows.payload), word.eq(0), active.eq(1)]
            with m.Else():
                m.d.sync += active.eq(0)

        # stage 0: read the slot word; take the next row on the last word
        m.d.comb += [self.rd_row.eq(row), self.rd_word.eq(word)]
        s1_valid = Signal()
        m.d.sync += s1_valid.eq(active)
        with m.If(active):
            m.d.comb += self.rd_en.eq(1)
            with m.If(word == last_word):
                take_row()
            with m.Else():
                m.d.sync += word.eq(word + 1)
        with m.Else():
            take_row()

        # stage 1: the slots are here; read each lane's accumulator at its column
        s2_valid = Signal()
        s2_real = Signal(self.lanes)
        s2_weight = Signal(data.ArrayLayout(self.weight_shape, self.lanes))
        m.d.sync += s2_valid.eq(s1_valid)
        for lane in range(self.lanes):
            slot = self.w_data[lane]
            m.d.comb += self.acc_rd_addr[lane].eq(slot.column)
            m.d.sync += [
                self.acc_wr_addr[lane].eq(slot.column),
                s2_weight[lane].eq(slot.weight),
                s2_real[lane].eq(slot.column < self.columns[lane]),
            ]

        # stage 2: add and write back
        m.d.comb += self.acc_wr_en.eq(s2_real & s2_valid.replicate(self.lanes))
        for lane in range(self.lanes):
            m.d.comb += self.acc_wr_data[lane].eq(self.acc_rd_data[lane] + s2_weight[lane])
        m.d.comb += self.busy.eq(active | s1_valid | s2_valid)
        return m
