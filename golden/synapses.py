"""The sparse synapse table: Win and Wrec as a fixed number of slots per presynaptic row, with
DEEP R's rewiring in hardware form (docs/numerics.md, "Sparse synapse table and rewiring").

The presynaptic table of the dense core (Win rows, then Wrec rows; row ``i`` in weight bank
``i mod K``) keeps its rows and its word shape, but a row holds ``D = Config.slot_words`` words
of P slots instead of ``ceil(n_rec / P)`` words of P weights. Slot ``(i, d, l)`` (row i, word
d, lane l) holds a *column* ``c`` and a signed ``w_bits`` weight: it connects presynaptic row
``i`` to the postsynaptic neuron ``j = c * P + l``. A lane only ever reaches the neurons of its
own lane (``j mod P == l``), so the P slots of a word go to P different accumulator banks and a
word is integrated and updated in one cycle, as a dense word is. Dense is ``D = ceil(n_rec/P)``
with slot ``(i, d, l)`` at column ``d``: every synapse present, the dense core's bits.

* Integration (network step 1) adds the weights of the active slots of spiking rows; those
  sums are exact, so :meth:`SynapseTable.dense` (the table scattered into the dense Win/Wrec,
  zero where no slot points) gives the same bits through the dense tick.
* Learning (step 9) updates the slots of visited rows with exactly the dense update of the
  synapse a slot holds, drawing one LFSR value per word and lane as the dense row does.
* With ``Config.rewire`` (DEEP R): a slot is active iff its weight is nonzero, and its sign is
  fixed; an update that reaches zero or changes the sign prunes the slot, and in the same row
  visit the slot is re-targeted to a column of its lane that no other slot of the row uses,
  drawn by rejection from its lane's LFSR, with weight +-1 LSB of its old sign.

``plasticore.golden.learning.learn`` calls :meth:`SynapseTable.update` (fixed point, one batch
element) or :meth:`SynapseTable.update_float` (float twin, a batch summed) when the weights
carry a table (``Weights.synapses``); :func:`sparse_weights` makes such weights.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import lfsr as lfsr_mod
from .config import Config
from .learning import sround
from .network import Weights
from .numerics import Numerics, signed_range

__all__ = [
    "SynapseTable",
    "init_table",
    "sparse_weights",
    "wired",
    "sparse_current",
    "lane_columns",
    "synapse_memory_bits",
]


def _words(cfg: Config) -> int:
    return -(-cfg.n_rec // cfg.lanes)


def lane_columns(cfg: Config) -> NDArray[np.int64]:
    """Real columns per lane: lane ``l`` reaches neurons ``c*P + l < n_rec``, i.e. columns
    ``0 .. n_l - 1`` with ``n_l = ceil((n_rec - l) / P)``; shape ``(P,)``."""
    lanes = np.arange(cfg.lanes)
    return np.maximum(0, -(-(cfg.n_rec - lanes) // cfg.lanes)).astype(np.int64)


@dataclass(frozen=True)
class SynapseTable:
    """Win and Wrec as per-presynaptic-row slots (the hardware's sparse weight table).

    Parameters
    ----------
    column : ndarray of int64, shape (n_in + n_rec, slot_words, lanes)
        Slot ``(i, d, l)`` connects presynaptic row ``i`` (inputs, then recurrent) to neuron
        ``column * lanes + l``, an unsigned ``Config.column_bits`` field. A column whose neuron
        is past ``n_rec`` (only the dense layout's padding) is a *phantom* slot: never active.
    weight : ndarray, shape as ``column``
        Signed ``w_bits`` weights (int64; float64 in the float twin).
    rewired : int
        Slots re-targeted since the table was made (pruned == re-targeted, every visit).

    Attributes
    ----------
    shape : tuple of int
        ``(rows, slot_words, lanes)``.
    """

    column: NDArray[np.int64]
    weight: NDArray[Any]
    rewired: int = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.column.shape)

    def post(self, cfg: Config) -> NDArray[np.int64]:
        """The postsynaptic neuron of every slot, ``column * P + lane`` (phantoms ``>= n_rec``)."""
        lanes = np.arange(cfg.lanes, dtype=np.int64)
        post: NDArray[np.int64] = self.column * cfg.lanes + lanes
        return post

    def active(self, cfg: Config) -> NDArray[np.bool_]:
        """Slots that carry a synapse: real (not phantom) and, under ``rewire``, nonzero."""
        real = self.post(cfg) < cfg.n_rec
        if cfg.rewire:
            real &= self.weight != 0
        return real

    def active_synapses(self, cfg: Config) -> int:
        """How many synapses the table holds (Win and Wrec together)."""
        return int(self.active(cfg).sum())

    def check(self, cfg: Config) -> None:
        """Refuse a table of the wrong shape, a column out of range, two slots of a row on one
        neuron, or an integer weight outside ``w_bits``."""
        shape = (cfg.n_in + cfg.n_rec, cfg.slot_words, cfg.lanes)
        if self.column.shape != shape or self.weight.shape != shape:
            raise ValueError(f"synapses: shape {self.column.shape} does not match config {shape}")
        words = _words(cfg)
        if self.column.size and (self.column.min() < 0 or self.column.max() >= words):
            raise ValueError(f"synapses: columns {self.column.min()}..{self.column.max()} are outside 0..{words - 1}")
        ordered = np.sort(self.column, axis=1)
        if (ordered[:, 1:] == ordered[:, :-1]).any():
            raise ValueError("synapses: two slots of one row point at the same neuron")
        lo, hi = signed_range(cfg.w_bits)
        integer = np.issubdtype(self.weight.dtype, np.integer)  # the float twin's weights are unbounded reals
        if integer and self.weight.size and (self.weight.min() < lo or self.weight.max() > hi):
            raise ValueError(
                f"synapses: weights {self.weight.min()}..{self.weight.max()} are outside the "
                f"{cfg.w_bits}-bit range {lo}..{hi}"
            )

    def astype(self, dtype: Any) -> SynapseTable:
        """The same table with ``dtype`` weights."""
        return replace(self, weight=self.weight.astype(dtype))

    def dense(self, cfg: Config) -> tuple[NDArray[Any], NDArray[Any]]:
        """Win ``(n_rec, n_in)`` and Wrec ``(n_rec, n_rec)``: every real slot's weight at its
        synapse, exactly 0 where no slot points."""
        rows, _, lanes = self.shape
        w_pre_t = np.zeros((rows, _words(cfg) * lanes), self.weight.dtype)
        np.put_along_axis(w_pre_t, self.post(cfg).reshape(rows, -1), self.weight.reshape(rows, -1), axis=1)
        w_pre_t = w_pre_t[:, : cfg.n_rec]
        return np.ascontiguousarray(w_pre_t[: cfg.n_in].T), np.ascontiguousarray(w_pre_t[cfg.n_in :].T)

    # -- learning ----------------------------------------------------------------------------------

    def update(
        self,
        cfg: Config,
        num: Numerics,
        g: NDArray[Any],
        e_bar: NDArray[Any],
        lfsr: NDArray[np.uint32],
        visits: dict[int, int] | None = None,
    ) -> tuple[SynapseTable, NDArray[np.uint32]]:
        """Fixed point, one batch element: step 9 on the slots, then rewiring (``rewire``).

        ``g``: ``(n_rec,)`` postsynaptic factors; ``e_bar``: ``(n_in + n_rec,)`` presynaptic
        factors; ``lfsr``: all ``Config.lfsr_lanes`` lanes. Bank ``b`` visits its rows
        (``i mod K == b``) with ``e_bar_i != 0`` in increasing ``i`` on lanes ``b*P ..
        b*P+P-1``: per row one draw per word and lane (rounding), then the row's rewiring draws.
        ``visits``: if given, gets each row that pruned a slot and its rewiring candidates (the
        cycle model's count, ``plasticore.contract.cycles``).
        """
        K, P, D = cfg.weight_banks, cfg.lanes, cfg.slot_words
        g_pad = np.zeros(_words(cfg) * P, dtype=np.int64)
        g_pad[: cfg.n_rec] = g
        post = self.post(cfg)
        column, weight = self.column.copy(), self.weight.copy()
        lfsr = lfsr.copy()
        pruned = 0
        for bank in range(K):
            lanes = slice(bank * P, (bank + 1) * P)
            rows = np.flatnonzero(e_bar[bank::K]) * K + bank
            state = lfsr[lanes]
            while rows.size:
                # vectorized over the rows left, until the first row that prunes a slot: its
                # rewiring draws shift every later row's draws on that lane
                draws, _ = lfsr_mod.draws(state, rows.size * D)
                r = draws.reshape(rows.size, D, P)
                w_old = weight[rows]
                p = -g_pad[post[rows]] * e_bar[rows][:, None, None]
                w_new = num.sat(w_old + sround(num, p, cfg.lr_shift, r), cfg.w_bits)
                done = rows.size
                if cfg.rewire:
                    w_new = np.where(w_old != 0, w_new, 0)  # a slot at 0 is dormant: no update
                    dies = (w_old != 0) & (w_new * np.sign(w_old) <= 0)
                    hit = np.flatnonzero(dies.any(axis=(1, 2)))
                    if hit.size:
                        done = int(hit[0]) + 1
                weight[rows[:done]] = w_new[:done]
                state = r[done - 1, D - 1].copy()
                if cfg.rewire and done <= rows.size and dies[done - 1].any():
                    i = rows[done - 1]
                    state, n, candidates = _rewire_row(
                        cfg, column[i], weight[i], w_old[done - 1], dies[done - 1], state
                    )
                    pruned += n
                    if visits is not None:
                        visits[int(i)] = candidates
                rows = rows[done:]
            lfsr[lanes] = state
        return replace(self, column=column, weight=weight, rewired=self.rewired + pruned), lfsr

    def update_float(
        self,
        cfg: Config,
        d_in: NDArray[Any],
        d_rec: NDArray[Any],
        lfsr: NDArray[np.uint32],
    ) -> tuple[SynapseTable, NDArray[np.uint32]]:
        """Float twin: subtract the dense update ``d_in`` ``(n_rec, n_in)`` / ``d_rec``
        ``(n_rec, n_rec)`` (a batch summed, already scaled by ``2**-lr_shift``) at every real
        slot, then rewire (``rewire``) row by row in increasing ``i``, each row on its bank's
        lanes (the float twin draws only for rewiring; it rounds nothing)."""
        K, P = cfg.weight_banks, cfg.lanes
        rows, words, _ = self.shape
        d_pre_t = np.zeros((rows, _words(cfg) * P))
        d_pre_t[: cfg.n_in, : cfg.n_rec] = d_in.T
        d_pre_t[cfg.n_in :, : cfg.n_rec] = d_rec.T
        post = self.post(cfg)
        w_old = self.weight
        step = np.take_along_axis(d_pre_t, post.reshape(rows, -1), axis=1).reshape(post.shape)
        weight = np.where(post < cfg.n_rec, w_old - step, w_old)
        column, lfsr, pruned = self.column.copy(), lfsr.copy(), 0
        if cfg.rewire:
            weight = np.where(w_old != 0, weight, 0.0)
            dies = (w_old != 0) & (weight * np.sign(w_old) <= 0)
            for i in np.flatnonzero(dies.any(axis=(1, 2))):
                lanes = slice((i % K) * P, (i % K + 1) * P)
                lfsr[lanes], n, _ = _rewire_row(cfg, column[i], weight[i], w_old[i], dies[i], lfsr[lanes])
                pruned += n
        return replace(self, column=column, weight=weight, rewired=self.rewired + pruned), lfsr


def _rewire_row(
    cfg: Config,
    column: NDArray[np.int64],
    weight: NDArray[Any],
    w_old: NDArray[Any],
    dies: NDArray[np.bool_],
    state: NDArray[np.uint32],
) -> tuple[NDArray[np.uint32], int, int]:
    """Re-target the pruned slots of one row in place; returns the lanes' new states, the count
    and the candidates drawn (all lanes).

    ``column``, ``weight``, ``w_old``, ``dies``: ``(slot_words, lanes)`` of the row. Each lane
    on its own: its pruned slots in increasing word ``d``; for each, draw (``max(1,
    column_bits)`` LFSR steps, then ``c = state & (2**column_bits - 1)``) until ``c`` is a
    real column of the lane (``c < n_l``) that no other slot of the row's lane holds (the
    pruned slots' old columns are free, the ones already re-targeted are not); the slot gets
    ``c`` and weight ``sign(w_old)`` (+-1 LSB).
    """
    n_l = lane_columns(cfg)
    mask = (1 << cfg.column_bits) - 1
    steps = max(1, cfg.column_bits)
    state = state.copy()
    candidates = 0
    for lane in np.flatnonzero(dies.any(axis=0)):
        used = set(column[~dies[:, lane], lane].tolist())
        s = int(state[lane])
        for d in np.flatnonzero(dies[:, lane]):
            while True:
                for _ in range(steps):  # fresh bits: one step would reuse all but one of the last draw's
                    s = lfsr_mod.step(s)
                candidates += 1
                c = s & mask
                if c < n_l[lane] and c not in used:
                    break
            used.add(c)
            column[d, lane] = c
            weight[d, lane] = np.sign(w_old[d, lane])
        state[lane] = s
    return state, int(dies.sum()), candidates


def init_table(cfg: Config, w: Weights, seed: int | None = None) -> SynapseTable:
    """The table of ``cfg`` wired from ``w``'s Win/Wrec values (host side, numpy's generator).

    Dense layout (``slot_words == ceil(n_rec / P)``): slot ``(i, d, l)`` at column ``d``, so
    the table is ``w`` exactly. Sparse: each row and lane gets ``slot_words`` distinct real
    columns drawn uniformly (seed: ``cfg.seed + 7`` unless given), in increasing order, with the
    weights ``w`` has there. Under ``rewire`` a zero weight would be a dormant slot, so it is
    replaced by +-1 LSB of random sign (every slot starts active).
    """
    P, D, words = cfg.lanes, cfg.slot_words, _words(cfg)
    rows = cfg.n_in + cfg.n_rec
    w_pre_t = np.zeros((rows, words * P), dtype=w.w_in.dtype)
    w_pre_t[: cfg.n_in, : cfg.n_rec] = w.w_in.T
    w_pre_t[cfg.n_in :, : cfg.n_rec] = w.w_rec.T
    rng = np.random.default_rng(cfg.seed + 7 if seed is None else seed)
    if D == words:
        column = np.broadcast_to(np.arange(words)[None, :, None], (rows, words, P)).copy()
    else:
        keys = rng.random((rows, words, P))
        phantom = np.arange(words)[None, :, None] >= lane_columns(cfg)[None, None, :]
        keys = np.where(phantom, np.inf, keys)
        column = np.sort(np.argsort(keys, axis=1, kind="stable")[:, :D, :], axis=1)
    post = column * P + np.arange(P)
    weight = np.take_along_axis(w_pre_t, post.reshape(rows, -1), axis=1).reshape(post.shape)
    if cfg.rewire:
        real = post < cfg.n_rec
        signs = np.where(rng.random(weight.shape) < 0.5, -1, 1)
        weight = np.where(real & (weight == 0), signs, weight).astype(weight.dtype)
    table = SynapseTable(column.astype(np.int64), weight)
    table.check(cfg)
    return table


def sparse_weights(cfg: Config, w: Weights, seed: int | None = None) -> Weights:
    """``w`` with Win/Wrec held in a synapse table (:func:`init_table`): ``w_in``/``w_rec``
    become the table's dense view, ``synapses`` the table; Wout and B stay dense."""
    table = init_table(cfg, w, seed)
    w_in, w_rec = table.dense(cfg)
    return Weights(w_in, w_rec, w.w_out, w.b_fb, table)


def wired(cfg: Config, w: Weights, seed: int | None = None) -> Weights:
    """``w`` as ``cfg`` holds it: in a synapse table (:func:`sparse_weights`) when the config
    asks for one (``connectivity < 1`` or ``rewire``) and ``w`` has none, else ``w`` itself."""
    if w.synapses is None and cfg.synapse_table:
        return sparse_weights(cfg, w, seed)
    return w


def sparse_current(cfg: Config, table: SynapseTable, x: NDArray[Any], z_prev: NDArray[Any]) -> NDArray[Any]:
    """Network step 1 in the table's own form: for each spiking row (inputs ``x``, then neurons
    ``z_prev``, both ``(batch, n)``), add every active slot's weight into neuron ``c*P + l``.
    Equal to ``x @ Win.T + z_prev @ Wrec.T`` of :meth:`SynapseTable.dense` (exact sums)."""
    spikes = np.concatenate([np.asarray(x), np.asarray(z_prev)], axis=1)
    post, live = table.post(cfg), table.active(cfg)
    acc = np.zeros((spikes.shape[0], _words(cfg) * cfg.lanes), dtype=table.weight.dtype)
    for b in range(spikes.shape[0]):
        rows = np.flatnonzero(spikes[b])
        np.add.at(acc[b], post[rows][live[rows]], table.weight[rows][live[rows]])
    return acc[:, : cfg.n_rec]


def synapse_memory_bits(cfg: Config) -> dict[str, int]:
    """Bits of synapse memory: per Win/Wrec slot (``w_bits`` + ``column_bits``; the dense layout
    stores no column, its column is the word address), the Win/Wrec table, Wout, and the total."""
    dense = cfg.slot_words == _words(cfg) and not cfg.rewire
    per_slot = cfg.w_bits + (0 if dense else cfg.column_bits)
    table = (cfg.n_in + cfg.n_rec) * cfg.slot_words * cfg.lanes * per_slot
    w_out = cfg.n_out * cfg.n_rec * cfg.weight_bits["w_out"]
    return {"per_slot": per_slot, "table": table, "w_out": w_out, "total": table + w_out}
