"""Backpropagation through time for the float network of ``plasticore.reference.eprop_model``: the reference.

BPTT computes the gradient of the same objective e-prop follows,

    J = scale * ( sum_t l(y_t)  +  c_reg / 2 sum_j (f_j - f*)^2 ),   mean over the batch,

(``l`` the per-step loss inside the learning window, ``f_j`` neuron j's spikes per step,
``scale = 1 / window`` with NEST's ``average_gradient``), through every path of the network:
recurrent weights, resets, threshold adaptation, the readout filter. The spike's derivative
``dz/dv`` is the same pseudo-derivative ``psi`` that e-prop uses (zero while refractory), so
that the two differ only where e-prop truncates the gradient.

As in Bellec et al. (2020) and their TensorFlow code, the reset ``- v_th z_{t-1}`` carries no
gradient by default (``stop_reset_gradient=True``); set it False for the full derivative.

``smooth_width`` replaces the Heaviside spike with the sigmoid ``z = 1 / (1 + exp(-(v - A) / w))``
and ``psi`` with its exact derivative, so the objective is differentiable and the BPTT
gradient can be checked against finite differences (tests/test_bptt.py).

Entry points: :func:`bptt_gradients` (gradients only) and :func:`bptt_loss_and_gradients`.

``plasticore train --rule bptt`` trains the Config network of :mod:`plasticore.golden.network` instead,
whose dynamics differ (quantized decay factors, weight shifts, zero reset, the hardware's
refractory counter); its BPTT is :mod:`plasticore.training.bptt_train`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .eprop import EpropSpec, network_inputs
from .eprop_model import (
    EpropWeights,
    ParamsError,
    SnnParams,
    check_inputs,
    readout_error,
    seq_dot,
    sequence_loss,
    simulate,
    softmax,
)
from .eprop_scan import leaky_scan

__all__ = ["bptt_gradients", "bptt_loss_and_gradients", "objective", "SmoothRun", "simulate_smooth"]


@dataclass
class SmoothRun:
    """Forward run of the sigmoid-spike network.

    Parameters
    ----------
    z, psi : ndarray, shape (T, batch, n_rec)
        Sigmoid spikes and their derivative ``psi = dz/dv``.
    out : ndarray, shape (T, batch, n_out)
        The readout signal the loss sees.
    x : ndarray, shape (T, batch, n_in)
        The inputs as the network saw them.
    """

    z: np.ndarray
    psi: np.ndarray
    out: np.ndarray
    x: np.ndarray


def simulate_smooth(
    p: SnnParams, w: EpropWeights, x: np.ndarray, width: float, reset_spikes: np.ndarray | None = None
) -> SmoothRun:
    """The network with sigmoid spikes of width ``width`` (voltage units); no refractoriness.

    ``reset_spikes`` ``(T, batch, n)``: use these (frozen) spikes in the reset term instead of
    the network's own. Its gradient is then BPTT's with ``stop_reset_gradient=True``.
    """
    if p.refractory_steps > 1:
        raise ParamsError("t_ref: the smooth (sigmoid) network has no refractory period; use t_ref <= dt")
    if not width > 0:
        raise ParamsError(f"smooth_width: {width!r} must be > 0")
    w.check(p)
    x = check_inputs(p, x)
    T, B, _ = x.shape
    n = p.n_rec
    s_rec = p.rec_input_scale
    i_in = s_rec * seq_dot(x, w.w_in.T)
    v = np.zeros((B, n))
    a = np.zeros((B, n))
    z_prev = np.zeros((B, n))
    zs = np.empty((T, B, n))
    psis = np.empty((T, B, n))
    beta = p.beta
    for t in range(T):
        reset = z_prev if reset_spikes is None else (reset_spikes[t - 1] if t else np.zeros((B, n)))
        v = p.alpha * v + i_in[t] + s_rec * (z_prev @ w.w_rec.T) - p.v_th * reset
        a = p.rho * a + z_prev
        arg = np.clip((v - (p.v_th + beta * a)) / width, -700.0, 700.0)
        z = 1.0 / (1.0 + np.exp(-arg))
        zs[t] = z
        psis[t] = z * (1.0 - z) / width
        z_prev = z
    y = leaky_scan(seq_dot(zs, w.w_out.T), p.kappa, gain=p.out_input_scale)
    out = softmax(y) if p.loss == "cross_entropy" else y
    return SmoothRun(z=zs, psi=psis, out=out, x=x)


def _spec_or_default(spec: EpropSpec | None) -> EpropSpec:
    return EpropSpec() if spec is None else spec


def _reg_per_step(p: SnnParams, spec: EpropSpec, z: np.ndarray) -> np.ndarray:
    """``dR/dz_j(t) = c_reg (f_j - f*) / T``, the same for every step; ``(batch, n)``."""
    T = len(z)
    rate = z.sum(axis=0) / T
    return spec.reg_coefficient * (rate - spec.reg_target_rate_hz * p.dt / 1000.0) / T


def objective(p: SnnParams, spec: EpropSpec, out: np.ndarray, z: np.ndarray, targets: np.ndarray) -> float:
    """``J``: the task loss of :func:`plasticore.reference.eprop_model.sequence_loss` plus the firing-rate
    regularization ``scale * c_reg / 2 sum_j (f_j - f*)^2``, mean over the batch."""
    T = len(z)
    window = spec.window_mask(T)
    loss = sequence_loss(p, out, targets, window, spec.average_gradient)
    if spec.reg_coefficient:
        rate = z.sum(axis=0) / T
        scale = 1.0 / window.sum() if spec.average_gradient else 1.0
        reg = 0.5 * spec.reg_coefficient * np.sum((rate - spec.reg_target_rate_hz * p.dt / 1000.0) ** 2, axis=1)
        loss += float(np.mean(reg)) * scale
    return loss


def bptt_loss_and_gradients(
    params: SnnParams,
    weights: EpropWeights,
    inputs: np.ndarray,
    targets: np.ndarray,
    spec: EpropSpec | None = None,
    *,
    stop_reset_gradient: bool = True,
    smooth_width: float | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """Objective ``J`` and its exact (pseudo-)gradient for a batch.

    ``inputs`` ``(T, batch, n_in)`` 0/1 and ``targets`` ``(T, batch, n_out)`` as for
    :func:`plasticore.reference.eprop.eprop_gradients`; ``spec`` supplies the learning window, averaging,
    regularization and the input convention (``None``: :class:`EpropSpec` defaults). Returns
    ``(J, {"w_in", "w_rec", "w_out"})``, gradients of the batch mean, ``w_rec``'s diagonal 0.
    """
    p, w = params, weights
    spec = _spec_or_default(spec)
    x = network_inputs(spec, check_inputs(p, inputs))
    T, B, _ = x.shape
    targets = np.asarray(targets, dtype=np.float64)
    if targets.shape != (T, B, p.n_out):
        raise ParamsError(f"targets: expected shape {(T, B, p.n_out)}, got {targets.shape}")
    if smooth_width is None:
        run = simulate(p, w, x)
    else:
        run = simulate_smooth(p, w, x, smooth_width)
    z, psi, out = run.z, run.psi, run.out
    window = spec.window_mask(T)
    scale = 1.0 / window.sum() if spec.average_gradient else 1.0
    loss = objective(p, spec, out, z, targets)

    err = readout_error(p, out, targets, window)
    dy = leaky_scan(err, p.kappa, reverse=True)  # dJ/dy_t (unscaled)
    dz_direct = p.out_input_scale * seq_dot(dy, w.w_out)  # through the readout
    if spec.reg_coefficient:
        dz_direct = dz_direct + _reg_per_step(p, spec, z)
    w_rec_back = p.rec_input_scale * w.w_rec  # dv_{t+1}/dz_t (row vector form)
    if not stop_reset_gradient:
        w_rec_back = w_rec_back - p.v_th * np.eye(p.n_rec)
    beta = p.beta
    alif = p.n_alif > 0 and p.adapt_beta > 0
    dv = np.empty((T, B, p.n_rec))
    dv_next = np.zeros((B, p.n_rec))
    da_next = np.zeros((B, p.n_rec))
    for t in range(T - 1, -1, -1):
        dz = dz_direct[t] + dv_next @ w_rec_back
        if alif:
            dz = dz + da_next  # a_{t+1} = rho a_t + z_t
        g = psi[t] * dz
        dv_next = g + p.alpha * dv_next
        if alif:
            da_next = -beta * g + p.rho * da_next
        dv[t] = dv_next
    s = scale / B
    flat = dv.reshape(T * B, p.n_rec)
    grads = {
        "w_in": p.rec_input_scale * (flat.T @ x.reshape(T * B, p.n_in)) * s,
        "w_rec": p.rec_input_scale * (flat[B:].T @ z[:-1].reshape((T - 1) * B, p.n_rec)) * s
        if T > 1
        else np.zeros((p.n_rec, p.n_rec)),
        "w_out": p.out_input_scale * (dy.reshape(T * B, p.n_out).T @ z.reshape(T * B, p.n_rec)) * s,
    }
    np.fill_diagonal(grads["w_rec"], 0.0)
    return loss, grads


def bptt_gradients(
    params: SnnParams,
    weights: EpropWeights,
    inputs: np.ndarray,
    targets: np.ndarray,
    spec: EpropSpec | None = None,
    *,
    stop_reset_gradient: bool = True,
    smooth_width: float | None = None,
) -> dict[str, np.ndarray]:
    """BPTT gradients ``{"w_in", "w_rec", "w_out"}`` of the objective (see the module docstring).

    params: :class:`~plasticore.reference.eprop_model.SnnParams`; weights:
    :class:`~plasticore.reference.eprop_model.EpropWeights`; inputs ``(T, batch, n_in)`` of 0/1; targets
    ``(T, batch, n_out)``; spec: learning window, averaging, regularization (``None``:
    defaults, whole sequence, no regularization).
    """
    return bptt_loss_and_gradients(
        params, weights, inputs, targets, spec, stop_reset_gradient=stop_reset_gradient, smooth_width=smooth_width
    )[1]
