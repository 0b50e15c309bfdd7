"""Many ticks without a target, fast: the network steps and the trace update, weights fixed.

On a tick without a valid target the learning tick changes no weight and draws no LFSR value:
it only advances the network (docs/numerics.md steps 1-6) and the presynaptic traces (step 10).
:func:`free_run` computes exactly those bits for a whole stretch of such ticks, the same as
:func:`plasticore.golden.learning.learning_tick` tick by tick without a target, but with the
input currents of every tick in one product and none of the per-tick checks and objects. The
long cue and delay phases of a sample (2,100 of the cue-reckon task's 2,250 ticks) run through it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .config import Config
from .learning import LearnState, Traces, decay_floor
from .network import State, Weights
from .numerics import Numerics, for_config

__all__ = ["free_run"]


def free_run(
    cfg: Config, num: Numerics, w: Weights, s: State, ls: LearnState, x_seq: NDArray[Any]
) -> tuple[State, LearnState, NDArray[Any]]:
    """Advance ``x_seq`` ``(ticks, batch, n_in)`` of 0/1 spikes with no target.

    Returns the state and learning state after the last tick and the readout Y of every tick
    ``(ticks, batch, n_out)``: the bits of ``learning_tick(cfg, num, w, s, ls, x_seq[t])`` for
    ``t = 0, 1, ...`` (the LFSR lanes and the weights do not change without a target).
    ``w`` must already hold ``num``'s dtype, as the training loop's weights do.
    """
    num = for_config(num, cfg.twin_saturates)
    x_seq = np.asarray(x_seq).astype(np.int64)  # trace_inc * spike must not wrap in uint8
    ticks, batch, n_in = x_seq.shape
    if n_in != cfg.n_in or (x_seq.size and (x_seq.min() < 0 or x_seq.max() > 1)):
        raise ValueError(f"input spikes: expected 0/1 of shape (ticks, batch, n_in={cfg.n_in}), got {x_seq.shape}")
    # step 1's input part for every tick at once; exact: float64 holds in_acc_bits-wide sums
    acc_in = num.matmul(x_seq.reshape(ticks * batch, n_in), w.w_in.T, cfg.in_acc_bits).reshape(ticks, batch, -1)
    w_rec_t, w_out_t = w.w_rec.T, w.w_out.T
    alif = np.asarray(cfg.alif_mask)
    u, a, ref, z, y, v = s.u, s.a, s.ref, s.z, s.y, s.v
    # the last tick's error reaches the dendrite once; without a target every later error is 0
    fb: NDArray[Any] | int = num.rshift(num.matmul(s.e, w.feedback(cfg).T, cfg.fb_acc_bits), cfg.fb_shift)
    x_bar, z_bar, zo_bar = ls.traces.x_bar, ls.traces.z_bar, ls.traces.zo_bar
    inc = cfg.trace_inc
    ys = np.zeros((ticks, batch, cfg.n_out), dtype=num.dtype)

    fixed = np.issubdtype(num.dtype, np.integer)
    rail, db = (1 << cfg.trace_bits) - 1, cfg.decay_bits

    def trace(bar: NDArray[Any], spikes: NDArray[Any], q: int) -> NDArray[Any]:
        if fixed:  # decay_floor and sat_u of an unsigned trace, inline (this loop is the hot one)
            fixed_new: NDArray[Any] = np.minimum(((bar * q) >> db) + inc * spikes, rail)
            return fixed_new
        new = decay_floor(num, bar, q, db) + inc * spikes
        return num.sat(new, cfg.trace_bits, signed=False).astype(num.dtype)

    for t in range(ticks):
        current = num.lshift(acc_in[t] + num.matmul(z, w_rec_t, cfg.in_acc_bits), cfg.w_shift)
        if cfg.n_alif:
            a = num.decay(a, cfg.rho_q, cfg.decay_bits) + cfg.adapt_inc * z
            a = np.where(alif, num.sat(a, cfg.a_bits, signed=False), 0)
        v = num.sat(num.decay(v, cfg.gamma_q, cfg.decay_bits) + fb, cfg.v_bits)
        fb = 0
        leaked = num.decay(u, cfg.alpha_q, cfg.decay_bits)
        if cfg.reset == "subtract":
            u = num.sat(leaked + current - cfg.threshold * z, cfg.u_bits)
        else:
            u = num.sat(np.where(z == 1, 0, leaked) + current, cfg.u_bits)
        z = ((u >= cfg.threshold + a) & (ref == 0)).astype(np.int64)
        ref = np.where(z == 1, cfg.refractory, np.maximum(ref - 1, 0))
        y = num.sat(
            num.decay(y, cfg.kappa_q, cfg.decay_bits)
            + num.lshift(num.matmul(z, w_out_t, cfg.out_acc_bits), cfg.out_shift),
            cfg.y_bits,
        )
        ys[t] = y
        x_bar = trace(x_bar, x_seq[t], cfg.trace_q)
        z_bar = trace(z_bar, z, cfg.trace_q)
        if zo_bar is not None and cfg.readout_trace_q is not None:
            zo_bar = trace(zo_bar, z, cfg.readout_trace_q)
    state = State(u=u, a=a, ref=ref, z=z, y=y, v=v, e=np.zeros_like(s.e))
    return state, LearnState(Traces(x_bar, z_bar, zo_bar), ls.lfsr), ys
