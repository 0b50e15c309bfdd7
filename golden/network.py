"""The golden network: one tick of the two-compartment recurrent SNN, in either numerics.

``tick`` is written once; a :class:`~plasticore.golden.numerics.Numerics` object decides whether it runs
on hardware integers (``FixedNumerics``: the bit-exact contract of docs/numerics.md) or on
float64 reals (``FloatNumerics``: the ideal twin). Arrays carry a leading batch dimension, so
one call advances ``batch`` independent copies of the network that share weights.

The numbered steps below are the steps of docs/numerics.md, section "One tick"; keep them in
the same order in the RTL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .config import Config
from .numerics import Numerics, for_config, signed_range
from .numerics import numerics as numerics_by_name
from .rules import RULES

__all__ = ["Weights", "State", "TickOut", "Recording", "init_weights", "init_state", "tick", "run", "poisson_inputs"]


@dataclass(frozen=True)
class Weights:
    """Synaptic weights, signed integers of their widths (``Config.weight_bits``; held as
    int64, float64 in the float twin).

    Shapes follow ``post x pre``: ``w_in[j, i]`` connects input i to neuron j.

    Parameters
    ----------
    w_in : ndarray, shape (n_rec, n_in)
        Input weights.
    w_rec : ndarray, shape (n_rec, n_rec)
        Recurrent weights.
    w_out : ndarray, shape (n_out, n_rec)
        Readout weights.
    b_fb : ndarray, shape (n_rec, n_out)
        Stored feedback weights: ``b_fb[j, k]`` carries error k to the dendrite of neuron j
        (unused under a rule with symmetric feedback, see :meth:`feedback`).
    synapses : plasticore.golden.synapses.SynapseTable or None
        The sparse Win/Wrec table when the weights are held in one (learning updates the
        table; ``w_in``/``w_rec`` are then its dense view, which integrates to the same bits).
        None: dense Win/Wrec.
    """

    w_in: NDArray[Any]
    w_rec: NDArray[Any]
    w_out: NDArray[Any]
    b_fb: NDArray[Any]
    synapses: Any = None

    def check(self, cfg: Config) -> None:
        """Refuse weights of the wrong shape or outside their width (``cfg.weight_bits``): no
        silent wrap."""
        shapes = {
            "w_in": (cfg.n_rec, cfg.n_in),
            "w_rec": (cfg.n_rec, cfg.n_rec),
            "w_out": (cfg.n_out, cfg.n_rec),
            "b_fb": (cfg.n_rec, cfg.n_out),
        }
        for name, shape in shapes.items():
            arr = getattr(self, name)
            if arr.shape != shape:
                raise ValueError(f"{name}: shape {arr.shape} does not match config {shape}")
            bits = cfg.weight_bits[name]
            lo, hi = signed_range(bits)
            if arr.size and (arr.min() < lo or arr.max() > hi):
                raise ValueError(f"{name}: values {arr.min()}..{arr.max()} are outside the {bits}-bit range {lo}..{hi}")
        if self.synapses is not None:
            self.synapses.check(cfg)

    def feedback(self, cfg: Config) -> NDArray[Any]:
        """The matrix B that carries errors to dendrites under the configured rule: ``w_out.T``
        when the rule's feedback is symmetric, else ``b_fb``."""
        return self.w_out.T if RULES[cfg.rule].symmetric_feedback else self.b_fb

    def astype(self, dtype: DTypeLike) -> Weights:
        """The same weights as ``dtype`` arrays."""
        table = None if self.synapses is None else self.synapses.astype(dtype)
        return Weights(
            self.w_in.astype(dtype), self.w_rec.astype(dtype), self.w_out.astype(dtype), self.b_fb.astype(dtype), table
        )


@dataclass(frozen=True)
class State:
    """Per-neuron state, each of shape ``(batch, n_rec)`` unless noted.

    Parameters
    ----------
    u : ndarray
        Soma membrane, signed ``u_bits``.
    a : ndarray
        ALIF adaptation (threshold increase), unsigned ``a_bits``; 0 for LIF neurons.
    ref : ndarray of int64
        Refractory counter, unsigned ``ref_bits``: ticks left during which the neuron cannot spike.
    z : ndarray of int64
        Spikes of the previous tick, 0/1 (they drive recurrence and reset).
    y : ndarray, shape (batch, n_out)
        Readout, signed ``y_bits``.
    v : ndarray
        Dendrite (learning signal), signed ``v_bits``.
    e : ndarray, shape (batch, n_out)
        Error of the last tick, signed ``e_bits``.
    """

    u: NDArray[Any]
    a: NDArray[Any]
    ref: NDArray[np.int64]
    z: NDArray[np.int64]
    y: NDArray[Any]
    v: NDArray[Any]
    e: NDArray[Any]


@dataclass(frozen=True)
class TickOut:
    """What one tick produces besides the new state.

    Parameters
    ----------
    z : ndarray of int64, shape (batch, n_rec)
        Spikes of this tick (the network's own decision, also under teacher forcing).
    e : ndarray, shape (batch, n_out)
        Error; zero where the target is not valid.
    threshold : ndarray, shape (batch, n_rec)
        Effective threshold ``A = theta + a``.
    """

    z: NDArray[np.int64]
    e: NDArray[Any]
    threshold: NDArray[Any]


def init_state(cfg: Config, num: Numerics, batch: int = 1) -> State:
    """The reset state: every value zero."""

    def zeros(n: int) -> NDArray[Any]:
        return np.zeros((batch, n), dtype=num.dtype)

    return State(
        u=zeros(cfg.n_rec),
        a=zeros(cfg.n_rec),
        ref=np.zeros((batch, cfg.n_rec), dtype=np.int64),
        z=np.zeros((batch, cfg.n_rec), dtype=np.int64),
        y=zeros(cfg.n_out),
        v=zeros(cfg.n_rec),
        e=zeros(cfg.n_out),
    )


def init_weights(
    cfg: Config, seed: int | None = None, in_scale: float = 0.5, rec_scale: float = 0.25, out_scale: float = 0.5
) -> Weights:
    """Random integer weights from ``seed`` (default ``cfg.seed``), reproducible bit for bit.

    Input and recurrent weights are Gaussian; ``*_scale`` is the standard deviation as a
    fraction of the largest weight for a fan-in of 16, shrunk by sqrt(16 / fan-in) for larger
    layers so that the membrane's drive (and thus the firing rate) does not grow with size.
    Feedback weights B are uniform over the full range (fixed random feedback). Each matrix's
    range is its own width (``cfg.weight_bits``).
    """
    rng = np.random.default_rng(cfg.seed if seed is None else seed)

    def gauss(name: str, shape: tuple[int, int], scale: float) -> NDArray[np.int64]:
        fan_in = shape[1]
        lo, hi = signed_range(cfg.weight_bits[name])
        std = scale * hi * min(1.0, (16.0 / fan_in) ** 0.5)
        return np.clip(np.rint(rng.normal(0.0, std, size=shape)), lo, hi).astype(np.int64)

    w_in = gauss("w_in", (cfg.n_rec, cfg.n_in), in_scale)
    w_rec = gauss("w_rec", (cfg.n_rec, cfg.n_rec), rec_scale)
    np.fill_diagonal(w_rec, 0)
    w_out = gauss("w_out", (cfg.n_out, cfg.n_rec), out_scale)
    lo, hi = signed_range(cfg.weight_bits["b_fb"])
    b_fb = rng.integers(lo, hi + 1, size=(cfg.n_rec, cfg.n_out), dtype=np.int64)
    weights = Weights(w_in, w_rec, w_out, b_fb)
    weights.check(cfg)
    return weights


def tick(
    cfg: Config,
    num: Numerics,
    w: Weights,
    s: State,
    x: NDArray[Any],
    target: NDArray[Any] | None = None,
    valid: NDArray[Any] | None = None,
    force_z: NDArray[Any] | None = None,
) -> tuple[State, TickOut]:
    """Advance the network by one tick (docs/numerics.md, "One tick").

    ``x``: input spikes (batch, n_in) of 0/1. ``target``: y* (batch, n_out) in readout units;
    ``valid``: (batch,) flags, the error is zero where false (or when no target is given).
    ``force_z``: replace the spike decision by these spikes (teacher forcing, used to compare
    the float twin with the fixed-point model on identical spike trains; see plasticore.golden.twin).
    ``TickOut.z`` still reports the network's own decision.
    """
    num = for_config(num, cfg.twin_saturates)  # the float twin with the hardware's rails
    batch = s.u.shape[0]
    alif = np.asarray(cfg.alif_mask)
    x = np.asarray(x)
    if x.shape != (batch, cfg.n_in):
        raise ValueError(f"input spikes: shape {x.shape} does not match (batch={batch}, n_in={cfg.n_in})")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError("input spikes must be 0 or 1")

    # 1. synaptic current, exact: sum of the weight rows of inputs and neurons that spiked
    acc = num.matmul(x, w.w_in.T, cfg.in_acc_bits) + num.matmul(s.z, w.w_rec.T, cfg.in_acc_bits)
    current = num.lshift(acc, cfg.w_shift)

    # 2. ALIF adaptation: a <- sat(rho*a + adapt_inc*z(t-1)); zero for LIF neurons
    a = num.decay(s.a, cfg.rho_q, cfg.decay_bits) + cfg.adapt_inc * s.z
    a = np.where(alif, num.sat(a, cfg.a_bits, signed=False), 0)

    # 3. dendrite: the learning signal of the last tick's error through the feedback weights
    fb = num.matmul(s.e, w.feedback(cfg).T, cfg.fb_acc_bits)
    v = num.sat(num.decay(s.v, cfg.gamma_q, cfg.decay_bits) + num.rshift(fb, cfg.fb_shift), cfg.v_bits)

    # 4. soma: leak, integrate, reset for last tick's spike, saturate once
    leaked = num.decay(s.u, cfg.alpha_q, cfg.decay_bits)
    if cfg.reset == "subtract":
        u = leaked + current - cfg.threshold * s.z
    else:  # "zero": a neuron that spiked starts from 0 and integrates this tick's current
        u = np.where(s.z == 1, 0, leaked) + current
    u = num.sat(u, cfg.u_bits)

    # 5. threshold and spike, outside the refractory window
    thr = cfg.threshold + a
    z = ((u >= thr) & (s.ref == 0)).astype(np.int64)
    own_z = z
    if force_z is not None:
        z = np.asarray(force_z, dtype=np.int64)
    ref = np.where(z == 1, cfg.refractory, np.maximum(s.ref - 1, 0))

    # 6. readout and error
    out_acc = num.matmul(z, w.w_out.T, cfg.out_acc_bits)
    y = num.sat(num.decay(s.y, cfg.kappa_q, cfg.decay_bits) + num.lshift(out_acc, cfg.out_shift), cfg.y_bits)
    if target is None:
        e = np.zeros_like(y)
    else:
        target = np.asarray(target)
        if target.shape != (batch, cfg.n_out):
            raise ValueError(f"target: shape {target.shape} does not match (batch={batch}, n_out={cfg.n_out})")
        valid_b = np.ones(batch, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
        # the bounded output error: a clamped readout stops pushing once past its target
        y_err = y if cfg.error_clamp is None else np.minimum(np.maximum(y, -cfg.error_clamp), cfg.error_clamp)
        e = np.where(valid_b[:, None], num.sat(y_err - target, cfg.e_bits), 0)
        e = e.astype(num.dtype)

    new = State(u=u, a=a, ref=ref, z=z, y=y, v=v, e=e)
    return new, TickOut(z=own_z, e=e, threshold=thr)


@dataclass
class Recording:
    """Per-tick history of a run.

    Parameters
    ----------
    z, u, a, y, v, e : ndarray, shape (ticks, batch, n)
        Every tick's spikes (``TickOut.z``), soma, adaptation, readout, dendrite and error
        (``TickOut.e``); ``n`` is ``n_rec`` or ``n_out``.
    final : State
        The state after the last tick.

    Attributes
    ----------
    spike_count : int
        Spikes in the whole run.
    """

    z: NDArray[Any]
    u: NDArray[Any]
    a: NDArray[Any]
    y: NDArray[Any]
    v: NDArray[Any]
    e: NDArray[Any]
    final: State

    @property
    def spike_count(self) -> int:
        return int(self.z.sum())


def run(
    cfg: Config,
    w: Weights,
    x_seq: NDArray[Any],
    numerics: str | Numerics = "fixed",
    targets: NDArray[Any] | None = None,
    valid: NDArray[Any] | None = None,
    state: State | None = None,
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> Recording:
    """Run ``x_seq`` of shape ``(ticks, batch, n_in)`` and record every state every tick.

    ``targets``: ``(ticks, batch, n_out)``; ``valid``: ``(ticks, batch)``.
    ``progress``: optional wrapper over ``range(ticks)`` (e.g. ``tqdm``).
    """
    num = numerics_by_name(numerics) if isinstance(numerics, str) else numerics
    x_seq = np.asarray(x_seq)
    if x_seq.ndim != 3:
        raise ValueError(f"inputs: expected (ticks, batch, n_in), got shape {x_seq.shape}")
    ticks, batch, _ = x_seq.shape
    w.check(cfg)
    wn = w.astype(num.dtype)
    s = init_state(cfg, num, batch) if state is None else state
    rec: dict[str, list[NDArray[Any]]] = {k: [] for k in ("z", "u", "a", "y", "v", "e")}
    steps = range(ticks) if progress is None else progress(range(ticks))
    for t in steps:
        tgt = None if targets is None else targets[t]
        vld = None if valid is None else valid[t]
        s, out = tick(cfg, num, wn, s, x_seq[t], tgt, vld)
        for k, val in (("z", out.z), ("u", s.u), ("a", s.a), ("y", s.y), ("v", s.v), ("e", out.e)):
            rec[k].append(val)
    return Recording(**{k: np.stack(v) if v else np.zeros((0,)) for k, v in rec.items()}, final=s)


def poisson_inputs(cfg: Config, ticks: int, rate: float, batch: int = 1, seed: int | None = None) -> NDArray[np.int64]:
    """Bernoulli input spike trains, ``rate`` spikes per input per tick, as 0/1 int64."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate: {rate!r} is outside the allowed range 0..1 (spikes per tick)")
    rng = np.random.default_rng(cfg.seed + 1 if seed is None else seed)
    return (rng.random((ticks, batch, cfg.n_in)) < rate).astype(np.int64)
