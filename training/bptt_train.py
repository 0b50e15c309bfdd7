"""BPTT for the Config network of :mod:`plasticore.golden.network` (float numerics), and its loop.

:mod:`plasticore.reference.bptt` differentiates plasticore.reference.eprop_model's NEST-unit
network; ``plasticore train`` trains and scores the Config network of
:func:`plasticore.golden.network.tick`. The two are not the same dynamics (quantized decay
factors ``alpha_q / 2**decay_bits``, ``w_shift`` / ``out_shift`` gains, zero reset, the
refractory counter of the hardware), so this module runs BPTT directly on the equations of
``tick`` under :class:`~plasticore.golden.numerics.FloatNumerics` (no rounding, no saturation):

    I(t)  = 2**w_shift (W_in x(t) + W_rec z(t-1))
    a(t)  = rho a(t-1) + adapt_inc z(t-1)                         (ALIF neurons; 0 for LIF)
    u(t)  = alpha u(t-1) + I(t) - threshold z(t-1)                 (reset "subtract")
          = (1 - z(t-1)) alpha u(t-1) + I(t)                       (reset "zero")
    z(t)  = H(u(t) - threshold - a(t)) while not refractory
    y(t)  = kappa y(t-1) + 2**out_shift W_out z(t)
    e(t)  = y(t) - y*(t) on valid ticks, 0 elsewhere

The dendrite V of ``tick`` only carries e-prop's learning signal; it does not act on u, so it
is not part of the forward pass here. :func:`forward` reproduces ``tick``'s spikes and readouts
tick for tick (tests/test_bptt_train.py).

Objective, in readout LSBs (the error the hardware-form rules descend), mean over the batch:

    L = 1/2 sum_t sum_k e_k(t)**2

Spike derivative ``dz/du = psi = h / (2**h_bits * pd_window)``: ``h`` is
:func:`plasticore.golden.learning.pseudo_derivative` (the config's boxcar or piecewise-linear shape,
zero while refractory) on ``u - (threshold + a)``; for the piecewise-linear shape this is
``max(0, 1 - |u - A| / pd_window) / pd_window``, a triangle of unit area. As in Bellec et al.
(2020) the reset carries no gradient by default (``stop_reset_gradient``); the adaptation
``a`` does. ``smooth_width`` replaces the step by the sigmoid ``1 / (1 + exp(-(u - A) / w))``
and psi by its exact derivative, so that finite differences can check the gradient.

Entry points: :func:`forward`, :func:`loss_and_gradients`, :func:`train_bptt` (the trainer of
``plasticore train --rule bptt --numerics float``, called by :func:`plasticore.training.train.train`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from plasticore.golden.config import Config
from plasticore.golden.learning import pseudo_derivative
from plasticore.golden.network import Weights, init_state, tick
from plasticore.golden.numerics import FixedNumerics, FloatNumerics, signed_range
from plasticore.reference.optimizers import Adam
from plasticore.tasks import Task

from .common import Progress, TaskSpec, task_targets

__all__ = [
    "ConfigRun",
    "forward",
    "forward_fixed",
    "backward",
    "objective",
    "psi_scale",
    "loss_and_gradients",
    "quantize",
    "Adam",
    "BPTT_LR",
    "train_bptt",
]

_FLOAT = FloatNumerics()
_FIXED = FixedNumerics()

#: Adam step size in weight LSBs at batch 1, every task; a batch of B samples steps sqrt(B)
#: times as far (the gradient's noise falls as 1/sqrt(B)). Chosen on cue and digits as the
#: step that gave the steadiest training curves.
BPTT_LR = 0.05


def _decays(cfg: Config) -> tuple[float, float, float]:
    d = float(1 << cfg.decay_bits)
    return cfg.alpha_q / d, cfg.rho_q / d, cfg.kappa_q / d


def psi_scale(cfg: Config) -> float:
    """Factor from the hardware's ``h`` (0 .. 2**h_bits) to ``dz/du`` per soma LSB."""
    return 1.0 / ((1 << cfg.h_bits) * cfg.pd_window)


@dataclass
class ConfigRun:
    """A forward run (:func:`forward` or :func:`forward_fixed`), as float64.

    Parameters
    ----------
    x : ndarray, shape (ticks, batch, n_in)
        Input spikes.
    u, a, z, psi : ndarray, shape (ticks, batch, n_rec)
        Soma, adaptation, spikes and ``psi = dz/du`` of each tick.
    y, e : ndarray, shape (ticks, batch, n_out)
        Readout and error (zero on ticks that are not valid).
    """

    x: np.ndarray
    u: np.ndarray
    a: np.ndarray
    z: np.ndarray
    psi: np.ndarray
    y: np.ndarray
    e: np.ndarray


def forward(
    cfg: Config,
    w: Weights,
    x: np.ndarray,
    targets: np.ndarray | None = None,
    valid: np.ndarray | None = None,
    smooth_width: float | None = None,
    reset_spikes: np.ndarray | None = None,
) -> ConfigRun:
    """Run ``x`` ``(ticks, batch, n_in)`` from the reset state, float numerics.

    ``targets`` ``(ticks, batch, n_out)`` in readout LSBs and ``valid`` ``(ticks, batch)``
    give the error (zero without targets). ``smooth_width``: sigmoid spikes of that width (soma
    LSBs), no refractoriness (the config's ``refractory`` must be 0). ``reset_spikes``: use
    these frozen spikes in the reset term (for checking ``stop_reset_gradient``).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != cfg.n_in:
        raise ValueError(f"inputs: expected (ticks, batch, n_in={cfg.n_in}), got shape {x.shape}")
    if smooth_width is not None:
        if not smooth_width > 0:
            raise ValueError(f"smooth_width: {smooth_width!r} must be > 0")
        if cfg.refractory:
            raise ValueError("refractory: the smooth (sigmoid) network has no refractory period; use refractory=0")
    T, B, _ = x.shape
    n = cfg.n_rec
    alpha, rho, kappa = _decays(cfg)
    gain_in, gain_out = float(1 << cfg.w_shift), float(1 << cfg.out_shift)
    alif = np.asarray(cfg.alif_mask)
    w_in, w_rec, w_out = (np.asarray(m, dtype=np.float64) for m in (w.w_in, w.w_rec, w.w_out))
    drive = (x.reshape(T * B, cfg.n_in) @ w_in.T).reshape(T, B, n)
    u = np.zeros((B, n))
    a = np.zeros((B, n))
    z = np.zeros((B, n))
    ref = np.zeros((B, n), dtype=np.int64)
    us, as_, zs, psis = (np.empty((T, B, n)) for _ in range(4))
    scale = psi_scale(cfg)
    for t in range(T):
        reset = z if reset_spikes is None else (reset_spikes[t - 1] if t else np.zeros((B, n)))
        current = (drive[t] + z @ w_rec.T) * gain_in
        a = np.where(alif, rho * a + cfg.adapt_inc * z, 0.0)
        if cfg.reset == "subtract":
            u = alpha * u + current - cfg.threshold * reset
        else:
            u = (1.0 - reset) * (alpha * u) + current
        thr = cfg.threshold + a
        if smooth_width is None:
            ready = ref == 0
            z = ((u >= thr) & ready).astype(np.float64)
            psis[t] = pseudo_derivative(cfg, _FLOAT, u, thr, ready) * scale
            ref = np.where(z == 1, cfg.refractory, np.maximum(ref - 1, 0))
        else:
            arg = np.clip((u - thr) / smooth_width, -700.0, 700.0)
            z = 1.0 / (1.0 + np.exp(-arg))
            psis[t] = z * (1.0 - z) / smooth_width
        us[t], as_[t], zs[t] = u, a, z
    out = (zs.reshape(T * B, n) @ w_out.T).reshape(T, B, cfg.n_out) * gain_out
    y = np.empty_like(out)
    acc = np.zeros((B, cfg.n_out))
    for t in range(T):
        acc = kappa * acc + out[t]
        y[t] = acc
    if targets is None:
        e = np.zeros_like(y)
    else:
        vmask = np.ones((T, B)) if valid is None else np.asarray(valid, dtype=np.float64)
        e = (y - np.asarray(targets, dtype=np.float64)) * vmask[:, :, None]
    return ConfigRun(x=x, u=us, a=as_, z=zs, psi=psis, y=y, e=e)


def forward_fixed(
    cfg: Config, w: Weights, x: np.ndarray, targets: np.ndarray | None = None, valid: np.ndarray | None = None
) -> ConfigRun:
    """Run ``x`` ``(ticks, batch, n_in)`` from the reset state on the fixed-point network: the
    hardware's own tick (:func:`plasticore.golden.network.tick` under FixedNumerics, integer weights,
    rounding and saturation), recorded as floats for :func:`backward`.

    ``psi`` is the float pseudo-derivative at the fixed-point ``u - A`` (quantization-aware
    training with a straight-through estimator: the backward pass treats rounding and
    saturation as identities).
    """
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != cfg.n_in:
        raise ValueError(f"inputs: expected (ticks, batch, n_in={cfg.n_in}), got shape {x.shape}")
    T, B, _ = x.shape
    n = cfg.n_rec
    wi = w.astype(np.int64)
    s = init_state(cfg, _FIXED, B)
    us, as_, zs, psis = (np.empty((T, B, n)) for _ in range(4))
    y = np.empty((T, B, cfg.n_out))
    e = np.zeros((T, B, cfg.n_out))
    scale = psi_scale(cfg)
    xi = x.astype(np.int64)
    for t in range(T):
        tg = None if targets is None else np.asarray(targets[t], dtype=np.int64)
        vd = None if valid is None else np.asarray(valid[t], dtype=bool)
        new, out = tick(cfg, _FIXED, wi, s, xi[t], tg, vd)
        us[t], as_[t], zs[t], y[t], e[t] = new.u, new.a, new.z, new.y, out.e
        psis[t] = (
            pseudo_derivative(cfg, _FLOAT, new.u.astype(np.float64), out.threshold.astype(np.float64), s.ref == 0)
            * scale
        )
        s = new
    return ConfigRun(x=x.astype(np.float64), u=us, a=as_, z=zs, psi=psis, y=y, e=e)


def quantize(cfg: Config, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The hardware weights of float shadow weights: rounded to integers, clipped to their width."""
    out = {}
    for k, v in params.items():
        lo, hi = signed_range(cfg.weight_bits[k])
        out[k] = np.clip(np.rint(v), lo, hi).astype(np.int64)
    return out


def objective(run: ConfigRun) -> float:
    """``L = 1/2 sum_t sum_k e**2``, mean over the batch."""
    return 0.5 * float(np.sum(run.e**2)) / run.e.shape[1]


def loss_and_gradients(
    cfg: Config,
    w: Weights,
    x: np.ndarray,
    targets: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    stop_reset_gradient: bool = True,
    smooth_width: float | None = None,
    zero_diagonal: bool = True,
) -> tuple[float, dict[str, np.ndarray]]:
    """``L`` and its BPTT (pseudo-)gradient ``{"w_in", "w_rec", "w_out"}`` for a batch.

    ``x`` ``(ticks, batch, n_in)`` 0/1, ``targets`` ``(ticks, batch, n_out)`` readout LSBs,
    ``valid`` ``(ticks, batch)``. ``zero_diagonal``: no gradient for the self-connections of
    ``w_rec`` (they start at 0 and stay 0, as in plasticore.reference.bptt).
    """
    run = forward(cfg, w, x, targets, valid, smooth_width)
    return objective(run), backward(cfg, w, run, stop_reset_gradient=stop_reset_gradient, zero_diagonal=zero_diagonal)


def backward(
    cfg: Config,
    w: Weights,
    run: ConfigRun,
    *,
    stop_reset_gradient: bool = True,
    zero_diagonal: bool = True,
    dz_extra: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The BPTT (pseudo-)gradient of ``L`` for a recorded ``run`` (float or fixed forward).

    ``dz_extra`` ``(ticks, batch, n_rec)``: the derivative of a further term of the objective
    with respect to each spike (e.g. a firing-rate regularizer), added to the readout's.
    """
    T, B, _ = run.x.shape
    n = cfg.n_rec
    alpha, rho, kappa = _decays(cfg)
    gain_in, gain_out = float(1 << cfg.w_shift), float(1 << cfg.out_shift)
    alif = np.asarray(cfg.alif_mask, dtype=np.float64)
    has_alif = cfg.n_alif > 0
    w_rec, w_out = np.asarray(w.w_rec, dtype=np.float64), np.asarray(w.w_out, dtype=np.float64)

    dy = np.empty_like(run.e)  # dL/dy(t): reverse leaky scan of e
    acc = np.zeros((B, cfg.n_out))
    for t in range(T - 1, -1, -1):
        acc = run.e[t] + kappa * acc
        dy[t] = acc
    dz_direct = gain_out * (dy.reshape(T * B, -1) @ w_out).reshape(T, B, n)
    if dz_extra is not None:
        dz_direct = dz_direct + dz_extra
    rec_back = gain_in * w_rec  # du(t+1)/dz(t), row-vector form
    if not stop_reset_gradient and cfg.reset == "subtract":
        rec_back = rec_back - cfg.threshold * np.eye(n)
    du = np.empty((T, B, n))
    du_next = np.zeros((B, n))
    da_next = np.zeros((B, n))
    for t in range(T - 1, -1, -1):
        dz = dz_direct[t] + du_next @ rec_back
        if not stop_reset_gradient and cfg.reset == "zero":
            dz = dz - alpha * run.u[t] * du_next
        if has_alif:
            dz = dz + cfg.adapt_inc * da_next  # a(t+1) = rho a(t) + adapt_inc z(t)
        g = run.psi[t] * dz
        leak = alpha if cfg.reset == "subtract" else alpha * (1.0 - run.z[t])
        du_next = g + leak * du_next
        if has_alif:
            da_next = alif * (-g + rho * da_next)
        du[t] = du_next
    flat = du.reshape(T * B, n)
    grads = {
        "w_in": gain_in * (flat.T @ run.x.reshape(T * B, cfg.n_in)) / B,
        "w_rec": gain_in * (flat[B:].T @ run.z[:-1].reshape((T - 1) * B, n)) / B if T > 1 else np.zeros((n, n)),
        "w_out": gain_out * (dy.reshape(T * B, -1).T @ run.z.reshape(T * B, n)) / B,
    }
    if zero_diagonal:
        np.fill_diagonal(grads["w_rec"], 0.0)
    return grads


def train_bptt(
    cfg: Config,
    w: Weights,
    task: Task,
    spec: TaskSpec,
    epochs: int,
    batch: int,
    rng: np.random.Generator,
    progress: Progress,
    evaluate_fn: Callable[[Weights], float],
    lr: float | None = None,
    numerics: str = "float",
) -> tuple[Weights, list[float]]:
    """Train ``w`` on ``task.train`` with BPTT + Adam; return the weights and the held-out curve.

    One Adam step per batch of ``batch`` samples (state reset per sample), samples in a fresh
    ``rng`` permutation every epoch; targets are ``spec.target_scale`` readout LSBs per unit.
    ``lr`` (default :data:`BPTT_LR` times ``sqrt(batch)``) halves every
    ``spec.anneal_every`` epochs, as the hardware rules' learning-rate shifts grow by one.
    ``evaluate_fn(w)`` after each epoch gives the curve. ``w_in``, ``w_rec``, ``w_out`` learn
    (from epoch ``spec.hidden_epochs`` on, ``w_out`` alone, as the hardware rules' learning
    enables); feedback ``b_fb`` is unused.

    ``numerics="fixed"``: quantization-aware training for the fixed-point network. Adam moves
    float shadow weights; every forward pass runs the hardware's integer tick
    (:func:`forward_fixed`) on the shadow weights rounded and clipped to their widths
    (:func:`quantize`), and the gradient flows straight through the rounding. The shadow
    weights are kept within half an LSB of the rails. The returned weights are the integers.
    This is offline training on the host: the chip runs the result; it does not learn it.
    """
    if numerics not in ("float", "fixed"):
        raise ValueError(f"numerics: {numerics!r} is not float or fixed")
    fixed = numerics == "fixed"
    split = task.train
    lr0 = BPTT_LR * np.sqrt(batch) if lr is None else lr
    opt = Adam(lr0)
    targets = task_targets(split, spec.target_scale, _FIXED if fixed else _FLOAT, spec.target_offset)
    params = {k: np.array(getattr(w, k), dtype=np.float64) for k in ("w_in", "w_rec", "w_out")}
    b_fb = np.asarray(w.b_fb, dtype=np.int64 if fixed else np.float64)
    rails = {k: signed_range(cfg.weight_bits[k]) for k in params}

    def weights(p: dict[str, np.ndarray]) -> Weights:
        if fixed:
            p = quantize(cfg, p)
        return Weights(p["w_in"], p["w_rec"], p["w_out"], b_fb)

    curve: list[float] = []
    for ep in range(epochs):
        if spec.anneal_every:
            opt.lr = lr0 / 2 ** (ep // spec.anneal_every)
        readout_only = spec.hidden_epochs is not None and ep >= spec.hidden_epochs
        order = rng.permutation(len(split))
        starts = range(0, len(order), batch)
        for lo in progress(starts, f"{task.name} bptt {numerics} epoch {ep + 1}/{epochs}", len(starts)):
            idx = order[lo : lo + batch]
            xs = np.swapaxes(split.x[idx], 0, 1)
            tg = np.swapaxes(targets[idx], 0, 1)
            vd = np.swapaxes(split.valid[idx], 0, 1)
            wk = weights(params)
            if fixed:
                grads = backward(cfg, wk, forward_fixed(cfg, wk, xs, tg, vd))
            else:
                _, grads = loss_and_gradients(cfg, wk, xs.astype(np.float64), tg, vd)
            if readout_only:
                grads = {"w_out": grads["w_out"]}
            params = {**params, **opt.step(params, grads)}
            if fixed:
                params = {k: np.clip(v, rails[k][0] - 0.5, rails[k][1] + 0.5) for k, v in params.items()}
        w = weights(params)
        curve.append(evaluate_fn(w))
    return w, curve
