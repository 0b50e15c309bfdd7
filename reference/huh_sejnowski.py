"""Huh & Sejnowski (2018): a differentiable recurrent spiking network and its exact gradient, in float.

Source followed: D. Huh and T. J. Sejnowski, "Gradient descent for spiking neural networks",
NeurIPS 2018 (arXiv:1706.04698). What could be checked against the paper's text: the synapse
model ``tau ds/dt = -s + g(v) dv/dt`` with a non-negative gate ``g`` that is ``1/Delta`` on an
active zone of width ``Delta`` around the threshold and 0 elsewhere, so that a full crossing
delivers unit charge (``integral s dt = 1``) whatever the speed of the crossing and a partial
one a graded charge (their Fig. 1, whose caption says "the effect of voltage reset is ignored
for the purpose of illustration"); the network state ``(v, s)``, input current
``I = W s + U i``, a linear readout of ``s``; the exact gradient by back-propagating adjoint
state variables. The paper's method section (its neuron model's reset, the task settings) could
not be retrieved through the search tool, and no public code of the paper exists (SEEDS.md), so
the reset below is this module's choice, stated as such; it is not checked against the paper.

Model (one tick = the chip's time step; all factors per tick)
--------------------------------------------------------------
The membrane is the chip's LIF (``plasticore.golden``: ``U <- alpha U + I``). The gate's charge
over a tick is the exact integral of ``g(v) dv/dt`` along the tick's flow, i.e. the increase of
the gate's primitive ``G`` (a ramp from 0 to 1 across the active zone)::

    G(v) = clip((v - theta) / Delta + 1/2, 0, 1),      g(v) = G'(v) = 1/Delta on |v - theta| < Delta/2

    I_t   = W_in x_t + W_rec s_{t-1}                    input and recurrent current
    Ut_t  = alpha U_{t-1} + I_t                          flow of the tick (leak + input), pre-reset
    c_t   = G(Ut_t) - G(U_{t-1})                         charge: integral of g(v) dv over the flow
    U_t   = Ut_t - R c_t                                 reset, driven by the same gate
                                                         (reset_mode "zero": (1 - c_t) Ut_t, below)
    s_t   = kappa_s s_{t-1} + (1 - kappa_s) c_t          synaptic current, tau_s ds/dt = -s + g dv/dt
    y_t   = kappa_out y_{t-1} + W_out s_t                readout: leaky sum of s

``c`` replaces the chip's spike ``z`` everywhere (recurrence, reset, readout). A full crossing
within a tick gives ``c = 1``; the ``(1 - kappa_s)`` normalization makes ``sum_t s_t = sum_t c_t``
exactly, the discrete form of ``integral s dt = integral g dv``.

Reset. The charge is measured on the flow only: the reset is a jump that bypasses the gate
(otherwise the jump back through the active zone would return the charge, and the total charge
``sum c = G(U_T) - G(U_0)`` would stay bounded by 1). Its size is ``R`` per unit charge, so it
is graded and differentiable like the charge itself (a partial entry into the zone gives a
partial reset); with ``Delta < R`` the reset leaves the membrane below the zone, and a slow
depolarization then delivers its charge in pieces, one unit per ``R`` of integrated input, the
rate of the hard neuron with subtractive reset. The default ``R = theta / alpha`` makes the
pre-reset potential ``Ut`` follow golden's ``reset == "subtract"`` line exactly,
``Ut_t = alpha Ut_{t-1} + I_t - theta c_{t-1}`` (the chip subtracts ``theta`` one tick later,
after the leak), so that as ``Delta -> 0`` the network becomes the chip's hard-threshold LIF with
``z_t = [Ut_t >= theta]`` (up to the value exactly at threshold), ``s = z`` when ``kappa_s = 0``
(tests/test_huh_sejnowski.py checks this limit). The limit holds while one reset brings the
membrane back below the zone (``Ut < theta + R - Delta/2``, always true for per-tick currents
below about ``1.2 theta``): a membrane left above the zone delivers no charge until it falls back
through it, where the chip spikes on every tick it stays above threshold.

Reset to zero (``reset_mode="zero"``, also this module's choice): ``U_t = (1 - c_t) Ut_t``, the
charge scales the potential down, all the way to 0 after a full crossing. It is the limit of
golden's ``reset == "zero"`` line, ``Ut_t = (1 - z_{t-1}) alpha Ut_{t-1} + I_t``, at every
drive: after a full charge the membrane starts the next flow at 0, below the zone, and without
a charge it ended the tick below the zone, so as ``Delta -> 0`` every tick's charge is
``[Ut_t >= theta]``, the chip's spike, also where the subtractive form above falls silent. Its
adjoint differs in two lines: ``cbar_t = (1 - kappa_s) sbar_t - Ut_t Ubar_t`` and
``Ibar_t = (1 - c_t) Ubar_t + g(Ut_t) cbar_t``.

Gradient. :func:`gradients` is backpropagation through time of exactly this discrete map (the
discrete adjoint of the paper's continuous adjoint equations), analytic, with ``g`` the
derivative of ``G`` (the map is piecewise linear in the membrane; it is differentiable except
where a potential sits exactly on a zone edge, where this derivative takes the open interval).
With ``dL/dy_t`` the loss's direct derivative, going backwards (``v'`` is ``v`` at ``t+1``)::

    ybar_t = dl_t/dy_t + kappa_out ybar'
    sbar_t = W_out^T ybar_t + kappa_s sbar' + W_rec^T Ibar'
    Ubar_t = alpha Ibar' - g(U_t) cbar'                     (U_t is the start of the next flow)
    cbar_t = (1 - kappa_s) sbar_t - R Ubar_t
    Ibar_t = Ubar_t + g(Ut_t) cbar_t                        (= dL/dUt_t = dL/dI_t)

    dL/dW_out = sum_t ybar_t s_t^T,  dL/dW_in = sum_t Ibar_t x_t^T,  dL/dW_rec = sum_t Ibar_t s_{t-1}^T

Loss (delayed-memory XOR, as :func:`plasticore.tasks.xor.xor_task` sets it): cross-entropy of
``softmax(y_t)`` against one-hot targets on the decision window (the ticks after the go cue),
averaged over the window's (sample, tick) entries; or half the mean squared error there.

Entry points: :class:`HSParams`, :func:`init_weights`, :func:`forward`, :func:`loss`,
:func:`gradients`, :func:`loss_and_gradients`, :func:`train`. Inputs are ``(batch, T, n_in)``
(the layout of ``plasticore.tasks``), weights a dict ``{"w_in": (n_rec, n_in), "w_rec":
(n_rec, n_rec), "w_out": (n_out, n_rec)}`` as :mod:`plasticore.reference.optimizers` takes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .optimizers import Adam, Optimizer

__all__ = [
    "LOSSES",
    "RESET_MODES",
    "HSParams",
    "HSRun",
    "gate",
    "gate_integral",
    "init_weights",
    "forward",
    "loss",
    "gradients",
    "loss_and_gradients",
    "train",
]

#: the losses :func:`loss` knows
LOSSES = ("cross_entropy", "mse")
#: how the charge resets the membrane (:class:`HSParams` ``reset_mode``)
RESET_MODES = ("subtract", "zero")

Weights = dict[str, np.ndarray]


@dataclass(frozen=True)
class HSParams:
    """Sizes and constants of the network (all time constants as factors per tick).

    Parameters
    ----------
    n_in, n_rec, n_out : int
        Input channels, recurrent neurons, readout channels.
    alpha : float
        Membrane leak factor per tick (golden's ``alpha``), ``U <- alpha U + I``.
    theta : float
        Threshold: the centre of the gate's active zone.
    delta : float
        Width of the active zone (the gate is ``1/delta`` inside); > 0.
    kappa_s : float
        Synaptic decay per tick, ``exp(-dt/tau_s)``; 0 makes ``s`` the charge of the tick.
    kappa_out : float
        Readout decay per tick (golden's ``kappa``).
    reset : float or None
        Membrane reset per unit charge ``R``; None: ``theta / alpha``, the chip's subtractive
        reset (module docstring). Only for ``reset_mode="subtract"``.
    reset_mode : {"subtract", "zero"}
        ``U = Ut - R c`` (the chip's ``reset == "subtract"`` as ``Delta -> 0``, below about
        ``2 theta``) or ``U = (1 - c) Ut`` (the chip's ``reset == "zero"``, at every drive).
    loss : {"cross_entropy", "mse"}
        The loss of :func:`loss`.
    """

    n_in: int
    n_rec: int
    n_out: int
    alpha: float = 0.95
    theta: float = 1.0
    delta: float = 0.5
    kappa_s: float = 0.0
    kappa_out: float = 0.9
    reset: float | None = None
    loss: str = "cross_entropy"
    reset_mode: str = "subtract"

    def __post_init__(self) -> None:
        for name in ("n_in", "n_rec", "n_out"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: {getattr(self, name)!r} must be >= 1")
        if not self.delta > 0:
            raise ValueError(f"delta: {self.delta!r} must be > 0")
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha: {self.alpha!r} must be in (0, 1]")
        for name in ("kappa_s", "kappa_out"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name}: {getattr(self, name)!r} must be in [0, 1)")
        if self.loss not in LOSSES:
            raise ValueError(f"loss: {self.loss!r} is not one of {', '.join(LOSSES)}")
        if self.reset_mode not in RESET_MODES:
            raise ValueError(f"reset_mode: {self.reset_mode!r} is not one of {', '.join(RESET_MODES)}")

    @property
    def reset_per_charge(self) -> float:
        """``R``: the membrane's drop per unit charge (``theta / alpha`` unless ``reset`` is set)."""
        return self.theta / self.alpha if self.reset is None else float(self.reset)


@dataclass
class HSRun:
    """One forward run; arrays are ``(T, batch, n)``.

    Parameters
    ----------
    x : ndarray, shape (T, batch, n_in)
        The inputs.
    u_pre : ndarray, shape (T, batch, n_rec)
        ``Ut_t``, the potential after the tick's flow and before the reset (golden's ``U``
        with the default reset).
    u : ndarray, shape (T, batch, n_rec)
        ``U_t``, the potential after the reset: the start of the next tick's flow.
    c : ndarray, shape (T, batch, n_rec)
        The charge delivered in each tick (the smooth spike).
    s : ndarray, shape (T, batch, n_rec)
        The synaptic current.
    y : ndarray, shape (T, batch, n_out)
        The readout.
    """

    x: np.ndarray
    u_pre: np.ndarray
    u: np.ndarray
    c: np.ndarray
    s: np.ndarray
    y: np.ndarray


def gate_integral(v: np.ndarray, theta: float, delta: float) -> np.ndarray:
    """``G(v)``: the primitive of the box gate, a ramp from 0 below the active zone to 1 above.

    Parameters
    ----------
    v : ndarray
        Membrane potentials.
    theta, delta : float
        Centre and width of the active zone.

    Returns
    -------
    ndarray
        ``clip((v - theta) / delta + 1/2, 0, 1)``.
    """
    return np.clip((np.asarray(v, dtype=np.float64) - theta) / delta + 0.5, 0.0, 1.0)


def gate(v: np.ndarray, theta: float, delta: float) -> np.ndarray:
    """``g(v)``: the normalized box gate, ``1/delta`` on ``|v - theta| < delta/2``, else 0.

    Parameters
    ----------
    v : ndarray
        Membrane potentials.
    theta, delta : float
        Centre and width of the active zone.

    Returns
    -------
    ndarray
        The gate, whose integral over ``v`` is 1.
    """
    v = np.asarray(v, dtype=np.float64)
    return np.where(np.abs(v - theta) < delta / 2, 1.0 / delta, 0.0)


def init_weights(
    params: HSParams, seed: int = 0, in_scale: float = 1.0, rec_scale: float = 0.5, out_scale: float = 1.0
) -> Weights:
    """Gaussian weights scaled by ``1 / sqrt(fan_in)``.

    Parameters
    ----------
    params : HSParams
        The network's sizes.
    seed : int
        Seed of the numpy generator.
    in_scale, rec_scale, out_scale : float
        Standard deviations times ``sqrt(fan_in)`` of the input, recurrent and readout weights.

    Returns
    -------
    dict of str to ndarray
        ``w_in`` (n_rec, n_in), ``w_rec`` (n_rec, n_rec), ``w_out`` (n_out, n_rec).
    """
    rng = np.random.default_rng(seed)
    p = params
    return {
        "w_in": rng.normal(size=(p.n_rec, p.n_in)) * in_scale / np.sqrt(p.n_in),
        "w_rec": rng.normal(size=(p.n_rec, p.n_rec)) * rec_scale / np.sqrt(p.n_rec),
        "w_out": rng.normal(size=(p.n_out, p.n_rec)) * out_scale / np.sqrt(p.n_rec),
    }


def _check(params: HSParams, weights: Weights, x: np.ndarray) -> np.ndarray:
    p = params
    shapes = {"w_in": (p.n_rec, p.n_in), "w_rec": (p.n_rec, p.n_rec), "w_out": (p.n_out, p.n_rec)}
    for name, shape in shapes.items():
        if np.shape(weights[name]) != shape:
            raise ValueError(f"{name}: shape {np.shape(weights[name])} is not {shape}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != p.n_in:
        raise ValueError(f"x: shape {x.shape} is not (batch, T, {p.n_in})")
    return x


def forward(params: HSParams, weights: Weights, x: np.ndarray) -> HSRun:
    """Run the network from rest (``U = s = y = 0``) over the inputs.

    Parameters
    ----------
    params : HSParams
        Network constants.
    weights : dict of str to ndarray
        ``w_in``, ``w_rec``, ``w_out``.
    x : ndarray, shape (batch, T, n_in)
        Inputs (spikes or any real values).

    Returns
    -------
    HSRun
        Every state, time-major ``(T, batch, n)``.
    """
    x = _check(params, weights, x).transpose(1, 0, 2)
    p = params
    T, B, _ = x.shape
    R = p.reset_per_charge
    zero_reset = p.reset_mode == "zero"
    w_in, w_rec, w_out = (np.asarray(weights[k], dtype=np.float64) for k in ("w_in", "w_rec", "w_out"))
    i_in = x @ w_in.T
    u_pre, u, c, s = (np.zeros((T, B, p.n_rec)) for _ in range(4))
    y = np.zeros((T, B, p.n_out))
    u_prev, s_prev, y_prev = np.zeros((B, p.n_rec)), np.zeros((B, p.n_rec)), np.zeros((B, p.n_out))
    g_prev = gate_integral(u_prev, p.theta, p.delta)
    for t in range(T):
        u_pre[t] = p.alpha * u_prev + i_in[t] + s_prev @ w_rec.T
        g_now = gate_integral(u_pre[t], p.theta, p.delta)
        c[t] = g_now - g_prev
        u[t] = (1.0 - c[t]) * u_pre[t] if zero_reset else u_pre[t] - R * c[t]
        s[t] = p.kappa_s * s_prev + (1.0 - p.kappa_s) * c[t]
        y[t] = p.kappa_out * y_prev + s[t] @ w_out.T
        u_prev, s_prev, y_prev = u[t], s[t], y[t]
        g_prev = gate_integral(u_prev, p.theta, p.delta)
    return HSRun(x, u_pre, u, c, s, y)


def _valid_mask(params: HSParams, targets: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    if valid is not None:
        return np.asarray(valid, dtype=bool)
    if params.loss == "cross_entropy":
        return np.asarray(targets.sum(axis=-1) > 0)
    return np.ones(targets.shape[:2], dtype=bool)


def _loss_and_dy(
    params: HSParams, y: np.ndarray, targets: np.ndarray, valid: np.ndarray | None
) -> tuple[float, np.ndarray]:
    """The loss and ``dL/dy_t`` (direct part), for time-major ``y``; targets are (batch, T, n_out)."""
    targets = np.asarray(targets, dtype=np.float64)
    if targets.shape != (y.shape[1], y.shape[0], y.shape[2]):
        raise ValueError(
            f"targets: shape {targets.shape} is not (batch, T, n_out) = {(y.shape[1], y.shape[0], y.shape[2])}"
        )
    mask = _valid_mask(params, targets, valid).T[:, :, None].astype(np.float64)  # (T, B, 1)
    count = mask.sum()
    if count == 0:
        raise ValueError("valid: no tick is inside the decision window")
    tgt = targets.transpose(1, 0, 2)
    if params.loss == "cross_entropy":
        z = y - y.max(axis=-1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        value = -float(np.sum(mask * tgt * log_p)) / count
        dy = mask * (np.exp(log_p) * tgt.sum(axis=-1, keepdims=True) - tgt) / count
    else:
        err = mask * (y - tgt)
        value = 0.5 * float(np.sum(err * err)) / count
        dy = err / count
    return value, dy


def loss(
    params: HSParams, weights: Weights, x: np.ndarray, targets: np.ndarray, valid: np.ndarray | None = None
) -> float:
    """The loss of the network on a batch.

    Parameters
    ----------
    params : HSParams
        Network constants (``params.loss`` selects the loss).
    weights : dict of str to ndarray
        ``w_in``, ``w_rec``, ``w_out``.
    x : ndarray, shape (batch, T, n_in)
        Inputs.
    targets : ndarray, shape (batch, T, n_out)
        One-hot classes (cross-entropy) or target values (mse).
    valid : ndarray of bool, shape (batch, T), optional
        The decision window. Default: the ticks whose target row is non-zero (cross-entropy),
        every tick (mse).

    Returns
    -------
    float
        Cross-entropy of ``softmax(y_t)``, or ``0.5 (y_t - y*_t)^2`` summed over outputs, averaged
        over the window's (sample, tick) entries.
    """
    return _loss_and_dy(params, forward(params, weights, x).y, targets, valid)[0]


def loss_and_gradients(
    params: HSParams, weights: Weights, x: np.ndarray, targets: np.ndarray, valid: np.ndarray | None = None
) -> tuple[float, Weights, HSRun]:
    """The loss, its exact gradient by backpropagation through time, and the forward run.

    Parameters
    ----------
    params, weights, x, targets, valid
        As in :func:`loss`.

    Returns
    -------
    value : float
        The loss.
    grads : dict of str to ndarray
        ``dL/dw_in``, ``dL/dw_rec``, ``dL/dw_out``, shaped as the weights.
    run : HSRun
        The forward run.
    """
    p = params
    run = forward(p, weights, x)
    value, dy = _loss_and_dy(p, run.y, targets, valid)
    w_rec, w_out = (np.asarray(weights[k], dtype=np.float64) for k in ("w_rec", "w_out"))
    R = p.reset_per_charge
    zero_reset = p.reset_mode == "zero"
    T, B, n = run.u.shape
    g_pre = gate(run.u_pre, p.theta, p.delta)  # g at the end of each tick's flow
    g_start = gate(run.u, p.theta, p.delta)  # g at the start of the next tick's flow
    i_bar = np.zeros((T, B, n))
    y_bar = np.zeros((B, p.n_out))
    s_bar = np.zeros((B, n))
    i_next, c_next = np.zeros((B, n)), np.zeros((B, n))
    dw_out = np.zeros_like(w_out)
    for t in range(T - 1, -1, -1):
        y_bar = dy[t] + p.kappa_out * y_bar
        s_bar = y_bar @ w_out + p.kappa_s * s_bar + i_next @ w_rec
        u_bar = p.alpha * i_next - g_start[t] * c_next
        if zero_reset:  # U_t = (1 - c_t) Ut_t
            c_bar = (1.0 - p.kappa_s) * s_bar - run.u_pre[t] * u_bar
            i_bar[t] = (1.0 - run.c[t]) * u_bar + g_pre[t] * c_bar
        else:  # U_t = Ut_t - R c_t
            c_bar = (1.0 - p.kappa_s) * s_bar - R * u_bar
            i_bar[t] = u_bar + g_pre[t] * c_bar
        dw_out += y_bar.T @ run.s[t]
        i_next, c_next = i_bar[t], c_bar
    s_prev = np.concatenate([np.zeros((1, B, n)), run.s[:-1]])
    grads = {
        "w_in": np.einsum("tbj,tbi->ji", i_bar, run.x),
        "w_rec": np.einsum("tbj,tbi->ji", i_bar, s_prev),
        "w_out": dw_out,
    }
    return value, grads, run


def gradients(
    params: HSParams, weights: Weights, x: np.ndarray, targets: np.ndarray, valid: np.ndarray | None = None
) -> Weights:
    """The exact gradient of :func:`loss` with respect to the three weight matrices.

    Parameters
    ----------
    params, weights, x, targets, valid
        As in :func:`loss`.

    Returns
    -------
    dict of str to ndarray
        ``dL/dw_in``, ``dL/dw_rec``, ``dL/dw_out``, shaped as the weights.
    """
    return loss_and_gradients(params, weights, x, targets, valid)[1]


def train(
    params: HSParams,
    weights: Weights,
    x: np.ndarray,
    targets: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    steps: int = 100,
    optimizer: Optimizer | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    callback: Callable[[int, float, Weights], None] | None = None,
) -> tuple[Weights, list[float]]:
    """Gradient descent on the loss with an optimizer of :mod:`plasticore.reference.optimizers`.

    Parameters
    ----------
    params : HSParams
        Network constants.
    weights : dict of str to ndarray
        Initial weights (not changed in place).
    x, targets, valid
        The training set, as in :func:`loss`.
    steps : int
        Optimizer steps.
    optimizer : Optimizer, optional
        Default ``Adam(lr=0.01)``.
    batch_size : int, optional
        Samples per step, drawn without replacement each step; default the whole set.
    seed : int
        Seed of the minibatch draws.
    callback : callable, optional
        Called as ``callback(step, loss, weights)`` after each step (loss before the step).

    Returns
    -------
    weights : dict of str to ndarray
        The trained weights.
    losses : list of float
        The minibatch loss before each step.
    """
    opt = optimizer if optimizer is not None else Adam(lr=0.01)
    rng = np.random.default_rng(seed)
    x = np.asarray(x)
    targets = np.asarray(targets)
    n = x.shape[0]
    w = {k: np.array(v, dtype=np.float64) for k, v in weights.items()}
    losses: list[float] = []
    for step in range(steps):
        idx = np.arange(n) if batch_size is None or batch_size >= n else rng.choice(n, batch_size, replace=False)
        value, grads, _ = loss_and_gradients(params, w, x[idx], targets[idx], None if valid is None else valid[idx])
        losses.append(value)
        w.update(opt.step(w, grads))
        if callback is not None:
            callback(step, value, w)
    return w, losses
