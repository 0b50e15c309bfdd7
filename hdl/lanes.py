"""The per-lane arithmetic of a tick: one neuron update and one readout update.

These builders return combinational expressions for one lane; the core instantiates them P
times side by side. They follow golden/network.py step for step (the step numbers are those
of docs/numerics.md), so a reader can hold the two files next to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Mux, Value

from plasticore.golden.config import Config

from .arith import const_mul, decay, rshift_round, saturate

__all__ = [
    "NeuronOut",
    "neuron_update",
    "readout_update",
    "readout_error",
    "pseudo_derivative",
    "regularized_signal",
    "trace_update",
]


@dataclass
class NeuronOut:
    """The results of :func:`neuron_update` for one lane.

    Parameters
    ----------
    u, a, ref, v : Value
        The new soma potential, adaptation, refractory counter and dendrite potential.
    z : Value
        The spike z(t).
    """

    u: Value
    a: Value
    ref: Value
    v: Value
    z: Value


def neuron_update(
    cfg: Config,
    *,
    acc: Value,
    fb: Value,
    u: Value,
    a: Value,
    ref: Value,
    v: Value,
    z_prev: Value,
    is_alif: Value,
    is_real: Value,
    threshold: Value | int | None = None,
) -> NeuronOut:
    """Steps 1-5 of a tick for one neuron, given its accumulated synaptic sum ``acc`` and the
    accumulated feedback ``fb = sum_k B[j,k] e_k(t-1)``; ``threshold``: the base threshold
    (a run-time register; None: ``cfg.threshold``)."""
    theta = cfg.threshold if threshold is None else threshold
    d, logic = cfg.decay_bits, cfg.decay_multipliers == "logic"
    # 1. synaptic current
    current = acc << cfg.w_shift
    # 2. adaptation (ALIF only)
    a_next = saturate(decay(a, cfg.rho_q, d, logic) + Mux(z_prev, cfg.adapt_inc, 0), cfg.a_bits, is_signed=False)
    a_new = Mux(is_alif, a_next, 0)
    # 3. dendrite
    v_new = saturate(decay(v, cfg.gamma_q, d, logic) + rshift_round(fb, cfg.fb_shift), cfg.v_bits)
    # 4. soma
    leaked = decay(u, cfg.alpha_q, d, logic)
    if cfg.reset == "subtract":
        u_sum = leaked + current - Mux(z_prev, theta, 0)
    else:
        u_sum = Mux(z_prev, 0, leaked) + current
    u_new = saturate(u_sum, cfg.u_bits)
    # 5. spike and refractory counter
    z = (u_new >= theta + a_new) & (ref == 0) & is_real
    ref_new = Mux(z, cfg.refractory, Mux(ref == 0, 0, ref - 1))
    return NeuronOut(u=u_new, a=a_new, ref=ref_new[: cfg.ref_bits], v=v_new, z=z)


def readout_update(cfg: Config, *, y: Value, out_acc: Value) -> Value:
    """Step 6 for one readout, first half: the new Y."""
    decayed = decay(y, cfg.kappa_q, cfg.decay_bits, cfg.decay_multipliers == "logic")
    return saturate(decayed + (out_acc << cfg.out_shift), cfg.y_bits)


def readout_error(cfg: Config, *, y_new: Value, target: Value, counts: Value) -> Value:
    """Step 6, second half: the error e of the new Y, zero where it does not count (the target
    is not valid, or the lane is past the last readout); with ``cfg.error_clamp`` = C, Y enters
    the error clamped to ``[-C, C]`` (Y itself, the state, is not)."""
    y = y_new
    if cfg.error_clamp is not None:
        # the bounded output error: a readout past its target stops pushing (two comparisons and
        # a multiplexer; C <= 2**(y_bits-1) - 1, so the clamped Y still fits Y's width)
        c = cfg.error_clamp
        y = Mux(y_new > c, c, Mux(y_new < -c, -c, y_new))
    return Mux(counts, saturate(y - target, cfg.e_bits), 0)


def pseudo_derivative(cfg: Config, *, u: Value, threshold: Value, ready: Value) -> Value:
    """Step 7 of learning: h in ``0 .. 2**h_bits - 1`` from the U and A the spike compared;
    zero while refractory (``ready`` low)."""
    d = u - threshold
    h_max = (1 << cfg.h_bits) - 1
    if cfg.pseudo_derivative == "boxcar":
        h = Mux((d > -cfg.pd_window) & (d < cfg.pd_window), h_max, 0)
    elif cfg.pseudo_derivative == "step":
        # one-sided: a neuron driven far above its threshold keeps its eligibility
        h = Mux(d > -cfg.pd_window, h_max, 0)
    else:
        magnitude = Mux(d < 0, -d, d)
        tri = Mux(magnitude < cfg.pd_window, cfg.pd_window - magnitude, 0)
        h = saturate(rshift_round(tri, cfg.pd_shift), cfg.h_bits, is_signed=False)
    return Mux(ready, h, 0)


def regularized_signal(cfg: Config, *, v: Value, z_bar: Value) -> Value:
    """Steps 8-9 of learning: the learning signal V' that g = V'*h is formed with; with
    ``cfg.rate_target`` = F, ``sat_s(V + rshift(max(0, z_bar - F), rate_reg_shift), v_bits)``
    from the neuron's own trace z_bar(t-1), else V itself (V, the state, is not changed)."""
    if cfg.rate_target is None:
        return v
    # one-sided: only a neuron firing above the target rate is pushed (a comparison, a
    # subtraction, a rounding shift and an adder; the result keeps V's width, so the product
    # g = V'*h and the factored layout are as wide as without it)
    excess = Mux(z_bar > cfg.rate_target, z_bar - cfg.rate_target, 0)
    return saturate(v + rshift_round(excess, cfg.rate_reg_shift), cfg.v_bits)


def trace_update(cfg: Config, *, bar: Value, spike: Value, q: int | None = None) -> Value:
    """Step 10: ``sat_u(decay_floor(bar, q) + trace_inc * spike, trace_bits)``, ``q`` the
    traces' ``trace_q`` unless given (the readout's own trace: ``readout_trace_q``)."""
    q = cfg.trace_q if q is None else q
    decayed = const_mul(bar, q, cfg.decay_multipliers == "logic") >> cfg.decay_bits
    return saturate(decayed + Mux(spike, cfg.trace_inc, 0), cfg.trace_bits, is_signed=False)
