"""Event-driven integration: the rows of the units that spiked, added into accumulators.

:class:`RowIntegrator` pairs spike scanners (``plasticore.hdl.scanner``) with row accumulators
(``plasticore.hdl.accumulate``): it visits only the rows whose bit is set in ``spikes`` and
adds each row's weight words into an accumulator memory. With ``banks`` B > 1 the rows are
split by index modulo B (row ``i`` in bank ``i mod B`` at row ``i div B``) and B engines work
side by side, each on its bank's weight memory into its own accumulator; the partial sums are
added later, exactly. The core uses one for the synaptic input (the presynaptic table, K weight
banks) and one for the readout (Wout, one bank); :class:`FeedbackIntegrator` does the same for
the feedback ``B . e``, where the rows are errors and the weights are scaled by them.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import ReadPort
from amaranth.lib.wiring import In, Out

from .accumulate import RowAccumulator
from .memories import LaneRamPorts, RamPorts
from .passes import lanes_of, split_index
from .scanner import SpikeScanner
from .slot_accumulate import SlotAccumulator

__all__ = ["RowIntegrator", "FeedbackIntegrator", "strided_scanner", "bank_member"]


def strided_scanner(m: Module, name: str, bits, first: int, step: int) -> SpikeScanner:
    """A spike scanner over bits ``first, first+step, ...`` of ``bits``: one bank's share (its
    index i is the bit ``first + i*step``); a bank with no bits gets a 1-bit scanner."""
    own = range(first, len(bits), step)
    scan = SpikeScanner(max(len(own), 1))
    m.submodules[name] = scan
    m.d.comb += scan.bits.eq(Cat(bits[i] for i in own) if own else 0)
    return scan


def bank_member(local, bank: int, bank_bits: int):
    """Index into the whole table of a bank's ``local`` index (banks are powers of two)."""
    return Cat(Const(bank, bank_bits), local) if bank_bits else local


def suffix(index: int, count: int) -> str:
    """Name suffix of copy ``index`` of ``count``: none when there is only one."""
    return "" if count == 1 else str(index)


def accumulator_ports(engine: RowAccumulator, acc: wiring.PureInterface) -> list:
    """Connect a row accumulator's read-modify-write of its accumulator memory to the memory's
    ports (``acc``, flipped :class:`~plasticore.hdl.memories.RamPorts`)."""
    return [
        acc.read.addr.eq(engine.acc_rd_addr),
        engine.acc_rd_data.eq(acc.read.data),
        acc.write.addr.eq(engine.acc_wr_addr),
        acc.write.data.eq(engine.acc_wr_data),
        acc.write.en.eq(engine.acc_wr_en),
    ]


class RowIntegrator(wiring.Component):
    """Adds the weight rows of the set bits of ``spikes`` into accumulators, by banks.

    Parameters
    ----------
    n_rows : int
        Number of rows (bits of ``spikes``).
    words_per_row : int
        Words of a row, and of an accumulator.
    lanes : int
        Lanes of a word.
    weight_bits, acc_bits : int
        Widths of a weight and of an accumulator lane.
    banks : int
        Number of weight banks and engines (row ``i`` in bank ``i mod banks``).
    slot : StructLayout or None
        The sparse synapse table's slot (``plasticore.hdl.memories.slot_layout``): the rows are
        slot words, added by :class:`~plasticore.hdl.slot_accumulate.SlotAccumulator` into one
        accumulator memory per lane. None: dense weight words.
    columns : list of int or None
        With ``slot``: each lane's real columns (the accumulators hold ``max(columns)`` words).

    Members
    -------
    spikes : In(n_rows)
        The rows to add (constant from ``start`` until ``busy`` falls).
    start : In(1)
        Begin.
    busy : Out(1)
        Some row is still being added.
    weights : In(ReadPort.Signature(...)).array(banks)
        Read ports of the banks' weight memories (row ``r`` of a bank at ``r * words_per_row``).
    acc : In(RamPorts(...)).array(banks)
        Read and write ports of the banks' accumulators (the read transparent for the write).
    """

    def __init__(
        self,
        *,
        n_rows: int,
        words_per_row: int,
        lanes: int,
        weight_bits: int,
        acc_bits: int,
        banks: int = 1,
        slot: data.StructLayout | None = None,
        columns: list[int] | None = None,
    ):
        self.n_rows, self.words_per_row, self.lanes = n_rows, words_per_row, lanes
        self.weight_bits, self.acc_bits, self.banks = weight_bits, acc_bits, banks
        self.slot, self.columns = slot, columns
        self.bank_rows = -(-n_rows // banks)
        weight_addr_bits = (max(self.bank_rows * words_per_row, 1) - 1).bit_length()
        acc_layout = lanes_of(lanes, acc_bits)
        if slot is None:
            word, acc = lanes_of(lanes, weight_bits), RamPorts(words_per_row, acc_layout)
        else:
            assert columns is not None and len(columns) == lanes
            word, acc = data.ArrayLayout(slot, lanes), LaneRamPorts(max(columns), acc_layout)
        super().__init__(
            {
                "spikes": In(n_rows),
                "start": In(1),
                "busy": Out(1),
                "weights": In(ReadPort.Signature(addr_width=weight_addr_bits, shape=word)).array(banks),
                "acc": In(acc).array(banks),
            }
        )

    def elaborate(self, platform):
        m = Module()
        nw, K = self.words_per_row, self.banks
        busy = []
        for bank in range(K):
            scan = strided_scanner(m, f"scan{suffix(bank, K)}", self.spikes, bank, K)
            if self.slot is None:
                engine = RowAccumulator(
                    n_rows=self.bank_rows,
                    words_per_row=nw,
                    lanes=self.lanes,
                    weight_bits=self.weight_bits,
                    acc_bits=self.acc_bits,
                )
            else:
                engine = SlotAccumulator(
                    n_rows=self.bank_rows,
                    words_per_row=nw,
                    slot=self.slot,
                    columns=self.columns,
                    acc_bits=self.acc_bits,
                )
            m.submodules[f"accumulate{suffix(bank, K)}"] = engine
            wiring.connect(m, scan.indices, engine.rows)
            weights = self.weights[bank]
            m.d.comb += [
                scan.start.eq(self.start),
                weights.addr.eq(engine.rd_row * nw + engine.rd_word),
                weights.en.eq(engine.rd_en),
                engine.w_data.eq(weights.data),
                *accumulator_ports(engine, self.acc[bank]),
            ]
            busy += [scan.busy, engine.busy]
        m.d.comb += self.busy.eq(Cat(*busy).any())
        return m


class FeedbackIntegrator(wiring.Component):
    """The feedback ``B . e``: the rows of B of the nonzero errors, times the error, added into
    accumulators.

    ``engines`` engines split the errors: engine c takes the errors ``k = r*engines + c``. B is
    kept in P banks by error index modulo P, and ``engines`` divides P, so the bank of each of
    engine c's errors is one of its own (c, c+engines, ...): no two engines read one bank.

    Parameters
    ----------
    n_errors : int
        Number of errors (readouts).
    errors_padded : int
        Number of error registers (``n_errors`` padded to whole words).
    words_per_row : int
        Words of a row of B (and of an accumulator).
    lanes : int
        Lanes of a word, and number of banks of B.
    bank_depth : int
        Words of a bank of B.
    weight_bits, acc_bits, error_bits : int
        Widths of a weight, of an accumulator lane and of an error.
    engines : int
        Number of engines (``Config.feedback_banks``).

    Members
    -------
    errors : In(ArrayLayout(signed(error_bits), n))
        The errors e(t-1) (constant from ``start`` until ``busy`` falls; ``n >= n_errors``).
    start : In(1)
        Begin.
    busy : Out(1)
        Some row is still being added.
    b_fb : In(ReadPort.Signature(...)).array(lanes)
        Read ports of the banks of B.
    acc : In(RamPorts(...)).array(engines)
        Read and write ports of the engines' accumulators.
    """

    def __init__(
        self,
        *,
        n_errors: int,
        errors_padded: int,
        words_per_row: int,
        lanes: int,
        bank_depth: int,
        weight_bits: int,
        acc_bits: int,
        error_bits: int,
        engines: int,
    ):
        self.n_errors, self.words_per_row, self.lanes = n_errors, words_per_row, lanes
        self.weight_bits, self.acc_bits, self.error_bits = weight_bits, acc_bits, error_bits
        self.engines = engines
        super().__init__(
            {
                "errors": In(data.ArrayLayout(signed(error_bits), errors_padded)),
                "start": In(1),
                "busy": Out(1),
                "b_fb": In(
                    ReadPort.Signature(
                        addr_width=(max(bank_depth, 1) - 1).bit_length(), shape=lanes_of(lanes, weight_bits)
                    )
                ).array(lanes),
                "acc": In(RamPorts(words_per_row, lanes_of(lanes, acc_bits))).array(engines),
            }
        )

    def elaborate(self, platform):
        m = Module()
        P, nw, KF = self.lanes, self.words_per_row, self.engines
        errors = self.errors
        nonzero = Signal(self.n_errors)
        m.d.comb += nonzero.eq(Cat(errors[k] != 0 for k in range(self.n_errors)))
        kf_bits = (KF - 1).bit_length()
        error_bits = max(1, (self.n_errors - 1).bit_length())
        busy = []
        for c in range(KF):
            scan = strided_scanner(m, f"scan{suffix(c, KF)}", nonzero, c, KF)
            engine = RowAccumulator(
                n_rows=scan.n,
                words_per_row=nw,
                lanes=P,
                weight_bits=self.weight_bits,
                acc_bits=self.acc_bits,
                factor_bits=self.error_bits,
            )
            m.submodules[f"accumulate{suffix(c, KF)}"] = engine
            k_scan = bank_member(scan.indices.payload, c, kf_bits)
            k_read = bank_member(engine.rd_row, c, kf_bits)
            row_in_bank, bank = split_index(k_read[:error_bits], P, self.n_errors)
            own_banks = self.b_fb[c::KF]
            own_data = Array(port.data.as_value() for port in own_banks)
            own_bank_s1 = Signal(range(max(len(own_banks), 2)), name=f"bank_s1_{c}")
            m.d.sync += own_bank_s1.eq(bank >> kf_bits if KF > 1 else bank)
            m.d.comb += [
                scan.start.eq(self.start),
                engine.rows.valid.eq(scan.indices.valid),
                engine.rows.payload.row.eq(scan.indices.payload),
                engine.rows.payload.factor.eq(errors[k_scan[:error_bits]]),
                scan.indices.ready.eq(engine.rows.ready),
                engine.w_data.eq(own_data[own_bank_s1]),
                *accumulator_ports(engine, self.acc[c]),
            ]
            for port in own_banks:
                m.d.comb += port.addr.eq(row_in_bank * nw + engine.rd_word)
            busy += [scan.busy, engine.busy]
        m.d.comb += self.busy.eq(Cat(*busy).any())
        return m
