"""The float64 recurrent spiking network of Bellec et al. (2020): LIF and ALIF neurons, leaky readout.

This is the network that e-prop (``plasticore.reference.eprop``) and BPTT (``plasticore.reference.bptt``) train. It is
written in real numbers with the time step ``dt`` and time constants in milliseconds, exactly as
NEST's ``eprop_iaf_bsshslm_2020`` / ``eprop_iaf_adapt_bsshslm_2020`` / ``eprop_readout_bsshslm_2020``
models (which reproduce the original TensorFlow code) integrate it, so that the golden e-prop
can be checked against NEST to 1e-6.

One step ``t`` of one sequence (state before the sequence: all zero, "reset on update"):

1. ``v_j <- alpha v_j + s_rec (sum_i Win[j,i] x_i(t) + sum_i Wrec[j,i] z_i(t-1)) - v_th z_j(t-1)``
2. ALIF: ``a_j <- rho a_j + z_j(t-1)``; threshold ``A_j = v_th + beta_j a_j`` (``beta_j = 0`` for LIF)
3. refractory counter ``r_j <- max(r_j - 1, 0)``
4. pseudo-derivative ``psi_j = h(v_j, A_j)`` (zero while refractory)
5. spike ``z_j(t) = [v_j >= A_j and r_j == 0]``; a spike sets ``r_j`` to the refractory steps
6. readout ``y_k <- kappa y_k + s_out sum_j Wout[k,j] z_j(t)``; for cross-entropy ``pi = softmax(y)``

``s_rec`` and ``s_out`` are the input scalings (NEST's ``regular_spike_arrival``: 1, or
``1 - decay`` when spikes are taken to arrive uniformly within the step). Recurrent spikes act
one step later (step 1 uses ``z(t-1)``): this is the one-step synaptic delay of NEST and TF.

Arrays are laid out ``(time, batch, neuron)``; weights are ``post x pre`` like ``plasticore.golden.network``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from .eprop_scan import leaky_scan

__all__ = [
    "Buffers",
    "seq_dot",
    "SURROGATES",
    "LOSSES",
    "SnnParams",
    "EpropWeights",
    "Trajectory",
    "surrogate",
    "simulate",
    "readout_error",
    "sequence_loss",
]

#: Pseudo-derivative shapes, the four of NEST's ``surrogate_gradient_function``.
SURROGATES = ("piecewise_linear", "exponential", "fast_sigmoid_derivative", "arctan_derivative")
#: Readout losses: mean squared error on ``y``, cross-entropy on ``softmax(y)``.
LOSSES = ("mean_squared_error", "cross_entropy")
#: A refractory neuron's threshold: no membrane comes near it.
_BLOCK = 1e300


class ParamsError(ValueError):
    """A network or learning parameter is outside what the float e-prop model supports."""


def _positive(name: str, value, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ParamsError(f"{name}: {value!r} must be a finite number {bound}")


def _count(name: str, value, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ParamsError(f"{name}: {value!r} must be an integer >= {lo}")


@dataclass(frozen=True)
class SnnParams:
    """Sizes, neuron dynamics, pseudo-derivative and loss of the float network.

    Times are in milliseconds, voltages in the model's own unit (NEST: mV relative to ``E_L``).
    The last ``n_alif`` recurrent neurons are adaptive (ALIF), the others LIF, as in
    ``plasticore.golden.config.Config``.

    Parameters
    ----------
    n_in, n_rec, n_out, n_alif : int
        Sizes.
    dt, tau_m, v_th, t_ref, tau_a, adapt_beta, tau_out : float
        Step and neuron dynamics.
    rec_regular_spike_arrival, out_regular_spike_arrival : bool
        Input scaling of the recurrent and readout neurons (NEST ``regular_spike_arrival``).
    surrogate, surrogate_height, surrogate_width
        Pseudo-derivative shape (:data:`SURROGATES`), height and width.
    loss : str
        Readout loss (:data:`LOSSES`).

    Each field's comment below says what it means.

    Raises
    ------
    ParamsError
        On construction, for a value outside what the model supports.
    """

    n_in: int
    n_rec: int
    n_out: int
    n_alif: int = 0
    #: integration step (NEST ``resolution``)
    dt: float = 1.0
    #: membrane time constant of the recurrent neurons; ``alpha = exp(-dt / tau_m)``
    tau_m: float = 20.0
    #: spike threshold (and the amount a spike subtracts from ``v`` at the next step)
    v_th: float = 0.6
    #: refractory period; a spike blocks the next ``round(t_ref / dt) - 1`` steps (NEST counts
    #: the step of the spike itself, see :attr:`refractory_steps`)
    t_ref: float = 0.0
    #: ALIF adaptation time constant; ``rho = exp(-dt / tau_a)``
    tau_a: float = 2000.0
    #: ALIF threshold increase per unit of adaptation ``a`` (NEST ``adapt_beta``); Bellec et al.
    #: use ``1.7 (1 - rho) / (1 - alpha)``, see :meth:`bellec_beta`
    adapt_beta: float = 0.0
    #: readout membrane time constant; ``kappa = exp(-dt / tau_out)``
    tau_out: float = 20.0
    #: input scaling of the recurrent neurons: False -> ``1 - alpha`` (NEST
    #: ``regular_spike_arrival=False``), True -> 1
    rec_regular_spike_arrival: bool = True
    #: input scaling of the readout neurons, as above with ``kappa``
    out_regular_spike_arrival: bool = False
    #: pseudo-derivative shape, one of :data:`SURROGATES`
    surrogate: str = "piecewise_linear"
    #: pseudo-derivative height in units of ``1 / v_th`` (Bellec's ``gamma_pd`` = 0.3)
    surrogate_height: float = 0.3
    #: pseudo-derivative width in units of ``v_th``
    surrogate_width: float = 1.0
    #: readout loss, one of :data:`LOSSES`
    loss: str = "mean_squared_error"

    def __post_init__(self):
        _count("n_in", self.n_in, 1)
        _count("n_rec", self.n_rec, 1)
        _count("n_out", self.n_out, 1)
        _count("n_alif", self.n_alif, 0)
        if self.n_alif > self.n_rec:
            raise ParamsError(f"n_alif: {self.n_alif} must be <= n_rec={self.n_rec}")
        for name in ("dt", "tau_m", "tau_a", "tau_out", "v_th", "surrogate_width"):
            _positive(name, getattr(self, name))
        for name in ("t_ref", "adapt_beta", "surrogate_height"):
            _positive(name, getattr(self, name), allow_zero=True)
        if self.surrogate not in SURROGATES:
            raise ParamsError(f"surrogate: {self.surrogate!r} is not one of {', '.join(SURROGATES)}")
        if self.loss not in LOSSES:
            raise ParamsError(f"loss: {self.loss!r} is not one of {', '.join(LOSSES)}")
        if self.loss == "cross_entropy" and self.n_out < 2:
            raise ParamsError("n_out: cross_entropy needs at least 2 readout neurons")
        steps = self.t_ref / self.dt
        if abs(steps - round(steps)) > 1e-9:
            raise ParamsError(f"t_ref: {self.t_ref} must be a whole number of steps of dt={self.dt}")

    # derived constants ------------------------------------------------------------------
    @property
    def alpha(self) -> float:
        return math.exp(-self.dt / self.tau_m)

    @property
    def rho(self) -> float:
        return math.exp(-self.dt / self.tau_a)

    @property
    def kappa(self) -> float:
        return math.exp(-self.dt / self.tau_out)

    @property
    def rec_input_scale(self) -> float:
        return 1.0 if self.rec_regular_spike_arrival else 1.0 - self.alpha

    @property
    def out_input_scale(self) -> float:
        return 1.0 if self.out_regular_spike_arrival else 1.0 - self.kappa

    @property
    def refractory_steps(self) -> int:
        """Value the refractory counter is set to on a spike (it is decremented before the
        spike test of the next step, so ``refractory_steps - 1`` steps are blocked)."""
        return int(round(self.t_ref / self.dt))

    @property
    def n_lif(self) -> int:
        return self.n_rec - self.n_alif

    @property
    def beta(self) -> np.ndarray:
        """Per-neuron threshold adaptation strength: 0 for LIF, ``adapt_beta`` for ALIF."""
        b = np.zeros(self.n_rec)
        b[self.n_lif :] = self.adapt_beta
        return b

    @property
    def psi_height(self) -> float:
        return self.surrogate_height / self.v_th

    @property
    def psi_width(self) -> float:
        return self.surrogate_width * self.v_th

    @staticmethod
    def bellec_beta(dt: float, tau_m: float, tau_a: float, strength: float = 1.7) -> float:
        """``strength (1 - rho) / (1 - alpha)``: the ALIF beta of Bellec et al.'s evidence task."""
        return strength * (1.0 - math.exp(-dt / tau_a)) / (1.0 - math.exp(-dt / tau_m))

    def replace(self, **changes) -> SnnParams:
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ParamsError(f"unknown field(s): {', '.join(sorted(unknown))}")
        return SnnParams(**{**{n: getattr(self, n) for n in names}, **changes})


@dataclass
class EpropWeights:
    """float64 weights, ``post x pre``: ``w_in[j, i]`` connects input i to neuron j.

    ``b_fb[j, k]`` carries readout error k to neuron j (random / adaptive feedback); the
    recurrent diagonal is kept at zero (no autapses, as in NEST and Bellec et al.).

    Parameters
    ----------
    w_in : ndarray, shape (n_rec, n_in)
    w_rec : ndarray, shape (n_rec, n_rec)
    w_out : ndarray, shape (n_out, n_rec)
    b_fb : ndarray, shape (n_rec, n_out)
    """

    w_in: np.ndarray
    w_rec: np.ndarray
    w_out: np.ndarray
    b_fb: np.ndarray

    def check(self, p: SnnParams) -> None:
        shapes = {
            "w_in": (p.n_rec, p.n_in),
            "w_rec": (p.n_rec, p.n_rec),
            "w_out": (p.n_out, p.n_rec),
            "b_fb": (p.n_rec, p.n_out),
        }
        for name, shape in shapes.items():
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.shape != shape:
                got = getattr(arr, "shape", type(arr).__name__)
                raise ParamsError(f"{name}: shape {got} does not match {shape}")
            if not np.all(np.isfinite(arr)):
                raise ParamsError(f"{name}: contains NaN or infinity")
        if np.any(np.diag(self.w_rec) != 0):
            raise ParamsError("w_rec: the diagonal (autapses) must be zero")

    def copy(self) -> EpropWeights:
        return EpropWeights(*(np.array(getattr(self, f.name), dtype=np.float64) for f in fields(self)))

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Trajectory:
    """A forward run, arrays ``(T, batch, n)``.

    ``psi`` is the pseudo-derivative of each step (zero while refractory), ``z`` the spikes
    (0.0 / 1.0), ``out`` the readout signal the loss sees: ``softmax(y)`` for cross-entropy,
    ``y`` for the mean squared error. The membrane ``v`` and the threshold ``thr`` used by
    each spike decision are assembled on first access (e-prop does not need them).

    Parameters
    ----------
    psi, z : ndarray, shape (T, batch, n_rec)
        Pseudo-derivative and spikes of each step.
    y, out : ndarray, shape (T, batch, n_out)
        Readout and the signal the loss sees.
    x : ndarray, shape (T, batch, n_in)
        The input spikes as the network saw them.
    f_in, d : ndarray, shape (T, batch, n_rec)
        Input part of the membrane; recurrent part less the threshold adaptation.
    b : ndarray or None
        Threshold adaptation ``beta a`` (None without ALIF adaptation).
    v_th : float
        The spike threshold.

    Attributes
    ----------
    u, v, thr : ndarray
        Recurrent part of the membrane, whole membrane, threshold of each spike decision.
    """

    psi: np.ndarray
    z: np.ndarray
    y: np.ndarray
    out: np.ndarray
    #: the input spikes as the network saw them
    x: np.ndarray
    #: input part of the membrane (inputs filtered with alpha, weighted)
    f_in: np.ndarray
    #: ``d = u - b``: recurrent part of the membrane ``u`` less the threshold adaptation
    #: ``b = beta a`` (``b`` None without adaptation, then ``d = u``)
    d: np.ndarray
    b: np.ndarray | None
    v_th: float

    @property
    def u(self) -> np.ndarray:
        return self.d + self.b if self.b is not None else self.d

    @property
    def v(self) -> np.ndarray:
        return self.f_in + self.u

    @property
    def thr(self) -> np.ndarray:
        return self.v_th + self.b if self.b is not None else np.full_like(self.u, self.v_th)


def surrogate(p: SnnParams, v: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """The pseudo-derivative ``dz/dv`` of the spike at membrane ``v`` and threshold ``thr``."""
    return surrogate_of_distance(p, np.subtract(v, thr))


def surrogate_of_distance(p: SnnParams, d: np.ndarray) -> np.ndarray:
    """The pseudo-derivative from ``d = v - thr``; works in place on ``d`` (and returns it)."""
    np.abs(d, out=d)
    d *= 1.0 / p.psi_width
    if p.surrogate == "piecewise_linear":
        np.subtract(1.0, d, out=d)
        np.maximum(d, 0.0, out=d)
        d *= p.psi_height
        return d
    if p.surrogate == "exponential":
        np.negative(d, out=d)
        np.exp(d, out=d)
    elif p.surrogate == "fast_sigmoid_derivative":
        d += 1.0
        np.square(d, out=d)
        np.reciprocal(d, out=d)
    else:  # arctan_derivative
        np.square(d, out=d)
        d += 1.0
        np.reciprocal(d, out=d)
    d *= p.psi_height
    return d


def check_inputs(p: SnnParams, x: np.ndarray, as_float: bool = True) -> np.ndarray:
    """Refuse inputs of the wrong shape or outside 0..1; return them as float64 (``as_float``)
    or as given (checking a whole data set need not copy it)."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != p.n_in:
        raise ParamsError(f"inputs: expected shape (T, batch, n_in={p.n_in}), got {x.shape}")
    if x.size and (np.min(x) < 0 or np.max(x) > 1):
        raise ParamsError("inputs: spikes must be 0 or 1")
    return np.asarray(x, dtype=np.float64) if as_float else x


try:  # numpy's C count_nonzero (no dispatch wrapper; ~0.05 us for a row of spikes)
    from numpy._core.multiarray import count_nonzero as _count_nonzero
except ImportError:  # pragma: no cover - older numpy layouts
    _count_nonzero = np.count_nonzero


def _unwrapped(f):
    """The C function under a numpy ``__array_function__`` dispatcher (same behaviour for
    plain ndarrays, less overhead per call)."""
    return getattr(f, "__wrapped__", f)


class Buffers:
    """Work arrays kept from one call to the next.

    A training run calls :func:`simulate` and the gradient with arrays of the same shapes every
    iteration. Fresh multi-megabyte arrays cost page faults on every first touch; reusing them
    makes the steady state fault-free.
    Results that live in buffers (the :class:`Trajectory` of :func:`simulate`) are valid until
    the next call with the same ``Buffers``. No parameters: start with an empty cache.
    """

    def __init__(self):
        self._arrays: dict[tuple, np.ndarray] = {}
        self._rows: dict[tuple, list] = {}

    def array(self, name: str, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        """An array of this name, shape and dtype, uninitialized (or as the last user left it)."""
        key = (name, tuple(shape), np.dtype(dtype).str)
        a = self._arrays.get(key)
        if a is None:
            a = np.empty(shape, dtype=dtype)
            self._arrays[key] = a
        return a

    def rows(self, array: np.ndarray, key: str, make) -> list:
        """A cached list of views into ``array`` (a buffer of this object); ``make()`` builds it."""
        k = (id(array), key)
        r = self._rows.get(k)
        if r is None:
            r = make()
            self._rows[k] = r
        return r


def simulate(p: SnnParams, w: EpropWeights, x: np.ndarray, buffers: Buffers | None = None) -> Trajectory:
    """Run one batch of sequences from the all-zero state; ``x`` is ``(T, batch, n_in)`` of 0/1.

    Only the spike decisions need a loop over time, and it is kept to a few numpy calls per
    step. The membrane is split into an input part ``F`` (inputs filtered with alpha, computed
    for all steps at once, one matrix product) and a recurrent part ``u`` (recurrent spikes
    and resets, recorded by the loop); a neuron spikes when ``d = u - b >= theta = v_th - F``
    (``b = beta a``, the threshold adaptation). The loop keeps ``(d, b)`` itself, advanced by
    one 2 x 2 matrix product (``d <- alpha d + (alpha - rho) b``, ``b <- rho b``) plus the
    recurrent spikes' increment, so the spike test reads its state directly. Recurrent
    spikes are sparse: a step after one without spikes (most steps of the evidence task) skips
    the recurrent matrix product, and only a step with spikes records them. A spike makes the
    neuron refractory by raising its ``theta`` out of reach for the blocked steps, so the loop
    needs no counter, and the same raised ``theta`` zeroes the pseudo-derivative there.
    Everything else is vectorized over time.
    ``buffers``: reuse work arrays across calls (see :class:`Buffers`).
    """
    w.check(p)
    x = check_inputs(p, x)
    T, B, _ = x.shape
    n = p.n_rec
    alpha, rho, kappa = p.alpha, p.rho, p.kappa
    n_ref = p.refractory_steps
    alif = p.n_alif > 0 and p.adapt_beta > 0
    buf = Buffers() if buffers is None else buffers

    pad = max(n_ref, 1)
    theta = buf.array("theta", (T + pad, B, n))  # spike when d >= theta
    x_scan = leaky_scan(x, alpha, out=buf.array("x_scan", x.shape))
    f_in = seq_dot(x_scan, p.rec_input_scale * w.w_in.T, out=buf.array("f_in", (T, B, n)))  # input part of v
    np.subtract(p.v_th, f_in, out=theta[:T])
    theta[T:] = 0.0
    # recurrent weights with the reset folded in: a spike subtracts v_th from its own membrane;
    # for d = u - b also the threshold increase beta of its own spike
    w_eff = p.rec_input_scale * w.w_rec.T - p.v_th * np.eye(n)
    if alif:
        w_eff[np.diag_indices(n)] -= p.beta

    # State rows [d, b] per step (b only with ALIF), row t+1 the state after step t, row 0 the
    # zero initial state; ``zf`` row t+1 holds the spikes of step t as 0.0 / 1.0 (written only
    # on steps with spikes: the rest stay zero), ``spikes`` the same as booleans (every row).
    k = 2 if alif else 1
    state = buf.array("state", (T + 1, k, B, n))
    zf = buf.array("zf", (T + 1, B, n))
    spikes = buf.array("spikes", (T + 1, B, n), bool)
    state[0] = 0.0
    zf.fill(0.0)
    spikes[0] = False
    # Row views for the loop. With one sequence the batch axis is dropped from the views
    # (1-D operands make numpy's per-call overhead a little smaller).
    lane = (n,) if B == 1 else (B, n)

    def rows_of(a: np.ndarray, lead: int) -> list:
        return list(a.reshape((lead,) + lane))

    # refractory: a spike sets theta of the next n_ref - 1 steps to _BLOCK (the membrane runs on)
    windows = (
        buf.rows(theta, f"windows{n_ref}", lambda: [theta[t + 1 : t + n_ref].reshape((-1,) + lane) for t in range(T)])
        if n_ref > 1
        else [None] * T
    )
    # one tuple of row views per step (unpacked in the loop: cheaper than indexing lists)
    # state (whole row, k x batch*n), state d part, spikes (float, previous step), spikes of
    # this step (float and bool), theta, refractory window
    steps = buf.rows(
        state,
        f"steps{n_ref}",
        lambda: list(
            zip(
                list(state[1:].reshape(T, k, B * n)),
                list(state[1:, 0].reshape((T,) + lane)),
                rows_of(zf, T + 1)[:-1],
                rows_of(zf, T + 1)[1:],
                rows_of(spikes, T + 1)[1:],
                rows_of(theta, T + pad)[:T],
                windows,
                strict=True,
            )
        ),
    )
    inc = np.zeros((k, B * n))
    rec = inc[0].reshape(lane)
    # bound methods and the C functions behind numpy's dispatch wrappers: this loop is all
    # call overhead
    copyto = _unwrapped(np.copyto)
    mul, add, ge = np.multiply, np.add, np.greater_equal
    count = _count_nonzero
    block = np.array(_BLOCK)
    s_prev = state[0].reshape(k, B * n)
    spiked = 0
    if alif:
        # [d, b] <- [[alpha, alpha - rho], [0, rho]] [d, b] (+ [W z, beta z] after a spike)
        advance = np.array([[alpha, alpha - rho], [0.0, rho]]).dot
        ainc = inc[1].reshape(lane)
        beta_v = np.broadcast_to(p.beta, lane).copy()
        for s, d, z_prev, z_new, zt, th, win in steps:
            advance(s_prev, s)
            if spiked:
                z_prev.dot(w_eff, rec)
                mul(z_prev, beta_v, ainc)
                add(s, inc, s)
            ge(d, th, zt)
            spiked = count(zt)
            if spiked:
                copyto(z_new, zt)
                if win is not None:
                    copyto(win, block, where=zt)
            s_prev = s
    else:
        decay = np.full((1, B * n), alpha)
        for s, d, z_prev, z_new, zt, th, win in steps:
            mul(s_prev, decay, s)
            if spiked:
                z_prev.dot(w_eff, rec)
                add(s, inc, s)
            ge(d, th, zt)
            spiked = count(zt)
            if spiked:
                copyto(z_new, zt)
                if win is not None:
                    copyto(win, block, where=zt)
            s_prev = s

    # pseudo-derivative of v - thr = d - theta; refractory steps have theta = _BLOCK
    d_all = state[1:, 0]
    psi = surrogate_of_distance(p, np.subtract(d_all, theta[:T], out=buf.array("psi", (T, B, n))))
    z = zf[1:]
    y = leaky_scan(seq_dot(z, w.w_out.T), kappa, gain=p.out_input_scale)
    out = softmax(y) if p.loss == "cross_entropy" else y
    return Trajectory(
        psi=psi, z=z, y=y, out=out, x=x, f_in=f_in, d=d_all, b=state[1:, 1] if alif else None, v_th=p.v_th
    )


def seq_dot(a: np.ndarray, m: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ m`` for ``a`` of shape ``(..., k)``, as one matrix product (numpy's broadcasting
    ``matmul`` would run one small product per leading index); ``out`` (C-contiguous) receives it."""
    shape = a.shape[:-1] + (m.shape[1],)
    a2 = a.reshape(-1, a.shape[-1])
    if out is None:
        return (a2 @ m).reshape(shape)
    np.matmul(a2, m, out=out.reshape(-1, m.shape[1]))
    return out


def softmax(y: np.ndarray) -> np.ndarray:
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def readout_error(p: SnnParams, out: np.ndarray, targets: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``dLoss/dy`` per step (before the 1/window averaging): ``out - y*`` inside the window, 0 outside.

    For both losses this is the same expression: ``y - y*`` for the mean squared error and
    ``softmax(y) - y*`` for the cross-entropy with one-hot (or probability) targets.
    """
    return (out - targets) * window[:, None, None]


def sequence_loss(p: SnnParams, out: np.ndarray, targets: np.ndarray, window: np.ndarray, average: bool) -> float:
    """Loss of a batch, mean over the batch.

    Mean squared error: ``1/2 sum_t sum_k (y_k - y*_k)^2``; cross-entropy:
    ``-sum_t sum_k y*_k log pi_k``; sums over the window steps, divided by the window length
    when ``average`` (NEST's ``average_gradient``), so that the loss and the gradient match.
    """
    if p.loss == "mean_squared_error":
        per_step = 0.5 * np.sum((out - targets) ** 2, axis=2)
    else:
        per_step = -np.sum(targets * np.log(out), axis=2)
    total = np.sum(per_step * window[:, None], axis=0)
    if average:
        total = total / window.sum()
    return float(np.mean(total))
