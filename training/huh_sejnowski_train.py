"""Huh & Sejnowski's differentiable network trained on a task, then deployed to the chip.

Training runs :mod:`plasticore.reference.huh_sejnowski` (the gated network and its exact
gradient) on the chip's own neuron model: the membrane leak and readout decay are the
config's quantized factors ``alpha_q / 2**decay_bits`` and ``kappa_q / 2**decay_bits``; the
neurons are LIF (no ALIF, no refractory period); the synapse has no filter of its own
(``kappa_s = 0``: the recurrent current and the readout are driven by the charge of the
tick, as the chip's are by its spike); and the reset is the config's, ``"zero"``: the
reference's ``reset_mode="zero"``, whose hard limit is golden's zero reset at every drive.
(The subtractive form's limit is golden's only while the potential stays below about
``2 theta``; trained networks drive their neurons far above that, where the gated neuron
falls silent and the chip's fires on every tick.) The gate width ``delta`` anneals
geometrically from ``delta_start`` to ``delta_end`` over the epochs, and training stops
early by the published rule (``HSTrainSpec.stop_error``).

Deployment (:func:`deploy`) maps the trained float network onto a :class:`Config` and integer
:class:`Weights`:

* the unit of membrane potential ``theta`` becomes ``threshold`` soma LSBs, and a float weight
  ``w`` the integer ``rint(w * threshold / 2**w_shift)`` (the chip multiplies the summed
  weights by ``2**w_shift``). ``threshold`` is the largest integer for which the largest
  input or recurrent weight still fits ``w_bits``: the finest weight grid the width allows.
  Each hidden weight is then within half an LSB, ``2**w_shift / (2 threshold)`` of ``theta``,
  of its float value (tests/test_huh_sejnowski_train.py);
* the readout only has to rank the classes, so ``w_out`` is scaled on its own to span its
  width (``out_shift = 0``);
* the gate goes: the charge ``c in [0, 1]`` of the smooth network becomes the spike
  ``z = [U >= threshold]``, the threshold at the centre of the gate's active zone. A neuron
  whose potential ends a tick inside the zone delivers a partial charge in float and all or
  nothing on the chip; this is the only change besides rounding (membrane, reset, leak and
  readout decay are already the chip's).

Entry points: :class:`HSTrainSpec`, :data:`HS_SPECS`, :func:`hs_params`, :func:`train_float`,
:func:`deploy`, :func:`smooth_accuracy`, :func:`chip_accuracy`, :func:`train_huh_sejnowski` (the
trainer of ``plasticore train --rule huh-sejnowski``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plasticore.golden.config import Config
from plasticore.golden.network import Weights, run
from plasticore.golden.numerics import FixedNumerics, FloatNumerics, signed_range
from plasticore.reference import huh_sejnowski as hs
from plasticore.reference.optimizers import Adam
from plasticore.tasks import Split, Task

from .common import Progress, no_progress

__all__ = [
    "HSTrainSpec",
    "HS_SPECS",
    "hs_params",
    "train_float",
    "deploy",
    "float_weights",
    "smooth_accuracy",
    "smooth_predictions",
    "chip_predictions",
    "chip_accuracy",
    "HSTraining",
    "chip_config",
    "train_huh_sejnowski",
    "spec_for",
]

FloatWeights = dict[str, np.ndarray]

_FIXED, _FLOAT = FixedNumerics(), FloatNumerics()


@dataclass(frozen=True)
class HSTrainSpec:
    """How a task is trained with Huh & Sejnowski's gradient and deployed.

    Parameters
    ----------
    config : dict
        ``Config`` fields of the chip's network (sizes, widths, ``tau_m``, ``tau_out``,
        ``w_shift``); ``threshold`` is set by :func:`deploy`.
    epochs : int
        Passes over the training split.
    batch : int
        Samples per Adam step.
    lr : float
        Adam's step size (float weights, ``theta = 1``).
    delta_start, delta_end : float
        Gate width (in units of ``theta``) in the first and the last epoch; geometric between.
    clip : float or None
        Largest global norm of a step's gradient (scaled down above it): the gate's ``1/delta``
        makes rare steps through the recurrence blow up, more so as ``delta`` narrows.
    stop_error, stop_window : float or None, int
        Stop when the classification error of the last ``stop_window`` training samples (each
        scored as it was trained, before its step) is below ``stop_error``: the stopping rule
        of the IGITUGraz temporal-XOR tutorial (SEEDS.md), which without it Adam keeps stepping
        at full size on vanishing gradients and drifts off the solution. None: all epochs.
    init : dict
        ``in_scale``, ``rec_scale``, ``out_scale`` of :func:`plasticore.reference.huh_sejnowski.init_weights`.
    task_kw : dict
        Arguments of the task generator.
    """

    config: dict[str, Any]
    epochs: int = 4
    batch: int = 32
    lr: float = 0.005
    delta_start: float = 1.0
    delta_end: float = 0.25
    clip: float | None = 1.0
    stop_error: float | None = 0.01
    stop_window: int = 256
    init: dict[str, float] = field(default_factory=dict)
    task_kw: dict[str, Any] = field(default_factory=dict)

    def delta(self, epoch: int) -> float:
        """The gate width of ``epoch`` (0-based)."""
        if self.epochs == 1:
            return self.delta_end
        frac = epoch / (self.epochs - 1)
        return float(self.delta_start * (self.delta_end / self.delta_start) ** frac)


#: the chip fields every deployed H&S network shares: LIF only, no refractory period,
#: reset to zero (the one whose hard limit the gated network's reset reproduces at every drive)
_HS_CHIP = dict(
    w_bits=8,
    u_bits=16,
    v_bits=16,
    y_bits=16,
    e_bits=16,
    decay_bits=12,
    n_alif=0,
    refractory=0,
    reset="zero",
    w_shift=4,
    out_shift=0,
    lanes=4,
)

#: the H&S networks by task; the step size, gate schedule, clipping and stopping rule were chosen
#: on the seed-2 validation task (docs/results.md, "Huh & Sejnowski")
HS_SPECS: dict[str, HSTrainSpec] = {
    # the same task data as the e-prop and BPTT rows (TASK_SPECS["xor"].task_kw)
    "xor": HSTrainSpec(
        config=dict(_HS_CHIP, name="xor-hs", n_rec=64, n_out=2, tau_m=20.0, tau_out=20.0),
        init=dict(in_scale=1.0, rec_scale=0.5, out_scale=1.0),
        task_kw=dict(n_train=2000, n_test=512, rate=0.4),
    ),
}


def _decay(q: int, cfg: Config) -> float:
    return q / float(1 << cfg.decay_bits)


def hs_params(cfg: Config, delta: float) -> hs.HSParams:
    """The gated float network of ``cfg``'s chip network (``theta = 1``, ``kappa_s = 0``)."""
    return hs.HSParams(
        n_in=cfg.n_in,
        n_rec=cfg.n_rec,
        n_out=cfg.n_out,
        alpha=_decay(cfg.alpha_q, cfg),
        theta=1.0,
        delta=delta,
        kappa_s=0.0,
        kappa_out=_decay(cfg.kappa_q, cfg),
        loss="cross_entropy",
        reset_mode=cfg.reset,
    )


def _batches(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def smooth_predictions(params: hs.HSParams, w: FloatWeights, split: Split, batch: int = 256) -> np.ndarray:
    """Class per sample of the gated float network: the largest readout mean over the window."""
    out = np.zeros(len(split), dtype=np.int64)
    for lo in range(0, len(split), batch):
        y = hs.forward(params, w, _batches(split.x[lo : lo + batch])).y.transpose(1, 0, 2)
        out[lo : lo + batch] = (y * split.valid[lo : lo + batch, :, None]).sum(axis=1).argmax(axis=1)
    return out


def smooth_accuracy(params: hs.HSParams, w: FloatWeights, split: Split) -> float:
    """Held-out accuracy of the gated float network."""
    return float((smooth_predictions(params, w, split) == split.labels).mean())


def train_float(
    cfg: Config,
    spec: HSTrainSpec,
    task: Task,
    seed: int,
    progress: Progress = no_progress,
    epochs: int | None = None,
    evaluate: Callable[[hs.HSParams, FloatWeights], float] | None = None,
) -> tuple[FloatWeights, list[float], list[float], hs.HSParams]:
    """Train the gated network on ``task.train`` (Adam, cross-entropy on the decision window).

    Returns the float weights, the mean training loss of each epoch, the held-out score after
    each epoch (``evaluate(params, w)``; default the gated network's accuracy at that epoch's
    gate width; both lists end with the epoch in which the stopping rule ``spec.stop_error``
    fired, if it did) and the network's constants in the last epoch trained.
    """
    if evaluate is None:

        def evaluate(params: hs.HSParams, w: FloatWeights) -> float:
            return smooth_accuracy(params, w, task.test)

    epochs = spec.epochs if epochs is None else epochs
    if epochs < 1:
        raise ValueError(f"epochs: {epochs!r} is outside the allowed range 1..")
    rng = np.random.default_rng(seed)
    w = hs.init_weights(hs_params(cfg, spec.delta_start), seed=seed, **spec.init)
    np.fill_diagonal(w["w_rec"], 0.0)
    opt = Adam(spec.lr)
    split = task.train
    losses: list[float] = []
    curve: list[float] = []
    sched = dataclasses.replace(spec, epochs=epochs)
    recent = np.zeros(0, dtype=bool)  # correct or not, the last training samples
    stopped = False
    for ep in range(epochs):
        params = hs_params(cfg, sched.delta(ep))
        order = rng.permutation(len(split))
        starts = range(0, len(order), spec.batch)
        total, seen = 0.0, 0
        for lo in progress(starts, f"{task.name} huh-sejnowski epoch {ep + 1}/{epochs}", len(starts)):
            idx = order[lo : lo + spec.batch]
            value, grads, run = hs.loss_and_gradients(
                params, w, _batches(split.x[idx]), split.target[idx], split.valid[idx]
            )
            y = run.y.transpose(1, 0, 2) * split.valid[idx, :, None]
            recent = np.concatenate([recent, y.sum(axis=1).argmax(axis=1) == split.labels[idx]])[-spec.stop_window :]
            total, seen = total + value * len(idx), seen + len(idx)
            if spec.stop_error is not None and len(recent) == spec.stop_window:
                if 1.0 - recent.mean() < spec.stop_error:
                    stopped = True
                    break
            np.fill_diagonal(grads["w_rec"], 0.0)  # no self-connections: the chip's w_rec diagonal is 0
            if spec.clip is not None:
                norm = float(np.sqrt(sum(float((g * g).sum()) for g in grads.values())))
                if norm > spec.clip:
                    grads = {k: g * (spec.clip / norm) for k, g in grads.items()}
            w = opt.step(w, grads)
        losses.append(total / seen)
        curve.append(evaluate(params, w))
        if stopped:
            break
    return w, losses, curve, params


def deploy(cfg: Config, w: FloatWeights, theta: float = 1.0) -> tuple[Config, Weights]:
    """The chip network of float weights ``w``: ``cfg`` with its ``threshold`` chosen, and the
    integer weights (module docstring). ``b_fb`` is zero (no learning on the chip)."""
    w_max = signed_range(cfg.w_bits)[1]
    peak = max(float(np.abs(w["w_in"]).max()), float(np.abs(w["w_rec"]).max()))
    if not peak > 0:
        raise ValueError("weights: every input and recurrent weight is zero; nothing to deploy")
    u_max = signed_range(cfg.u_bits)[1]
    threshold = int(np.floor(w_max * (1 << cfg.w_shift) / peak))
    threshold = max(2, min(threshold, u_max // 2))
    chip = cfg.replace(threshold=threshold, pd_window=min(cfg.pd_window, u_max))
    lsb = threshold / (theta * (1 << cfg.w_shift))  # integer weight per float weight

    def hidden(name: str) -> np.ndarray:
        lo, hi = signed_range(chip.weight_bits[name])
        return np.clip(np.rint(w[name] * lsb), lo, hi).astype(np.int64)

    out_bits = chip.weight_bits["w_out"]
    out_max = signed_range(out_bits)[1]
    out_peak = float(np.abs(w["w_out"]).max())
    out_scale = out_max / out_peak if out_peak > 0 else 1.0
    w_out = np.clip(np.rint(w["w_out"] * out_scale), -out_max, out_max).astype(np.int64)
    weights = Weights(hidden("w_in"), hidden("w_rec"), w_out, np.zeros((chip.n_rec, chip.n_out), dtype=np.int64))
    weights.check(chip)
    return chip, weights


def float_weights(cfg: Config, w: FloatWeights, theta: float = 1.0) -> Weights:
    """The float weights in the deployed chip's units, unrounded (for the golden float twin:
    the hard network without quantization of the weights)."""
    lsb = cfg.threshold / (theta * (1 << cfg.w_shift))
    out_max = signed_range(cfg.weight_bits["w_out"])[1]
    w_out = np.clip(w["w_out"] * (out_max / float(np.abs(w["w_out"]).max())), -out_max, out_max)  # not 127 + 1 ulp
    return Weights(w["w_in"] * lsb, w["w_rec"] * lsb, w_out, np.zeros((cfg.n_rec, cfg.n_out)))


def chip_predictions(cfg: Config, w: Weights, split: Split, numerics: str = "fixed") -> np.ndarray:
    """Class per sample of the chip's network (:func:`plasticore.golden.network.run`, learning off)."""
    num = _FIXED if numerics == "fixed" else _FLOAT
    rec = run(cfg, w, np.swapaxes(split.x, 0, 1).astype(np.int64), num)
    y = np.swapaxes(np.asarray(rec.y, dtype=np.float64), 0, 1)
    return (y * split.valid[:, :, None]).sum(axis=1).argmax(axis=1)


def chip_accuracy(cfg: Config, w: Weights, split: Split, numerics: str = "fixed") -> float:
    """Held-out accuracy of the deployed network in golden ``numerics``."""
    return float((chip_predictions(cfg, w, split, numerics) == split.labels).mean())


@dataclass
class HSTraining:
    """What :func:`train_huh_sejnowski` measured.

    Parameters
    ----------
    numerics : str
        ``"float"``: ``curve`` is the gated float network's; ``"fixed"``: the deployed integer
        network's in golden fixed point.
    curve : list of float
        Held-out accuracy after each epoch, in ``numerics``.
    float_weights : dict of str to ndarray
        The trained gated network (``theta = 1``).
    params : HSParams
        Its constants in the last epoch trained (that epoch's gate width).
    losses : list of float
        Mean training loss of each epoch.
    config : Config
        The deployed chip network.
    weights : Weights
        Its integer weights.
    seconds : float
        Training time (with the held-out scoring after each epoch).
    """

    numerics: str
    curve: list[float]
    float_weights: FloatWeights
    params: hs.HSParams
    losses: list[float]
    config: Config
    weights: Weights
    seconds: float


def chip_config(task: Task, spec: HSTrainSpec, seed: int) -> Config:
    """The chip network before :func:`deploy` picks its threshold (learning off: the rule field
    is the default and unused)."""
    return Config(**spec.config, n_in=task.n_in, seed=seed)


def train_huh_sejnowski(
    task: Task,
    seed: int,
    numerics: str = "fixed",
    spec: HSTrainSpec | None = None,
    epochs: int | None = None,
    progress: Progress = no_progress,
) -> HSTraining:
    """Train ``task`` with the gated network's exact gradient and deploy it (:func:`deploy`).

    ``numerics="float"`` scores the gated float network after each epoch, ``"fixed"`` the
    deployed integer network (the chip's, golden fixed point).
    """
    if numerics not in ("float", "fixed"):
        raise ValueError(f"numerics: {numerics!r} is not float or fixed")
    spec = spec or spec_for(task.name)
    cfg = chip_config(task, spec, seed)
    if cfg.n_out != task.n_out:
        raise ValueError(f"n_out: config has {cfg.n_out}, task {task.name} needs {task.n_out}")

    def fixed_accuracy(params: hs.HSParams, w: FloatWeights) -> float:
        return chip_accuracy(*deploy(cfg, w), task.test)

    start = time.perf_counter()
    evaluate = fixed_accuracy if numerics == "fixed" else None
    w, losses, curve, params = train_float(cfg, spec, task, seed, progress, epochs, evaluate)
    seconds = time.perf_counter() - start
    chip, weights = deploy(cfg, w)
    return HSTraining(numerics, curve, w, params, losses, chip, weights, seconds)


def spec_for(task: str) -> HSTrainSpec:
    """The :data:`HS_SPECS` entry of ``task``, or a one-line error."""
    try:
        return HS_SPECS[task]
    except KeyError:
        raise ValueError(f"task: {task!r} has no huh-sejnowski spec; tasks: {', '.join(HS_SPECS)}") from None
