"""Learning-to-learn (Bellec et al. 2018) on the chip's network: outer loop, inner loop, scores.

**Outer loop** (offline, on the host): BPTT on the Config network
(:mod:`plasticore.training.bptt_train`: the chip's LIF and ALIF neurons, leak, adaptation,
readout filter), Adam on batches of episodes, every batch a fresh draw of tasks from the
family (:mod:`plasticore.tasks.l2l_regression`). First in float (the float twin's
dynamics), then quantization-aware fine-tuning: the forward pass is the hardware's integer
tick on the rounded weights, the gradient flows straight through the rounding
(:func:`~plasticore.training.bptt_train.forward_fixed`).

**Inner loop**: episodes of new tasks with the weights frozen. Nothing learns on the chip;
whatever improves from the first example of an episode to the last is carried by the
network's state (membranes, adaptation thresholds, the readout).

The network is a Config: by default the ``small`` preset (16 inputs, 32 neurons of which 8
are ALIF, 2 readouts), so that the RTL model built for the host-driver tests serves here too;
:data:`L2L_CONFIGS` adds networks of their own by name (``lsnn64``: the LSNN paper's
proportions, half the neurons ALIF with strong adaptation), and any preset or JSON file of
:func:`plasticore.golden.config.load_config` serves too. The LIF-only comparison is the same
network with ``n_alif = 0``. The two readouts are a differential pair: they are trained towards
``+f`` and ``-f`` and the prediction is their half difference, so a value needs no readout
offset (the chip has no bias).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plasticore.golden.config import Config, ConfigError, load_config, preset
from plasticore.golden.network import Weights, init_weights
from plasticore.golden.numerics import signed_range
from plasticore.reference.optimizers import Adam
from plasticore.tasks.l2l_regression import RegressionEpisodes, l2l_regression

from .bptt_train import ConfigRun, backward, forward, forward_fixed, objective, quantize
from .common import Progress, no_progress

__all__ = [
    "NEURONS",
    "NUMERICS",
    "L2LSpec",
    "L2L_SPEC",
    "L2L_CONFIGS",
    "L2L_SPECS",
    "base_config",
    "spec_for",
    "MetaTraining",
    "l2l_config",
    "episodes_for",
    "readout_targets",
    "predictions",
    "mse_by_example",
    "meta_train",
    "heldout_episodes",
    "save_weights",
    "load_weights",
    "trained_weights",
]

NEURONS = ("lsnn", "lif")
NUMERICS = ("float", "fixed")
_TRAINED = ("w_in", "w_rec", "w_out")


@dataclass(frozen=True)
class L2LSpec:
    """How the L2L regression family is meta-trained and scored.

    Parameters
    ----------
    task_kw : dict
        Arguments of :func:`~plasticore.tasks.l2l_regression.l2l_regression` (episode shape,
        input coding).
    target_scale : int
        Readout LSBs that stand for a target of 1.0 on each readout of the pair.
    init : dict
        Scales of :func:`plasticore.golden.network.init_weights`.
    batch : int
        Episodes per outer-loop step.
    float_steps, fixed_steps : int
        Outer-loop steps in float, then quantization-aware in fixed point.
    lr, fixed_lr : float
        Adam step sizes (weight LSBs) of the two phases.
    rate_reg, target_rate : float
        Firing-rate regularization of the outer loop, as in the LSNN paper: the objective gains
        ``rate_reg * ticks / 2 * sum_j (rate_j - target_rate)**2`` per episode (rates in spikes
        per tick), which keeps neurons from falling silent (a silent neuron gets no gradient).
    dampening : float
        The outer loop's pseudo-derivative is the LSNN paper's,
        ``dampening * max(0, 1 - |u - A| / threshold) / threshold`` (zero while refractory),
        wider than the chip's learning window ``pd_window``: BPTT runs on the host, so it need
        not be the chip's ``h``.
    heldout : int
        Held-out episodes (new tasks, never trained on) the inner loop is scored on.
    """

    task_kw: dict[str, int] = dataclasses.field(default_factory=dict)
    target_scale: int = 1024
    init: dict[str, float] = dataclasses.field(default_factory=dict)
    batch: int = 16
    float_steps: int = 1500
    fixed_steps: int = 300
    lr: float = 0.15
    fixed_lr: float = 0.05
    rate_reg: float = 5e6
    target_rate: float = 0.08
    dampening: float = 0.3
    heldout: int = 256


#: one-hidden-unit target networks (monotone sigmoids of random slope, centre and direction),
#: six examples of 24 ticks (the readout's tau_out is 20 ticks: shorter examples leave most of
#: the previous answer in it), chosen on validation seed 0 (docs/results.md, L2L section)
L2L_SPEC = L2LSpec(
    task_kw={"hidden": 1, "examples": 6, "example_ticks": 24, "answer_ticks": 8},
    lr=0.3,
    float_steps=600,
    fixed_steps=150,
)

#: seed of the held-out episodes: one set of tasks for every meta-training seed and network,
#: so that their curves are compared on the same tasks
HELDOUT_SEED = 0x12_2018


#: networks of their own for L2L, by the name ``--config`` takes (beside presets and JSON
#: files). ``lsnn64`` has the LSNN paper's proportions: 64 neurons, half of them ALIF (SEEDS.md:
#: the paper's sequential-MNIST LSNN is 100 ALIF of 220), each spike raising the threshold by a
#: quarter (``adapt_inc`` 256 of 1024) for tau_a 200 ticks, longer than an episode (144 ticks);
#: the adaptation register gets one more bit for that (a sustained 0.1 spikes per tick holds
#: ``a`` near 6,500, bursts go higher, and 14 bits end at 16,383). The rest is ``small``'s.
L2L_CONFIGS: dict[str, Config] = {
    "lsnn64": preset("small").replace(name="l2l-lsnn64", n_rec=64, n_alif=32, adapt_inc=256, a_bits=15),
}


#: the outer loop of each network of :data:`L2L_CONFIGS` by config name (any other network:
#: :data:`L2L_SPEC`); the task family and episodes stay L2L_SPEC's, so that the networks meet the
#: same tasks. ``l2l-lsnn64``: more steps (chosen on validation seed 0, docs/results.md)
L2L_SPECS: dict[str, L2LSpec] = {
    "l2l-lsnn64": dataclasses.replace(L2L_SPEC, float_steps=3000, fixed_steps=300),
}


def spec_for(config: str | Config = "small") -> L2LSpec:
    """The outer loop and task spec of ``config``'s network (see :func:`base_config`); its
    LIF-only twin is trained with the same."""
    return L2L_SPECS.get(base_config(config).name, L2L_SPEC)


def base_config(config: str | Config = "small") -> Config:
    """The LSNN of ``config``: a name of :data:`L2L_CONFIGS`, a preset, a JSON file of fields
    (:func:`plasticore.golden.config.load_config`) or a Config."""
    if isinstance(config, Config):
        return config
    if config in L2L_CONFIGS:
        return L2L_CONFIGS[config]
    try:
        return load_config(config)
    except ConfigError as exc:
        raise ConfigError(f"{exc}, nor an L2L network ({', '.join(L2L_CONFIGS)})") from None


def l2l_config(neurons: str, config: str | Config = "small") -> Config:
    """The chip network of ``neurons``: ``lsnn`` the network of ``config`` itself (see
    :func:`base_config`; ``small``'s RTL model is the host-driver tests' one), ``lif`` the same
    with no ALIF neuron, named ``<name>-lif``. The meta-training seed is not a config field here:
    it draws the initial weights, which the chip loads at run time."""
    if neurons not in NEURONS:
        raise ValueError(f"neurons: {neurons!r} is not one of {', '.join(NEURONS)}")
    base = base_config(config)
    return base if neurons == "lsnn" else dataclasses.replace(base, name=f"{base.name}-lif", n_alif=0)


def episodes_for(cfg: Config, spec: L2LSpec, source: int | np.random.Generator, n: int) -> RegressionEpisodes:
    """``n`` episodes of the family, coded for ``cfg``'s inputs (half of them per value)."""
    if cfg.n_in % 2 or cfg.n_out != 2:
        raise ValueError(f"config {cfg.name}: L2L needs an even n_in (got {cfg.n_in}) and n_out 2 (got {cfg.n_out})")
    return l2l_regression(source, n, n_pop=cfg.n_in // 2, **spec.task_kw)


def heldout_episodes(cfg: Config, spec: L2LSpec, n: int | None = None) -> RegressionEpisodes:
    """The held-out episodes (:data:`HELDOUT_SEED`), ``spec.heldout`` unless ``n``."""
    return episodes_for(cfg, spec, HELDOUT_SEED, spec.heldout if n is None else n)


def readout_targets(ep: RegressionEpisodes, scale: int) -> np.ndarray:
    """Targets of the differential readout pair, ``(episodes, ticks, 2)`` readout LSBs."""
    f = np.rint(ep.split.target[:, :, 0] * scale)
    return np.stack([f, -f], axis=-1)


def predictions(y: np.ndarray, scale: int) -> np.ndarray:
    """The prediction (target units) of readouts ``y`` ``(..., 2)``: their half difference."""
    y = np.asarray(y, dtype=np.float64)
    return (y[..., 0] - y[..., 1]) / (2.0 * scale)


def mse_by_example(pred: np.ndarray, ep: RegressionEpisodes) -> np.ndarray:
    """Mean squared error of predictions ``(episodes, ticks)`` on each example's answer ticks,
    mean over episodes: ``(examples,)``."""
    err = (pred - ep.split.target[:, :, 0]) ** 2 * ep.split.valid
    per_example = err.reshape(len(ep.xs), ep.examples, ep.example_ticks).sum(axis=2) / ep.answer_ticks
    return per_example.mean(axis=0)


def run_golden(cfg: Config, w: Weights, ep: RegressionEpisodes, numerics: str, batch: int = 64) -> np.ndarray:
    """Readouts ``(episodes, ticks, 2)`` of the frozen network on ``ep``, golden ``numerics``."""
    if numerics not in NUMERICS:
        raise ValueError(f"numerics: {numerics!r} is not one of {', '.join(NUMERICS)}")
    ys = []
    for lo in range(0, len(ep.xs), batch):
        x = np.swapaxes(ep.split.x[lo : lo + batch], 0, 1)
        run = forward(cfg, w, x.astype(np.float64)) if numerics == "float" else forward_fixed(cfg, w, x)
        ys.append(np.swapaxes(run.y, 0, 1))
    return np.concatenate(ys)


@dataclass
class MetaTraining:
    """What :func:`meta_train` returns.

    Parameters
    ----------
    weights : Weights
        The trained weights: float (``numerics="float"``) or the chip's integers (``"fixed"``).
    shadow : dict of str to ndarray
        The float weights Adam moved (to continue from).
    losses : list of float
        Each step's batch objective, readout LSBs squared summed over the episode's answer ticks.
    """

    weights: Weights
    shadow: dict[str, np.ndarray]
    losses: list[float]


def meta_train(
    cfg: Config,
    spec: L2LSpec,
    seed: int,
    numerics: str,
    start: dict[str, np.ndarray] | None = None,
    steps: int | None = None,
    progress: Progress = no_progress,
    monitor: Callable[[int, dict[str, np.ndarray]], None] | None = None,
) -> MetaTraining:
    """The outer loop: ``steps`` Adam steps (default: the spec's for ``numerics``), each on a
    fresh batch of episodes from a stream seeded by ``seed``, from ``start`` (float weights;
    default: ``init_weights`` drawn from ``seed`` with the spec's scales).

    ``numerics="fixed"`` is quantization-aware: forward on the hardware's integer tick with the
    rounded weights, straight-through gradient; the shadow weights stay within half an LSB of
    their rails in both phases, so that float weights always round onto the chip.
    ``monitor(step, shadow)`` is called after every step.
    """
    if numerics not in NUMERICS:
        raise ValueError(f"numerics: {numerics!r} is not one of {', '.join(NUMERICS)}")
    fixed = numerics == "fixed"
    steps = (spec.fixed_steps if fixed else spec.float_steps) if steps is None else steps
    w0 = init_weights(cfg, seed, **spec.init)
    shadow = (
        {k: np.array(getattr(w0, k), dtype=np.float64) for k in _TRAINED}
        if start is None
        else {k: np.array(v, dtype=np.float64) for k, v in start.items()}
    )
    b_fb = np.zeros((cfg.n_rec, cfg.n_out))
    rails = {k: signed_range(cfg.weight_bits[k]) for k in _TRAINED}
    opt = Adam(spec.fixed_lr if fixed else spec.lr)
    stream = np.random.default_rng([seed, 0x121])
    losses: list[float] = []
    for _ in progress(range(steps), f"{cfg.name} meta-training {numerics}", steps):
        ep = episodes_for(cfg, spec, stream, spec.batch)
        x = np.swapaxes(ep.split.x, 0, 1)
        tg = np.swapaxes(readout_targets(ep, spec.target_scale), 0, 1)
        vd = np.swapaxes(ep.split.valid, 0, 1)
        if fixed:
            wk = _weights(cfg, quantize(cfg, shadow), b_fb.astype(np.int64))
            run = forward_fixed(cfg, wk, x, tg, vd)
        else:
            wk = _weights(cfg, shadow, b_fb)
            run = forward(cfg, wk, x.astype(np.float64), tg, vd)
        losses.append(objective(run))
        grads = backward(cfg, wk, _with_outer_psi(cfg, spec, run), dz_extra=_rate_gradient(spec, run.z))
        shadow = opt.step(shadow, grads)
        shadow = {k: np.clip(v, rails[k][0] - 0.5, rails[k][1] + 0.5) for k, v in shadow.items()}
        if monitor is not None:
            monitor(len(losses), shadow)
    if fixed:
        final = _weights(cfg, quantize(cfg, shadow), b_fb.astype(np.int64))
    else:
        final = _weights(cfg, shadow, b_fb)
    return MetaTraining(final, shadow, losses)


def _with_outer_psi(cfg: Config, spec: L2LSpec, run: ConfigRun) -> ConfigRun:
    """``run`` with the outer loop's pseudo-derivative (``L2LSpec.dampening``) in place of the
    chip's; zero on the ticks the neuron is refractory."""
    distance = np.abs(run.u - (cfg.threshold + run.a)) / cfg.threshold
    psi = spec.dampening * np.maximum(0.0, 1.0 - distance) / cfg.threshold
    for k in range(1, cfg.refractory + 1):
        psi[k:] *= 1.0 - run.z[:-k]
    return dataclasses.replace(run, psi=psi)


def _rate_gradient(spec: L2LSpec, z: np.ndarray) -> np.ndarray:
    """The rate regularizer's derivative with respect to each spike, ``(ticks, batch, n_rec)``."""
    rate = z.mean(axis=0)
    return np.broadcast_to(spec.rate_reg * (rate - spec.target_rate), z.shape)


def _weights(cfg: Config, p: dict[str, np.ndarray], b_fb: np.ndarray) -> Weights:
    w = p["w_rec"].copy()
    np.fill_diagonal(w, 0)
    return Weights(p["w_in"], w, p["w_out"], b_fb)


def save_weights(path: Path, cfg: Config, shadow: dict[str, np.ndarray], numerics: str, losses: list[float]) -> None:
    """Save meta-trained float weights (and where they came from) to ``path`` (.npz)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, config=cfg.name, numerics=numerics, losses=np.asarray(losses), **shadow)


def load_weights(path: Path, cfg: Config) -> dict[str, np.ndarray]:
    """The float weights saved by :func:`save_weights`; refuses another config's."""
    with np.load(path) as f:
        if str(f["config"]) != cfg.name:
            raise ValueError(f"{path}: weights of config {str(f['config'])!r}, not {cfg.name!r}")
        return {k: np.array(f[k]) for k in _TRAINED}


def trained_weights(
    cfg: Config,
    spec: L2LSpec,
    seed: int,
    numerics: str,
    folder: Path,
    progress: Progress = no_progress,
    log: Callable[[str], None] = lambda _: None,
) -> Weights:
    """The meta-trained weights of ``cfg`` for ``seed`` in ``numerics``, trained once and then
    reused: ``folder/<config>-seed<seed>-float.npz`` holds the float outer loop's weights, and
    ``...-fixed.npz`` the quantization-aware fine-tuning's (started from the float ones).
    Fixed point returns the chip's integer weights."""
    if numerics not in NUMERICS:
        raise ValueError(f"numerics: {numerics!r} is not one of {', '.join(NUMERICS)}")
    shadow: dict[str, np.ndarray] | None = None
    for phase in NUMERICS[: NUMERICS.index(numerics) + 1]:
        path = folder / f"{cfg.name}-seed{seed}-{phase}.npz"
        if path.exists():
            log(f"{phase} weights: {path} (reused)")
            shadow = load_weights(path, cfg)
            continue
        log(f"{phase} weights: meta-training, saved to {path}")
        result = meta_train(cfg, spec, seed, phase, start=shadow, progress=progress)
        shadow = result.shadow
        save_weights(path, cfg, shadow, phase, result.losses)
    assert shadow is not None
    b_fb = np.zeros((cfg.n_rec, cfg.n_out), dtype=np.int64 if numerics == "fixed" else np.float64)
    return _weights(cfg, quantize(cfg, shadow) if numerics == "fixed" else shadow, b_fb)
