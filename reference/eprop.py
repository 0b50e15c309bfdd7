"""e-prop as published (Bellec et al. 2020, Nat. Commun. 11:3625) on the float network.

The gradient of a weight ``W[j, i]`` of recurrent neuron ``j`` is, over one sequence,

    g[j, i] = sum_t e[t, j, i] * (Lbar[t, j] + reg[j])

with the eligibility trace ``e`` (LIF: ``psi_j zbar_i``; ALIF:
``psi_j (zbar_i - beta_j eps^a[j, i])`` with ``eps^a <- (rho - beta psi_j) eps^a + psi_j zbar_i``),
the learning signal ``L[t, j] = sum_k B[j, k] err[t, k]`` filtered with the readout's kappa
(NEST and TF filter ``e`` forward with kappa and multiply by ``L``; summed over the sequence that
is the same as filtering ``L`` backward and multiplying by ``e``), and the firing-rate
regularization ``reg[j] = c_reg (f_j - f*) / T``, the e-prop gradient of
``c_reg / 2 sum_j (f_j - f*)^2``.

Nothing here loops over synapses. The per-synapse ALIF trace ``eps^a`` is never stored: its
contribution folds into a per-neuron signal ``G`` computed by one backward pass over time,

    G[t] = psi[t+1] M[t+1] + (rho - beta psi[t+1]) G[t+1],   M = Lbar + reg,

so that every weight gradient is one matrix product over time (``h = psi (M - beta G)``)::

    g_in  = einsum('tbj,tbi->ji', h, xbar)  = einsum('tbj,tbi->ji', hbar, s_rec x)
    g_rec = einsum('tbj,tbi->ji', h, zbar)  = einsum('tbj,tbi->ji', hbar, s_rec z(t-1))
    g_out = einsum('tbk,tbj->kj', err, zbar_kappa) = einsum('tbk,tbj->kj', err_bar, z)

(the second forms move the alpha / kappa filters from the presynaptic traces to ``h`` and
``err``, run backward: one filter instead of one per presynaptic population). This is
exactly, not approximately, the sum over time of eligibility trace times learning signal,
including the ALIF adaptation trace (tests/test_eprop.py checks it against the per-synapse
definition).

The conventions of NEST's ``eprop_*_bsshslm_2020`` models, which reproduce the original
TensorFlow implementation, are fields of :class:`EpropSpec` (see docs/eprop.md for the mapping).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields

import numpy as np

from . import optimizers
from .eprop_model import (
    Buffers,
    EpropWeights,
    ParamsError,
    SnnParams,
    Trajectory,
    check_inputs,
    readout_error,
    seq_dot,
    sequence_loss,
    simulate,
)
from .eprop_scan import leaky_scan, varying_scan

__all__ = [
    "FEEDBACKS",
    "OPTIMIZERS",
    "EpropSpec",
    "EpropResult",
    "eprop_gradients",
    "Optimizer",
    "train_eprop",
    "nest_spec",
]

#: How errors reach the recurrent neurons: fixed random ``B``; ``B = Wout^T`` (symmetric);
#: ``B`` random at first and then changed by the same updates as ``Wout^T`` (adaptive).
FEEDBACKS = ("random", "symmetric", "adaptive")
OPTIMIZERS = ("gradient_descent", "adam")
WEIGHT_NAMES = ("w_in", "w_rec", "w_out")


def _number(
    name: str, value, lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False
) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if not ok:
        lo_s = "-inf" if lo is None else f"{lo}"
        hi_s = "inf" if hi is None else f"{hi}"
        rng = f"{'(' if lo_open else '['}{lo_s}, {hi_s}{')' if hi_open else ']'}"
        raise ParamsError(f"{name}: {value!r} is outside the allowed range {rng}")


@dataclass(frozen=True)
class EpropSpec:
    """How e-prop learns: conventions (which steps count, resets), learning signal, optimizer.

    The defaults are the published algorithm with NEST's data conventions; :func:`nest_spec`
    adds the one NEST timing artifact (:attr:`nest_early_trigger`).

    Parameters
    ----------
    learning_window, update_interval, reset_on_update, drop_first_step_input, average_gradient, nest_early_trigger
        Conventions: which steps count and how sequences start.
    feedback, feedback_decay
        Learning signal: how errors reach the recurrent neurons (:data:`FEEDBACKS`).
    reg_coefficient, reg_target_rate_hz
        Firing-rate regularization.
    optimizer, eta, adam_beta1, adam_beta2, adam_epsilon, w_min, w_max, learn
        Optimizer (:data:`OPTIMIZERS`; Adam in the TensorFlow / NEST form), weight clipping and
        the matrices that learn.

    Each field's comment below says what it means.

    Raises
    ------
    ParamsError
        On construction, for a value outside what the model supports.
    """

    # --- conventions ----------------------------------------------------------------------
    #: Number of final steps of each sequence whose readout errors count (NEST
    #: ``eprop_learning_window``, in steps). ``None``: the whole sequence.
    learning_window: int | None = None
    #: Sequence length = weight update interval in steps (NEST ``eprop_update_interval``).
    #: ``None``: whatever length the inputs have. Each sequence starts from the all-zero state
    #: and all traces restart at zero (NEST ``eprop_reset_neurons_on_update=True``).
    update_interval: int | None = None
    #: Reset of neuron state and traces at every update (the only mode implemented: without it
    #: NEST's bsshslm models still cut the traces at the boundary, a hybrid with no published
    #: counterpart).
    reset_on_update: bool = True
    #: NEST drops a spike sent to a recurrent neuron in the first step of an update interval,
    #: so input spikes at step 0 never arrive (its examples therefore remove them). True: step 0
    #: of the inputs is ignored, as in NEST; False: it is used.
    drop_first_step_input: bool = True
    #: Divide gradients (and the loss) by the learning window length (NEST ``average_gradient``).
    average_gradient: bool = False
    #: NEST computes a synapse's gradient for a sequence when its presynaptic neuron first
    #: spikes in the next sequence. An input spike at step 1 of the next sequence comes before
    #: the learning signal of the last step has arrived (it travels recurrent -> readout ->
    #: recurrent, three one-step delays), so the synapses of that input miss ``L[T-1]`` for
    #: that sequence. True: reproduce this (needs the next sequence's inputs; the last one of a
    #: run is followed by NEST's final-update spike, which comes late enough); False: the
    #: published algorithm.
    nest_early_trigger: bool = False

    # --- learning signal --------------------------------------------------------------------
    #: one of :data:`FEEDBACKS`
    feedback: str = "random"
    #: adaptive feedback only: weight decay applied to both ``Wout`` and ``B`` per update
    #: (Bellec et al.'s adaptive e-prop); 0 disables it
    feedback_decay: float = 0.0

    # --- firing-rate regularization -------------------------------------------------------------
    #: ``c_reg`` (NEST's value; it equals 2 x window x TF's ``reg`` coefficient)
    reg_coefficient: float = 0.0
    #: target rate ``f*`` in spikes per second
    reg_target_rate_hz: float = 10.0

    # --- optimizer -------------------------------------------------------------------------
    #: one of :data:`OPTIMIZERS`
    optimizer: str = "gradient_descent"
    eta: float = 1e-4
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    #: Adam's epsilon-hat, added to ``sqrt(v)`` (the TensorFlow / NEST form)
    adam_epsilon: float = 1e-8
    #: weights are clipped to ``[w_min, w_max]`` after each update (NEST ``Wmin`` / ``Wmax``)
    w_min: float = -100.0
    w_max: float = 100.0
    #: which weight matrices learn (any of ``w_in``, ``w_rec``, ``w_out``)
    learn: tuple[str, ...] = WEIGHT_NAMES

    def __post_init__(self):
        if self.learning_window is not None:
            if (
                isinstance(self.learning_window, bool)
                or not isinstance(self.learning_window, int)
                or self.learning_window < 1
            ):
                raise ParamsError(f"learning_window: {self.learning_window!r} must be an integer >= 1 or None")
        if self.update_interval is not None:
            if (
                isinstance(self.update_interval, bool)
                or not isinstance(self.update_interval, int)
                or self.update_interval < 1
            ):
                raise ParamsError(f"update_interval: {self.update_interval!r} must be an integer >= 1 or None")
            if self.learning_window is not None and self.learning_window > self.update_interval:
                raise ParamsError(
                    f"learning_window: {self.learning_window} must be <= update_interval={self.update_interval}"
                )
        if self.reset_on_update is not True:
            raise ParamsError(
                "reset_on_update: only True is implemented (each sequence starts from "
                "the zero state, traces restart at zero)"
            )
        for name in ("drop_first_step_input", "average_gradient", "nest_early_trigger"):
            if not isinstance(getattr(self, name), bool):
                raise ParamsError(f"{name}: {getattr(self, name)!r} must be True or False")
        if self.feedback not in FEEDBACKS:
            raise ParamsError(f"feedback: {self.feedback!r} is not one of {', '.join(FEEDBACKS)}")
        _number("feedback_decay", self.feedback_decay, 0.0, 1.0, hi_open=True)
        _number("reg_coefficient", self.reg_coefficient, 0.0)
        _number("reg_target_rate_hz", self.reg_target_rate_hz, 0.0)
        if self.optimizer not in OPTIMIZERS:
            raise ParamsError(f"optimizer: {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        _number("eta", self.eta, 0.0)
        _number("adam_beta1", self.adam_beta1, 0.0, 1.0, hi_open=True)
        _number("adam_beta2", self.adam_beta2, 0.0, 1.0, hi_open=True)
        _number("adam_epsilon", self.adam_epsilon, 0.0)
        _number("w_min", self.w_min)
        _number("w_max", self.w_max)
        if self.w_min > self.w_max:
            raise ParamsError(f"w_min: {self.w_min} must be <= w_max={self.w_max}")
        bad = [n for n in self.learn if n not in WEIGHT_NAMES]
        if bad or not isinstance(self.learn, tuple):
            raise ParamsError(f"learn: {self.learn!r} must be a tuple of names from {', '.join(WEIGHT_NAMES)}")

    def check_sequence(self, T: int) -> None:
        """Refuse a sequence length that does not fit the update interval / window."""
        if self.update_interval is not None and T != self.update_interval:
            raise ParamsError(f"inputs: sequence length {T} differs from update_interval={self.update_interval}")
        if self.learning_window is not None and self.learning_window > T:
            raise ParamsError(f"learning_window: {self.learning_window} is longer than the sequence ({T} steps)")

    def window_mask(self, T: int) -> np.ndarray:
        """1.0 on the steps whose errors count (the last ``learning_window`` steps)."""
        self.check_sequence(T)
        n = T if self.learning_window is None else self.learning_window
        m = np.zeros(T)
        m[T - n :] = 1.0
        return m

    def replace(self, **changes) -> EpropSpec:
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ParamsError(f"unknown field(s): {', '.join(sorted(unknown))}")
        return EpropSpec(**{**{n: getattr(self, n) for n in names}, **changes})


def nest_spec(**changes) -> EpropSpec:
    """The conventions of NEST 3.10's ``eprop_*_bsshslm_2020`` models, with ``changes``.

    These are the defaults plus :attr:`EpropSpec.nest_early_trigger`, the one NEST timing
    artifact that is not part of the published algorithm.
    """
    return EpropSpec(**{"nest_early_trigger": True, **changes})


def network_inputs(spec: EpropSpec, x: np.ndarray) -> np.ndarray:
    """The inputs as the recurrent neurons receive them (step 0 removed under NEST's convention)."""
    if spec.drop_first_step_input and len(x) and np.any(x[0]):
        x = np.array(x, copy=True)
        x[0] = 0
    return x


def _feedback_matrix(spec: EpropSpec, w: EpropWeights) -> np.ndarray:
    return w.w_out.T if spec.feedback == "symmetric" else w.b_fb


def _postsynaptic_factor(p: SnnParams, psi: np.ndarray, m: np.ndarray, buffers: Buffers | None = None) -> np.ndarray:
    """``psi (M - beta G)``: the per-neuron factor that multiplies the presynaptic trace.

    ``M`` is the (kappa-filtered) learning signal plus regularization; it is overwritten. For
    LIF neurons (``beta = 0``) the factor is ``psi M``. For ALIF neurons the adaptation part of
    the eligibility trace, ``-beta psi eps^a``, is moved onto the postsynaptic side by one
    backward recursion ``G[t] = c[t+1] G[t+1] + h[t+1]`` (``c = rho - beta psi``, ``h = psi M``),
    so no per-synapse trace is kept. The recursion runs as a chunked scan
    (:func:`plasticore.reference.eprop_scan.varying_scan`): about 3 sqrt(T) numpy calls instead of 2 T.
    """
    h = np.multiply(m, psi, out=m)
    if not (p.n_alif and p.adapt_beta):
        return h
    buf = Buffers() if buffers is None else buffers
    T, B, _ = h.shape
    if T < 2:
        return h
    shape = (T, B, p.n_alif)
    a = slice(p.n_lif, p.n_rec)
    h_a = h[:, :, a]  # a view: the scan copies
    beta_psi = np.multiply(psi[:, :, a], p.adapt_beta, out=buf.array("beta_psi_a", shape))
    c = np.subtract(p.rho, beta_psi, out=buf.array("c_a", shape))
    g = buf.array("g_a", shape)
    # g[t] = c[t+1] g[t+1] + h[t+1], g[T-1] = 0: a reversed scan with a varying decay
    g[-1] = 0.0
    varying_scan(c[1:], h_a[1:], reverse=True, out=g[:-1], work=buf)
    g *= beta_psi
    h_a -= g
    return h


def eprop_gradients(
    p: SnnParams,
    spec: EpropSpec,
    w: EpropWeights,
    traj: Trajectory,
    targets: np.ndarray,
    late_inputs: np.ndarray | None = None,
    buffers: Buffers | None = None,
) -> tuple[dict[str, np.ndarray], float]:
    """e-prop gradients of a batch (mean over the batch) and its loss.

    ``traj`` is the forward run (:func:`plasticore.reference.eprop_model.simulate`) of the inputs,
    ``targets`` is ``(T, batch, n_out)``. Returns ``({"w_in", "w_rec", "w_out"}, loss)``.
    ``late_inputs`` ``(batch, n_in)``: inputs whose synapses miss the learning signal of the
    last step (NEST's early trigger, see :attr:`EpropSpec.nest_early_trigger`).
    ``buffers``: reuse work arrays across calls (:class:`plasticore.reference.eprop_model.Buffers`).
    """
    T, B, _ = traj.z.shape
    buf = Buffers() if buffers is None else buffers
    targets = np.asarray(targets, dtype=np.float64)
    if targets.shape != (T, B, p.n_out):
        raise ParamsError(f"targets: expected shape {(T, B, p.n_out)}, got {targets.shape}")
    window = spec.window_mask(T)
    scale = 1.0 / window.sum() if spec.average_gradient else 1.0
    err = readout_error(p, traj.out, targets, window)  # (T, B, n_out)
    loss = sequence_loss(p, traj.out, targets, window, spec.average_gradient)
    feedback = _feedback_matrix(spec, w)

    # The readout errors filtered backward with kappa (few columns). Spread through B they are
    # the filtered learning signal Lbar: sum_t L[t] e_bar[t] == sum_t Lbar[t] e[t]. The same
    # filtered errors times the kappa-free spikes give the readout gradient.
    err_bar = leaky_scan(err, p.kappa, reverse=True, gain=p.out_input_scale)
    late = late_inputs is not None and bool(np.any(late_inputs)) and "w_in" in spec.learn
    # NEST's early trigger: the late inputs' synapses miss L[T-1] e_bar[T-1], the same sum with
    # a learning signal that is zero but at the last step, kappa^(T-1-t) s_out L[T-1] once
    # filtered. With ALIF neurons its postsynaptic factor needs the adaptation recursion too:
    # it rides along as B extra sequences (the recursion costs per call, not per column).
    # Without, it is psi times that signal, folded into the late columns directly (below).
    if late:
        profile = p.out_input_scale * p.kappa ** np.arange(T - 1, -1, -1, dtype=np.float64)
        late_signal = err[T - 1] @ feedback.T  # (B, n_rec)
    late_lanes = late and bool(p.n_alif and p.adapt_beta)
    lanes = 2 * B if late_lanes else B
    m = buf.array("m", (T, lanes, p.n_rec))
    psi = traj.psi
    if late_lanes:
        m[:, :B] = seq_dot(err_bar, feedback.T, out=buf.array("m_main", (T, B, p.n_rec)))
        np.multiply(profile[:, None, None], late_signal[None], out=m[:, B:])
        psi = buf.array("psi_twice", (T, lanes, p.n_rec))
        psi[:, :B] = traj.psi
        psi[:, B:] = traj.psi
    else:
        seq_dot(err_bar, feedback.T, out=m)
    if spec.reg_coefficient:
        rate = traj.z.sum(axis=0) / T  # spikes per step
        target = spec.reg_target_rate_hz * p.dt / 1000.0
        m[:, :B] += spec.reg_coefficient * (rate - target) / T  # (B, n_rec) broadcast
    h = _postsynaptic_factor(p, psi, m, buf)

    grads: dict[str, np.ndarray] = {}
    inv_b = scale / B
    # sum_t h[t] xbar[t] = sum_s hbar[s] s_rec x[s] with hbar the alpha-filter of h run
    # backward: one scan serves input and recurrent weights
    if "w_in" in spec.learn or "w_rec" in spec.learn:
        h_main = h[:, :B] if late_lanes else h
        hbar = leaky_scan(h_main, p.alpha, reverse=True, gain=p.rec_input_scale, out=buf.array("hbar", (T, B, p.n_rec)))
    if "w_in" in spec.learn:
        g_in = _spike_weighted_sum(hbar, traj.x)
        if late:
            # only the late inputs' columns change: sum_t h_late[t] xbar[t] over those columns,
            # with xbar the inputs filtered forward (a few columns instead of a filter of h_late)
            for b in range(B):
                cols = np.flatnonzero(late_inputs[b])
                if not len(cols):
                    continue
                xbar = leaky_scan(traj.x[:, b, cols], p.alpha, gain=p.rec_input_scale)
                if late_lanes:
                    g_in[:, cols] -= h[:, B + b].T @ xbar
                else:
                    # h_late[t, j] = psi[t, j] profile[t] late_signal[j]
                    g_in[:, cols] -= late_signal[b][:, None] * (traj.psi[:, b].T @ (profile[:, None] * xbar))
        grads["w_in"] = g_in * inv_b
    if "w_rec" in spec.learn:
        # recurrent spikes reach the membrane one step later
        g_rec = _spike_weighted_sum(hbar[1:], traj.z[:-1])
        np.fill_diagonal(g_rec, 0.0)
        grads["w_rec"] = g_rec * inv_b
    if "w_out" in spec.learn:
        grads["w_out"] = _spike_weighted_sum(err_bar, traj.z) * inv_b
    return grads, loss


#: below this fraction of steps with a spike, the spike-weighted sums keep only those steps
_SPARSE_ROWS = 0.5


def _spike_weighted_sum(a: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """``sum_{t,b} a[t,b,:] outer spikes[t,b,:]`` -> ``(a.shape[-1], spikes.shape[-1])``: the sum
    over the sequence of postsynaptic factor times presynaptic spike (``spikes`` 0 / 1), one
    matrix product over the steps that have a spike (BLAS beats gathering single entries even
    when spikes are sparse, but whole silent steps are worth dropping)."""
    a2 = a.reshape(-1, a.shape[-1])
    s2 = spikes.reshape(-1, spikes.shape[-1])
    # spikes are 0 / 1: a row is silent when its sum is 0 (a matrix-vector product is the
    # cheapest row sum)
    rows = np.flatnonzero(s2 @ np.ones(s2.shape[1]))
    if len(rows) < _SPARSE_ROWS * len(s2):
        a2 = a2.take(rows, axis=0)
        s2 = s2.take(rows, axis=0)
    return a2.T @ s2


class Optimizer:
    """The optimizer of an :class:`EpropSpec` on :class:`EpropWeights`, as NEST applies it.

    Gradient descent or Adam in the TensorFlow / NEST form
    (:class:`plasticore.reference.optimizers.Adam` with ``epsilon_on="v"``), one state per
    weight matrix; after each update the weights are clipped to ``[w_min, w_max]`` and the
    diagonal of ``w_rec`` is set to zero.

    Parameters
    ----------
    spec : EpropSpec
        ``optimizer``, ``eta``, ``adam_*``, ``w_min`` and ``w_max`` are read.

    Attributes
    ----------
    spec : EpropSpec
        As given.
    rule : plasticore.reference.optimizers.Optimizer
        The update rule proper (its ``t`` counts the updates).
    """

    def __init__(self, spec: EpropSpec):
        self.spec = spec
        self.rule: optimizers.Optimizer
        if spec.optimizer == "adam":
            self.rule = optimizers.Adam(spec.eta, spec.adam_beta1, spec.adam_beta2, spec.adam_epsilon, epsilon_on="v")
        else:
            self.rule = optimizers.GradientDescent(spec.eta)

    def apply(self, w: EpropWeights, grads: dict[str, np.ndarray]) -> None:
        """Change ``w`` in place by one update with ``grads`` (names of ``EpropWeights`` fields)."""
        s = self.spec
        updated = self.rule.step({name: getattr(w, name) for name in grads}, grads)
        for name, new in updated.items():
            new = np.clip(new, s.w_min, s.w_max)
            if name == "w_rec":
                np.fill_diagonal(new, 0.0)
            setattr(w, name, new)


@dataclass
class EpropResult:
    """A training run of :func:`train_eprop`.

    Parameters
    ----------
    losses : ndarray, shape (iterations,)
        Loss per iteration, before that iteration's update.
    weights : EpropWeights
        The final weights.
    rates : ndarray, shape (iterations,)
        Mean spike count per neuron and sequence, per iteration.
    """

    losses: np.ndarray
    weights: EpropWeights
    #: mean spike count per neuron and sequence, per iteration
    rates: np.ndarray = field(default_factory=lambda: np.zeros(0))


def train_eprop(
    p: SnnParams,
    spec: EpropSpec,
    w0: EpropWeights,
    inputs: np.ndarray,
    targets: np.ndarray,
    batch: int = 1,
    progress: Callable[[Iterable], Iterable] | None = None,
    max_parallel: int = 4,
) -> EpropResult:
    """Train on ``inputs`` ``(n_seq, T, n_in)`` / ``targets`` ``(n_seq, T, n_out)``, ``batch``
    sequences per update, in order; returns losses per iteration and the final weights.

    The same sequence order and batching as NEST's ``batch_size`` (sequences ``n*batch`` to
    ``(n+1)*batch - 1`` form iteration ``n``). A batch is simulated ``max_parallel`` sequences
    at a time (all share the weights; the gradient is the batch mean either way): wide enough
    to spread numpy's per-call cost, narrow enough that the work arrays stay small.
    """
    inputs = np.asarray(inputs)
    targets = np.asarray(targets, dtype=np.float64)
    if inputs.ndim != 3 or targets.ndim != 3 or inputs.shape[:2] != targets.shape[:2]:
        raise ParamsError(
            f"inputs {inputs.shape} / targets {targets.shape}: expected (n_seq, T, n) with the same n_seq and T"
        )
    n_seq, T, _ = inputs.shape
    if batch < 1 or n_seq % batch:
        raise ParamsError(f"batch: {n_seq} sequences are not a whole number of batches of {batch}")
    if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1:
        raise ParamsError(f"max_parallel: {max_parallel!r} must be an integer >= 1")
    spec.check_sequence(T)
    check_inputs(p, inputs.reshape(1, -1, inputs.shape[-1]), as_float=False)
    w = w0.copy()
    w.check(p)
    opt = Optimizer(spec)
    n_iter = n_seq // batch
    losses = np.empty(n_iter)
    rates = np.empty(n_iter)
    steps = range(n_iter) if progress is None else progress(range(n_iter))
    buffers = Buffers()
    for it in steps:
        grads: dict[str, np.ndarray] = {}
        loss = spikes = 0.0
        for first in range(it * batch, (it + 1) * batch, max_parallel):
            sl = slice(first, min(first + max_parallel, (it + 1) * batch))
            part = sl.stop - sl.start
            # time-major float inputs as the network receives them
            x = network_inputs(spec, np.swapaxes(inputs[sl], 0, 1).astype(np.float64))
            tgt = np.swapaxes(targets[sl], 0, 1)
            traj = simulate(p, w, x, buffers)
            late = None
            if spec.nest_early_trigger and T > 1:
                # input spikes at step 1 of the sequence that follows each one (none after the last)
                nxt = inputs[sl.start + 1 : sl.stop + 1, 1, :].astype(bool)
                late = np.zeros((part, p.n_in), dtype=bool)
                late[: len(nxt)] = nxt
            g, part_loss = eprop_gradients(p, spec, w, traj, tgt, late, buffers)
            share = part / batch
            for name, value in g.items():
                grads[name] = grads[name] + share * value if name in grads else share * value
            loss += share * part_loss
            spikes += traj.z.sum()
        losses[it] = loss
        rates[it] = spikes / (batch * p.n_rec)
        if spec.feedback == "adaptive" and "w_out" in grads:
            # Bellec et al.'s adaptive e-prop: B changes with the readout (same update, transposed)
            before = w.w_out.copy()
            opt.apply(w, grads)
            w.b_fb = w.b_fb + (w.w_out - before).T
            if spec.feedback_decay:
                w.w_out = w.w_out * (1.0 - spec.feedback_decay)
                w.b_fb = w.b_fb * (1.0 - spec.feedback_decay)
        else:
            opt.apply(w, grads)
    return EpropResult(losses=losses, weights=w, rates=rates)
