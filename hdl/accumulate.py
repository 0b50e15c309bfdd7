"""Row accumulator: adds presynaptic weight rows into P-lane accumulators, one word per cycle.

This is the event-driven integration engine. For every row index that arrives on ``rows``
(a presynaptic neuron that spiked, or an error that is nonzero), it reads the row's
``words_per_row`` weight words and adds each, lane by lane, into the accumulator word of the
same position: ``acc[w][l] += W[row][w][l]`` (times ``factor`` when the engine multiplies,
as the feedback path ``B . e`` does).

Pipeline: stage 0 presents the weight and accumulator read addresses; stage 1 (one cycle
later, when synchronous block RAM returns the data) adds and writes the accumulator back.
The accumulator's read port must be transparent for its write port, so that a read of the
word being written in the same cycle (rows of one word) sees the new sum. A new row is taken
on the cycle its predecessor issues its last word, so rows stream back to back with no bubble.
The engine never narrows a sum: the accumulator width comes from ``Config.*_acc_bits``.
"""

from __future__ import annotations

from amaranth.hdl import Assert, Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RowAccumulator"]


class RowAccumulator(wiring.Component):
    """Adds weight rows, one word per cycle, into an accumulator memory.

    Parameters
    ----------
    n_rows : int
        Number of rows.
    words_per_row : int
        Words of a row (and of the accumulator).
    lanes : int
        Lanes of a word.
    weight_bits : int
        Width of a weight lane.
    acc_bits : int
        Width of an accumulator lane.
    factor_bits : int or None
        Width of the signed factor each row is multiplied by, or None to add rows unscaled.
    formal : bool
        Add the formal property (docs/reliability.md, "Formal"): adding a row into an
        accumulator word that holds at most ``n_rows - 1`` rows' worth is exact (never wraps).

    Members
    -------
    rows : In(stream.Signature(row or StructLayout({"row", "factor"})))
        The rows to add (with their factors when ``factor_bits`` is given).
    busy : Out(1)
        A row is being added.
    rd_en : Out(1)
        A weight word is read this cycle.
    rd_row, rd_word : Out(range(n_rows)), Out(range(words_per_row))
        The weight word read (the owner maps it to a memory and an address).
    w_data : In(ArrayLayout(signed(weight_bits), lanes))
        The weight word read the cycle before.
    acc_rd_addr : Out(range(words_per_row))
        The accumulator word read.
    acc_rd_data : In(ArrayLayout(signed(acc_bits), lanes))
        The accumulator word read the cycle before.
    acc_wr_en, acc_wr_addr, acc_wr_data : Out(1), Out(range(words_per_row)), Out(...)
        Write-back of the accumulator word with the weight word added.
    """

    def __init__(
        self,
        *,
        n_rows: int,
        words_per_row: int,
        lanes: int,
        weight_bits: int,
        acc_bits: int,
        factor_bits: int | None = None,
        formal: bool = False,
    ):
        self.n_rows = n_rows
        self.words_per_row = words_per_row
        self.lanes = lanes
        self.factor_bits = factor_bits
        self.weight_bits = weight_bits
        self.formal = formal
        if factor_bits is None:
            row_shape = range(max(n_rows, 2))
        else:
            row_shape = data.StructLayout({"row": range(max(n_rows, 2)), "factor": signed(factor_bits)})
        self.weight_layout = data.ArrayLayout(signed(weight_bits), lanes)
        self.acc_layout = data.ArrayLayout(signed(acc_bits), lanes)
        word = range(max(words_per_row, 2))
        super().__init__(
            {
                "rows": In(stream.Signature(row_shape)),
                "busy": Out(1),
                # weight read (the owner maps row and word to a memory and an address)
                "rd_en": Out(1),
                "rd_row": Out(range(max(n_rows, 2))),
                "rd_word": Out(word),
                "w_data": In(self.weight_layout),
                # accumulator read and write
                "acc_rd_addr": Out(word),
                "acc_rd_data": In(self.acc_layout),
                "acc_wr_en": Out(1),
                "acc_wr_addr": Out(word),
                "acc_wr_data": Out(self.acc_layout),
            }
        )

    def elaborate(self, platform):
        m = Module()
        last_word = self.words_per_row - 1

        active = Signal()
        row = Signal.like(self.rd_row)
        word = Signal.like(self.rd_word)
        factor = Signal(signed(self.factor_bits)) if self.factor_bits else None

        def take_row():
            m.d.comb += self.rows.ready.eq(1)
            with m.If(self.rows.valid):
                if factor is None:
                    m.d.sync += row.eq(self.rows.payload)
                else:
                    m.d.sync += [row.eq(self.rows.payload.row), factor.eq(self.rows.payload.factor)]
                m.d.sync += [word.eq(0), active.eq(1)]
            with m.Else():
                m.d.sync += active.eq(0)

        # stage 0: issue reads, advance through the row, take the next row on its last word
        m.d.comb += [
            self.rd_row.eq(row),
            self.rd_word.eq(word),
            self.acc_rd_addr.eq(word),
        ]
        s1_valid = Signal()
        s1_word = Signal.like(word)
        s1_factor = Signal.like(factor) if factor is not None else None
        m.d.sync += s1_valid.eq(active)
        with m.If(active):
            m.d.comb += self.rd_en.eq(1)
            m.d.sync += s1_word.eq(word)
            if factor is not None:
                m.d.sync += s1_factor.eq(factor)
            with m.If(word == last_word):
                take_row()
            with m.Else():
                m.d.sync += word.eq(word + 1)
        with m.Else():
            take_row()

        # stage 1: add the weight word into the accumulator word and write it back
        m.d.comb += [self.acc_wr_en.eq(s1_valid), self.acc_wr_addr.eq(s1_word)]
        for lane in range(self.lanes):
            w = self.w_data[lane]
            term = w if s1_factor is None else w * s1_factor
            m.d.comb += self.acc_wr_data[lane].eq(self.acc_rd_data[lane] + term)
            if self.formal:
                # the largest term: the most negative weight, times the most negative factor
                largest = 1 << (self.weight_bits - 1 + (self.factor_bits - 1 if self.factor_bits else 0))
                before = self.acc_rd_data[lane]
                room = (before <= (self.n_rows - 1) * largest) & (before >= -(self.n_rows - 1) * largest)
                m.d.comb += Assert(~room | (self.acc_wr_data[lane] == before + term))

        m.d.comb += self.busy.eq(active | s1_valid)
        return m
