"""On-chip learning in hardware form: the learning tick every rule shares.

This is the learning the RTL's learning unit computes bit for bit (docs/numerics.md, section
"Learning"). What differs between the rules (e-prop, eRBP, ...) lives in one file per rule in
:mod:`plasticore.golden.rules`; this module holds the shared machinery and asks the configured
rule (``RULES[cfg.rule]``) for the presynaptic and postsynaptic factors.

It follows the inference tick of :mod:`plasticore.golden.network` and, like it, is written once
against a :class:`~plasticore.golden.numerics.Numerics` object: fixed point is the hardware
contract, float64 the ideal twin (exact products and divisions, no saturation, no random rounding).

One learning tick, after network steps 1-6 (numbered as in docs/numerics.md):

7.  pseudo-derivative ``h_j`` from this tick's ``U_j`` and ``A_j`` (zero while refractory);
8.  presynaptic factor ``e_bar``, the rule's (e-prop: ``x_bar(t)`` / ``z_bar(t-1)``; eRBP:
    ``trace_inc * x(t)`` / ``trace_inc * z(t-1)``);
9.  Win/Wrec update on ticks whose target is valid, with the rule's postsynaptic factor
    ``g_j`` (``V_j * h_j`` for every rule so far): ``dW[j,i] = sround(-g_j * e_bar_i, lr_shift)``;
10. trace update ``x_bar, z_bar`` (every tick, truncating decay);
11. readout update on valid ticks: ``dWout[k,j] = sround(-e_k * z_bar_j(t), out_lr_shift)``
    (``z~_j(t)``, the readout's own trace, when ``Config.tau_readout_trace`` is set).

Stochastic rounding draws from one LFSR per lane in the order the hardware visits synapses:
presynaptic rows whose ``e_bar`` is nonzero (inputs, then recurrent), each row split into words
of ``lanes`` post-synaptic neurons, every lane drawing once per word. :func:`draw_matrix` turns
that order into one vectorized call of :func:`plasticore.golden.lfsr.draws`. With ``weight_banks`` K > 1
the rows of Win/Wrec are dealt to K banks (row i to bank ``i mod K``), each with its own P
lanes, and each bank visits its own rows in that order (:func:`update_banked_rows`); the
readout then draws from lanes of its own (``Config.readout_lanes``; with K = 1 it continues on
the same lanes after the hidden rows).

Fixed point learns batch element by batch element (the hardware has batch 1); the float twin
sums the updates of a batch in one step (for fast float training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import lfsr as lfsr_mod
from .config import Config
from .layers import mask_weights
from .network import State, TickOut, Weights, tick
from .numerics import Numerics, for_config, sat
from .rules import RULES

__all__ = [
    "Traces",
    "LearnState",
    "init_traces",
    "init_learning",
    "decay_floor",
    "update_traces",
    "pseudo_derivative",
    "regularized_signal",
    "presynaptic_factors",
    "learned_rows",
    "sround",
    "draw_matrix",
    "update_rows",
    "update_banked_rows",
    "learn",
    "learning_tick",
]


def _fixed(num: Numerics) -> bool:
    return np.issubdtype(num.dtype, np.integer)


@dataclass(frozen=True)
class Traces:
    """Presynaptic traces, unsigned ``trace_bits`` values (int64; float64 in the float twin).

    Parameters
    ----------
    x_bar : ndarray, shape (batch, n_in)
        Input traces.
    z_bar : ndarray, shape (batch, n_rec)
        Recurrent (spike) traces.
    zo_bar : ndarray, shape (batch, n_rec), or None
        The readout's own spike traces z~ (``Config.tau_readout_trace``); None: the readout
        learns from ``z_bar``.
    """

    x_bar: NDArray[Any]
    z_bar: NDArray[Any]
    zo_bar: NDArray[Any] | None = None

    @property
    def readout(self) -> NDArray[Any]:
        """The presynaptic factor of the readout update: ``zo_bar`` when kept, else ``z_bar``."""
        return self.z_bar if self.zo_bar is None else self.zo_bar


@dataclass(frozen=True)
class LearnState:
    """What learning carries from tick to tick besides the weights: traces and LFSR lanes.

    Parameters
    ----------
    traces : Traces
        The presynaptic traces.
    lfsr : ndarray of uint32, shape (Config.lfsr_lanes,)
        One LFSR register per lane, bank-major (bank b's lanes are ``b*P .. b*P+P-1``).
    """

    traces: Traces
    lfsr: NDArray[np.uint32]


def init_traces(cfg: Config, num: Numerics, batch: int = 1) -> Traces:
    zo = None if cfg.readout_trace_q is None else np.zeros((batch, cfg.n_rec), dtype=num.dtype)
    return Traces(np.zeros((batch, cfg.n_in), dtype=num.dtype), np.zeros((batch, cfg.n_rec), dtype=num.dtype), zo)


def init_learning(cfg: Config, num: Numerics, batch: int = 1) -> LearnState:
    """Zero traces and the LFSR lanes at their configured seeds."""
    return LearnState(init_traces(cfg, num, batch), lfsr_mod.lane_seeds(cfg.lfsr_seed, cfg.lfsr_lanes))


# -- the operations --------------------------------------------------------------------------------


def decay_floor(num: Numerics, x: NDArray[Any], q: int, decay_bits: int) -> NDArray[Any]:
    """Trace decay ``(x * q) >> decay_bits`` (truncating; exact product in float).

    Truncation, not the round-to-nearest ``decay`` of the soma: with rounding every value below
    ``0.5 / (1 - q/2**decay_bits)`` is a fixed point (``(1*244 + 128) >> 8 == 1``), so a trace
    would never return to zero and its row would never be skipped. With truncation an unsigned
    trace strictly decreases until it is exactly zero.
    """
    if _fixed(num):
        return (x * q) >> decay_bits
    return x * (q / (1 << decay_bits))


def update_traces(cfg: Config, num: Numerics, tr: Traces, x: NDArray[Any], z: NDArray[Any]) -> Traces:
    """``bar <- sat_u(decay_floor(bar, q) + trace_inc * spike, trace_bits)``, with ``q`` =
    ``trace_q`` for x_bar and z_bar, ``readout_trace_q`` for the readout's z~ (when kept)."""

    def one(bar: NDArray[Any], spikes: NDArray[Any], q: int) -> NDArray[Any]:
        new = decay_floor(num, bar, q, cfg.decay_bits) + cfg.trace_inc * spikes
        return num.sat(new, cfg.trace_bits, signed=False).astype(num.dtype)

    zo = None
    if tr.zo_bar is not None and cfg.readout_trace_q is not None:
        zo = one(tr.zo_bar, z, cfg.readout_trace_q)
    return Traces(one(tr.x_bar, x, cfg.trace_q), one(tr.z_bar, z, cfg.trace_q), zo)


def pseudo_derivative(
    cfg: Config, num: Numerics, u: NDArray[Any], thr: NDArray[Any], ready: NDArray[Any]
) -> NDArray[Any]:
    """h_j in ``0 .. 2**h_bits - 1`` from the U and A the spike decision compared.

    ``ready``: the neuron was not refractory (the spike's own blocking condition); h is 0
    otherwise. boxcar: ``h_max`` iff ``A - pd_window < U < A + pd_window``. piecewise linear:
    ``sat_u(rshift(max(0, pd_window - |U - A|), pd_shift), h_bits)``.
    """
    d = u - thr
    h_max = (1 << cfg.h_bits) - 1
    if cfg.pseudo_derivative == "boxcar":
        h = np.where((d > -cfg.pd_window) & (d < cfg.pd_window), h_max, 0)
    elif cfg.pseudo_derivative == "step":
        h = np.where(d > -cfg.pd_window, h_max, 0)
    else:
        tri = np.maximum(cfg.pd_window - np.abs(d), 0)
        h = num.sat(num.rshift(tri, cfg.pd_shift), cfg.h_bits, signed=False)
    return np.where(ready, h, 0).astype(num.dtype)


def regularized_signal(cfg: Config, num: Numerics, v: NDArray[Any], z_bar: NDArray[Any]) -> NDArray[Any]:
    """The learning signal V with firing-rate regularization (``Config.rate_target``):
    ``sat_s(V + rshift(max(0, z_bar - rate_target), rate_reg_shift), v_bits)``, V itself when off.

    Bellec et al. 2020's regularization in e-prop form: its gradient is the eligibility trace
    times the neuron's excess rate, i.e. one more term of the neuron's learning signal. One-sided
    (the silicon anchor's): a neuron above the target rate loses the input that made it fire,
    a quiet one is left alone. ``z_bar`` is the neuron's own spike trace before this tick.
    """
    if cfg.rate_target is None:
        return v
    excess = np.maximum(z_bar - cfg.rate_target, 0)
    return num.sat(v + num.rshift(excess, cfg.rate_reg_shift), cfg.v_bits)


def presynaptic_factors(
    cfg: Config, tr_prev: Traces, tr_new: Traces, x: NDArray[Any], z_prev: NDArray[Any]
) -> tuple[NDArray[Any], NDArray[Any]]:
    """e_bar of the input rows and of the recurrent rows, ``(batch, n_in)``, ``(batch, n_rec)``:
    the configured rule's (:meth:`plasticore.golden.rules.LearningRule.presynaptic_factors`).

    e-prop: inputs ``x_bar(t)`` (updated with this tick's x), recurrent ``z_bar(t-1)`` (Wrec
    carried z(t-1) this tick). eRBP: ``trace_inc`` on the presynaptic spike, no trace.
    """
    return RULES[cfg.rule].presynaptic_factors(cfg, tr_prev, tr_new, x, z_prev)


def learned_rows(
    cfg: Config, num: Numerics, tr_prev: Traces, x: NDArray[Any], z_prev: NDArray[Any], z: NDArray[Any]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """The rows a learning tick visits, as the cycle model counts them (batch element 0): the
    presynaptic rows (inputs, then recurrent) whose factor e-bar is nonzero, and the readout
    rows whose presynaptic trace (z~ when the readout keeps its own, else z_bar(t)) is
    nonzero. ``tr_prev``: the traces before the tick; ``x``, ``z_prev``, ``z``: its inputs, the
    spikes it received and the spikes it made, each ``(batch, n)``."""
    tr_new = update_traces(cfg, num, tr_prev, x, z)
    e_in, e_rec = presynaptic_factors(cfg, tr_prev, tr_new, x, z_prev)
    return np.concatenate([e_in[0], e_rec[0]]) != 0, tr_new.readout[0] != 0


def sround(num: Numerics, p: NDArray[Any], s: int, r: NDArray[np.uint32] | None) -> NDArray[Any]:
    """Stochastic rounding of ``p / 2**s``: ``(p + (r & (2**s - 1))) >> s``; float: ``p / 2**s``.

    ``r``: LFSR draws (uint32), one per product. Unbiased: E[sround] = p / 2**s exactly when
    the low bits of r are uniform. |sround - p/2**s| < 1.
    """
    if not _fixed(num):
        return p / (1 << s)
    if r is None:
        raise ValueError("sround: fixed point needs the LFSR draws r")
    rounded: NDArray[np.int64] = (p + (r.astype(np.int64) & ((1 << s) - 1))) >> s
    return rounded


def draw_matrix(
    states: NDArray[np.uint32], rows: int, cols: int, lanes: int
) -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    """LFSR draws for ``rows`` visited rows of ``cols`` post-synaptic columns.

    Each row is ``ceil(cols / lanes)`` words; word ``w``, lane ``l`` is column ``w*lanes + l``;
    every lane draws once per word (lanes past ``cols`` too, unused). Returns the draws
    ``(rows, cols)`` and the new lane states.
    """
    words = -(-cols // lanes)
    vals, states = lfsr_mod.draws(states, rows * words)  # (rows*words, lanes)
    return vals.reshape(rows, words * lanes)[:, :cols], states


def update_rows(
    cfg: Config,
    num: Numerics,
    w_t: NDArray[Any],
    factor: NDArray[Any],
    pre: NDArray[Any],
    shift: int,
    lfsr: NDArray[np.uint32],
    bits: int | None = None,
) -> tuple[NDArray[Any], NDArray[np.uint32]]:
    """One batch element's update of a weight matrix stored row-per-presynaptic-unit.

    ``w_t``: ``(n_pre, n_post)`` (the transpose of ``post x pre``); ``factor``: the post-synaptic
    factor (g_j, or e_k for the readout); ``pre``: the presynaptic factor (e_bar_i, or z_bar_j).
    ``w_t[i, j] <- sat_s(w_t[i, j] + sround(-factor_j * pre_i, shift), w_bits)`` for the rows
    with ``pre_i != 0``, drawing in hardware order (``bits``: the matrix's width, default
    ``w_bits``). Returns the new matrix and LFSR states.
    """
    rows = np.flatnonzero(pre)
    if rows.size == 0:
        return w_t, lfsr
    r, lfsr = draw_matrix(lfsr, rows.size, w_t.shape[1], cfg.lanes)
    p = -np.outer(pre[rows], factor)
    out = w_t.copy()
    out[rows] = num.sat(w_t[rows] + sround(num, p, shift, r), cfg.w_bits if bits is None else bits)
    return out, lfsr


def update_banked_rows(
    cfg: Config,
    num: Numerics,
    w_t: NDArray[Any],
    factor: NDArray[Any],
    pre: NDArray[Any],
    shift: int,
    lfsr: NDArray[np.uint32],
) -> tuple[NDArray[Any], NDArray[np.uint32]]:
    """:func:`update_rows` of the presynaptic table (Win rows, then Wrec rows) by the
    ``weight_banks`` updaters: bank ``b`` updates the rows ``i`` with ``i mod K == b``, in
    order, drawing from lanes ``b*P .. b*P+P-1`` of ``lfsr`` (all ``Config.lfsr_lanes``)."""
    K, P = cfg.weight_banks, cfg.lanes
    lfsr = lfsr.copy()
    bank_of_row = np.arange(len(pre)) % K
    for bank in range(K):
        lanes = slice(bank * P, (bank + 1) * P)
        w_t, lfsr[lanes] = update_rows(cfg, num, w_t, factor, np.where(bank_of_row == bank, pre, 0), shift, lfsr[lanes])
    return w_t, lfsr


def _update_readout(
    cfg: Config, num: Numerics, w_out_t: NDArray[Any], e: NDArray[Any], z_bar: NDArray[Any], lfsr: NDArray[np.uint32]
) -> tuple[NDArray[Any], NDArray[np.uint32]]:
    """The readout update, drawing from ``cfg.readout_lanes``."""
    lfsr = lfsr.copy()
    lanes = cfg.readout_lanes
    w_out_t, lfsr[lanes] = update_rows(
        cfg, num, w_out_t, e, z_bar, cfg.out_lr_shift, lfsr[lanes], cfg.weight_bits["w_out"]
    )
    return w_out_t, lfsr


# -- one learning tick ------------------------------------------------------------------------------


def learn(
    cfg: Config,
    num: Numerics,
    w: Weights,
    prev: State,
    new: State,
    out: TickOut,
    x: NDArray[Any],
    valid: NDArray[Any] | None,
    ls: LearnState,
    rewire_visits: dict[int, int] | None = None,
) -> tuple[Weights, LearnState, NDArray[Any]]:
    """Learning steps 7-11 after a network tick from ``prev`` to ``new`` with output ``out``.

    ``rewire_visits``: if given (fixed point, a synapse table with ``rewire``), gets the table
    rows that pruned a slot and their rewiring candidates (``SynapseTable.update``).

    ``valid``: (batch,) target-valid flags; weights change only where true (None: no target,
    no update). Returns the new weights, the new learning state and h (batch, n_rec).
    """
    num = for_config(num, cfg.twin_saturates)  # the float twin with the hardware's rails
    x = np.asarray(x)
    h = pseudo_derivative(cfg, num, new.u, out.threshold, prev.ref == 0)
    tr_prev = ls.traces
    tr_new = update_traces(cfg, num, tr_prev, x, new.z)
    batch = x.shape[0]
    vmask = np.zeros(batch, dtype=bool) if valid is None else np.asarray(valid, dtype=bool).reshape(batch)
    lfsr = ls.lfsr
    w_in, w_rec, w_out = w.w_in, w.w_rec, w.w_out
    # the sparse Win/Wrec table (plasticore.golden.synapses), or None: the dense matrices
    synapses = w.synapses
    if synapses is None and cfg.synapse_table:
        raise ValueError("weights: connectivity < 1 or rewire needs a synapse table (golden.synapses.sparse_weights)")
    if vmask.any():
        rule = RULES[cfg.rule]
        e_in, e_rec = rule.presynaptic_factors(cfg, tr_prev, tr_new, x, prev.z)
        # learning enables per matrix: a disabled matrix's rows have e_bar = 0, so they are
        # skipped and draw nothing, as the hardware's row updaters skip them
        if not cfg.learn_input:
            e_in = np.zeros_like(e_in)
        if not cfg.learn_recurrent:
            e_rec = np.zeros_like(e_rec)
        g = rule.postsynaptic_factor(cfg, regularized_signal(cfg, num, new.v, tr_prev.z_bar), h)
        if _fixed(num):
            w_pre_t = np.concatenate([w_in.T, w_rec.T])  # rows: inputs 0.., then recurrent 0..
            w_out_t = w_out.T
            for b in np.flatnonzero(vmask):
                e_bar = np.concatenate([e_in[b], e_rec[b]])
                if synapses is None:
                    w_pre_t, lfsr = update_banked_rows(cfg, num, w_pre_t, g[b], e_bar, cfg.lr_shift, lfsr)
                else:
                    synapses, lfsr = synapses.update(cfg, num, g[b], e_bar, lfsr, rewire_visits)
                if cfg.learn_readout:
                    w_out_t, lfsr = _update_readout(cfg, num, w_out_t, out.e[b], tr_new.readout[b], lfsr)
            w_in, w_rec, w_out = w_pre_t[: cfg.n_in].T, w_pre_t[cfg.n_in :].T, w_out_t.T
        else:
            gm = g * vmask[:, None]
            scale = 1.0 / (1 << cfg.lr_shift)
            d_in, d_rec = (gm.T @ e_in) * scale, (gm.T @ e_rec) * scale
            if synapses is None:
                w_in, w_rec = w_in - d_in, w_rec - d_rec
            else:
                synapses, lfsr = synapses.update_float(cfg, d_in, d_rec, lfsr)
            if cfg.learn_readout:
                em = out.e * vmask[:, None]
                w_out = w_out - (em.T @ tr_new.readout) / (1 << cfg.out_lr_shift)
            if cfg.twin_saturates:  # the rails fixed point's sat_s puts on every update
                w_in, w_rec, w_out = (
                    sat(m, cfg.weight_bits[k]) for m, k in ((w_in, "w_in"), (w_rec, "w_rec"), (w_out, "w_out"))
                )
        if synapses is not None:
            w_in, w_rec = synapses.dense(cfg)
        w = Weights(
            np.ascontiguousarray(w_in), np.ascontiguousarray(w_rec), np.ascontiguousarray(w_out), w.b_fb, synapses
        )
        # layers from wiring (golden/layers.py): the masks gate the write-back of the dense
        # table's updates, whose LFSR draws stay as they are; no mask when hidden_layers is 0
        w = mask_weights(cfg, w)
    return w, LearnState(tr_new, lfsr), h


def learning_tick(
    cfg: Config,
    num: Numerics,
    w: Weights,
    s: State,
    ls: LearnState,
    x: NDArray[Any],
    target: NDArray[Any] | None = None,
    valid: NDArray[Any] | None = None,
) -> tuple[Weights, State, LearnState, TickOut]:
    """One network tick (steps 1-6) followed by learning (steps 7-11).

    With no target, only the traces advance (the weights do not change).
    """
    batch = s.u.shape[0]
    if target is not None and valid is None:
        valid = np.ones(batch, dtype=bool)
    new, out = tick(cfg, num, w, s, x, target, valid)
    w, ls, _ = learn(cfg, num, w, s, new, out, x, valid if target is not None else None, ls)
    return w, new, ls, out
