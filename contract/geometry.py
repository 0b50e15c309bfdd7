"""How a :class:`plasticore.golden.config.Config` is laid out in hardware: words, lanes, memories, bus map.

Everything here is derived from the config; the RTL (``hdl/core.py``), the co-simulation
benches and the host driver all read the memory map from this one place, so that a word's
packing or a region's address is never written twice.

Packing: neuron state and weights are stored ``P = cfg.lanes`` to a word. Weight memories are
organized by *presynaptic row*: the word at ``row * words_per_row + w`` holds the weights from
presynaptic ``row`` to the P postsynaptic targets ``w*P .. w*P+P-1`` (lane ``l`` in bits
``l*width .. (l+1)*width-1``). Lanes past the last target are padding and hold zero.

The sparse synapse table (``Geometry.sparse``: ``connectivity < 1`` or ``rewire``; docs/numerics.md,
"Sparse synapse table and rewiring") keeps Win's and Wrec's rows but gives each
``slot_words`` words of P *slots*: a slot is one unsigned ``w_bits + column_bits`` field, the
weight's two's complement in its low ``w_bits`` and the column above (``slot_value``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from plasticore.golden.config import Config
from plasticore.golden.network import Weights
from plasticore.golden.registers import REGISTER_FIELDS
from plasticore.golden.synapses import SynapseTable, sparse_weights

__all__ = ["Region", "Geometry", "BITMAP_WORD", "PARAM_WORD", "ceil_div"]

#: width of the words of the spike bitmaps (input spikes x, recurrent spikes z) on the bus
BITMAP_WORD = 32
#: width of a run-time learning register's word (region ``params``); values are range-checked
PARAM_WORD = 32


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Region:
    """One host-visible memory: ``depth`` words of ``lanes`` fields of ``bits`` bits."""

    name: str
    index: int
    depth: int
    lanes: int
    bits: int
    signed: bool

    @property
    def word_bits(self) -> int:
        return self.lanes * self.bits

    # packing between numpy (depth*lanes values) and integers (one per word) -------------------
    def pack(self, values: np.ndarray) -> list[int]:
        """Values, flattened in word-major, lane-minor order, to one unsigned int per word."""
        flat = np.asarray(values, dtype=np.int64).reshape(-1)
        if flat.size > self.depth * self.lanes:
            raise ValueError(f"{self.name}: {flat.size} values exceed {self.depth} words x {self.lanes} lanes")
        flat = np.concatenate([flat, np.zeros(self.depth * self.lanes - flat.size, dtype=np.int64)])
        lo = -(1 << (self.bits - 1)) if self.signed else 0
        hi = (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1
        if flat.size and (flat.min() < lo or flat.max() > hi):
            raise ValueError(f"{self.name}: values {flat.min()}..{flat.max()} do not fit {self.bits} bits")
        mask = (1 << self.bits) - 1
        words = []
        for w in range(self.depth):
            word = 0
            for lane in range(self.lanes):
                word |= (int(flat[w * self.lanes + lane]) & mask) << (lane * self.bits)
            words.append(word)
        return words

    def unpack(self, words: list[int]) -> np.ndarray:
        """Inverse of :meth:`pack`: ``len(words) * lanes`` values, sign-extended if signed."""
        mask = (1 << self.bits) - 1
        out = np.empty(len(words) * self.lanes, dtype=np.int64)
        for w, word in enumerate(words):
            for lane in range(self.lanes):
                v = (int(word) >> (lane * self.bits)) & mask
                if self.signed and v >> (self.bits - 1):
                    v -= 1 << self.bits
                out[w * self.lanes + lane] = v
        return out


class Geometry:
    """The hardware shape of one config."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.lanes = cfg.lanes
        self.words_rec = ceil_div(cfg.n_rec, cfg.lanes)  # words per row of n_rec targets
        self.words_out = ceil_div(cfg.n_out, cfg.lanes)  # words per row of n_out targets
        self.words_in = ceil_div(cfg.n_in, cfg.lanes)  # words of P input traces
        self.n_rec_padded = self.words_rec * cfg.lanes
        self.n_out_padded = self.words_out * cfg.lanes
        #: rows of the presynaptic weight memory, in scanner and learning order: inputs, then recurrent
        self.n_pre = cfg.n_in + cfg.n_rec
        #: the feedback weights B live in P banks, bank k mod P holding the rows k of errors
        #: k = b, b+P, ...; each bank is ``ceil(n_out/P)`` rows of ``words_rec`` words, padded to
        #: a power-of-two stride so the bus decodes bank and address with a shift and a mask
        self.fb_bank_depth = self.words_out * self.words_rec
        self.fb_bank_stride = 1 << max(0, (self.fb_bank_depth - 1).bit_length())
        #: Win and Wrec are a synapse table of slots (column and weight), not dense rows
        self.sparse = cfg.slot_words != self.words_rec or cfg.rewire
        #: words per presynaptic row of Win/Wrec: D slot words, or the dense row's words
        self.words_pre = cfg.slot_words if self.sparse else self.words_rec
        #: bits of one lane of a Win/Wrec word: a weight, or a slot (weight, then column)
        self.pre_lane_bits = cfg.w_bits + (cfg.column_bits if self.sparse else 0)

    def unheld_words(self, name: str) -> list[int]:
        """The words of region ``name`` that no memory holds: the padding of B's banks to their
        power-of-two stride (neither stored nor read back); every other region is held whole."""
        if name != "b_fb":
            return []
        return [w for w in range(self.regions[name].depth) if w % self.fb_bank_stride >= self.fb_bank_depth]

    @cached_property
    def regions(self) -> dict[str, Region]:
        c, P = self.cfg, self.lanes
        specs: list[tuple[str, int, int, int, bool]] = [
            # name,    depth,                      lanes, bits,        signed
            ("w_in", c.n_in * self.words_pre, P, self.pre_lane_bits, not self.sparse),
            ("w_rec", c.n_rec * self.words_pre, P, self.pre_lane_bits, not self.sparse),
            ("w_out", c.n_rec * self.words_out, P, c.weight_bits["w_out"], True),
            ("b_fb", P * self.fb_bank_stride, P, c.fb_w_bits, True),
            ("u", self.words_rec, P, c.u_bits, True),
            ("a", self.words_rec, P, c.a_bits, False),
            ("ref", self.words_rec, P, c.ref_bits, False),
            ("v", self.words_rec, P, c.v_bits, True),
            ("y", self.words_out, P, c.y_bits, True),
            ("e", self.words_out, P, c.e_bits, True),
            ("target", self.words_out, P, c.y_bits, True),
            ("x", ceil_div(c.n_in, BITMAP_WORD), BITMAP_WORD, 1, False),
            ("z", ceil_div(c.n_rec, BITMAP_WORD), BITMAP_WORD, 1, False),
            ("xbar", self.words_in, P, c.trace_bits, False),
            ("zbar", self.words_rec, P, c.trace_bits, False),
            # the run-time learning registers (plasticore.golden.registers), one word each
            ("params", len(REGISTER_FIELDS), 1, PARAM_WORD, False),
        ]
        if c.readout_trace_q is not None:
            # the readout's own trace z~ (Config.tau_readout_trace); last, so that the other
            # regions keep their indices
            specs.append(("zobar", self.words_rec, P, c.trace_bits, False))
        return {
            name: Region(name, i, depth, lanes, bits, signed)
            for i, (name, depth, lanes, bits, signed) in enumerate(specs)
        }

    def trace_values(
        self, x_bar: np.ndarray, z_bar: np.ndarray, zo_bar: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """The trace regions' values: ``xbar``, ``zbar``, and ``zobar`` (the readout's own
        trace), which a config with ``tau_readout_trace`` needs and any other refuses."""
        kept = "zobar" in self.regions
        if kept != (zo_bar is not None):
            raise ValueError(
                "zo_bar: needed, this config keeps the readout's own trace (tau_readout_trace)"
                if kept
                else "zo_bar: this config has no readout trace of its own (tau_readout_trace is None)"
            )
        values = {"xbar": x_bar, "zbar": z_bar}
        if zo_bar is not None:
            values["zobar"] = zo_bar
        return values

    @property
    def bus_data_bits(self) -> int:
        return max(r.word_bits for r in self.regions.values())

    @property
    def word_addr_bits(self) -> int:
        return max(1, max(r.depth for r in self.regions.values()).bit_length())

    @property
    def region_bits(self) -> int:
        return max(1, (len(self.regions) - 1).bit_length())

    @property
    def bus_addr_bits(self) -> int:
        return self.region_bits + self.word_addr_bits

    def bus_address(self, region: str, word: int) -> int:
        r = self.regions[region]
        if not 0 <= word < r.depth:
            raise ValueError(f"{region}: word {word} is outside 0..{r.depth - 1}")
        return (r.index << self.word_addr_bits) | word

    # weight matrices (post x pre, as golden.Weights) <-> row-major padded lane arrays --------------
    def weights_to_rows(self, matrix: np.ndarray) -> np.ndarray:
        """A ``post x pre`` matrix as the rows x padded-post array that the packing expects."""
        post, pre = matrix.shape
        padded = ceil_div(post, self.lanes) * self.lanes
        rows = np.zeros((pre, padded), dtype=np.int64)
        rows[:, :post] = np.asarray(matrix, dtype=np.int64).T
        return rows

    def rows_to_weights(self, rows: np.ndarray, post: int) -> np.ndarray:
        return np.asarray(rows)[:, :post].T.copy()

    # golden's Weights <-> the values of the weight regions -----------------------------------------
    def weight_values(self, w: Weights) -> dict[str, np.ndarray]:
        """The values of the weight regions (``w_in``, ``w_rec``, ``w_out``, ``b_fb``) that hold
        ``w``; with the sparse table, Win/Wrec are ``w.synapses``' slots."""
        if self.sparse:
            if w.synapses is None:
                raise ValueError(
                    "weights: this config holds Win/Wrec in a synapse table (connectivity < 1 or rewire); "
                    "make the weights with golden.synapses.sparse_weights"
                )
            pre = self.table_to_regions(w.synapses.column, w.synapses.weight)
        else:
            pre = {"w_in": self.weights_to_rows(w.w_in), "w_rec": self.weights_to_rows(w.w_rec)}
        return {
            **pre,
            "w_out": self.weights_to_rows(w.w_out),
            "b_fb": self.feedback_to_words(w.feedback(self.cfg)),
        }

    def weights_from_values(self, values: dict[str, np.ndarray]) -> Weights:
        """Inverse of :meth:`weight_values` (``values`` as read back, padding included)."""
        c = self.cfg
        w_out = self.rows_to_weights(np.asarray(values["w_out"]).reshape(c.n_rec, -1), c.n_out)
        b_fb = self.feedback_from_words(values["b_fb"])
        if self.sparse:
            table = SynapseTable(*self.regions_to_table(values["w_in"], values["w_rec"]))
            return Weights(*table.dense(c), w_out, b_fb, table)
        w_in = self.rows_to_weights(np.asarray(values["w_in"]).reshape(c.n_in, -1), c.n_rec)
        w_rec = self.rows_to_weights(np.asarray(values["w_rec"]).reshape(c.n_rec, -1), c.n_rec)
        w = Weights(w_in, w_rec, w_out, b_fb)
        # a table of every slot (connectivity rounding to all words, no rewiring) is stored as
        # the dense rows: its columns are the word addresses
        return sparse_weights(c, w) if c.synapse_table else w

    # the sparse table's slots <-> golden.synapses.SynapseTable ----------------------------------
    def slot_value(self, column: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Slots as the unsigned lane values of the ``w_in``/``w_rec`` regions (sparse only)."""
        w_bits = self.cfg.w_bits
        out: np.ndarray = (np.asarray(column, dtype=np.int64) << w_bits) | (
            np.asarray(weight, dtype=np.int64) & ((1 << w_bits) - 1)
        )
        return out

    def slot_fields(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`slot_value`: (columns, signed weights)."""
        w_bits = self.cfg.w_bits
        values = np.asarray(values, dtype=np.int64)
        weight = values & ((1 << w_bits) - 1)
        weight = np.where(weight >> (w_bits - 1), weight - (1 << w_bits), weight)
        return values >> w_bits, weight

    def table_to_regions(self, column: np.ndarray, weight: np.ndarray) -> dict[str, np.ndarray]:
        """A table's ``(n_in + n_rec, slot_words, lanes)`` columns and weights as the values of
        regions ``w_in`` and ``w_rec`` (row-major, word, lane)."""
        values = self.slot_value(column, weight)
        n_in = self.cfg.n_in
        return {"w_in": values[:n_in].reshape(-1), "w_rec": values[n_in:].reshape(-1)}

    def regions_to_table(self, w_in: np.ndarray, w_rec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`table_to_regions`: (columns, weights), each ``(n_in + n_rec,
        slot_words, lanes)``."""
        shape = (self.n_pre, self.words_pre, self.lanes)
        return self.slot_fields(np.concatenate([np.asarray(w_in), np.asarray(w_rec)]).reshape(shape))

    def feedback_to_words(self, b_fb: np.ndarray) -> np.ndarray:
        """B (n_rec x n_out) as the lane values of the bank-major ``b_fb`` region."""
        rows = self.weights_to_rows(b_fb)  # (n_out, n_rec_padded): row k = errors k's weights
        out = np.zeros((self.lanes, self.fb_bank_stride, self.lanes), dtype=np.int64)
        for k in range(self.cfg.n_out):
            start = (k // self.lanes) * self.words_rec
            out[k % self.lanes, start : start + self.words_rec] = rows[k].reshape(self.words_rec, self.lanes)
        return out.reshape(-1)

    def feedback_from_words(self, values: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`feedback_to_words`: B (n_rec x n_out)."""
        banks = np.asarray(values).reshape(self.lanes, self.fb_bank_stride, self.lanes)
        rows = np.zeros((self.cfg.n_out, self.n_rec_padded), dtype=np.int64)
        for k in range(self.cfg.n_out):
            start = (k // self.lanes) * self.words_rec
            rows[k] = banks[k % self.lanes, start : start + self.words_rec].reshape(-1)
        return self.rows_to_weights(rows, self.cfg.n_rec)
