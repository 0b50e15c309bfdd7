"""The seed tasks: procedural, seeded spike-train tasks with a training and a held-out split.

Every task is generated from a seed with numpy alone (no download): the same seed gives the
same bits. Inputs are 0/1 spike trains ``(samples, ticks, n_in)``; targets are real values in
units of the readout target scale ``(samples, ticks, n_out)`` (the trainer turns them into
readout LSBs); ``valid`` marks the ticks whose error drives learning and scoring.

* ``cue``: evidence (cue) accumulation (Bellec et al. 2020): 7 cues left or right, a delay,
  then a recall cue; answer the side that had more cues.
* ``pattern``: sine-wave pattern generation (Bellec et al. 2020): a sum of three sines from
  inputs that code time (each input's Poisson rate is a bump at its own time); held-out
  samples are fresh Poisson draws of the same rates.
* ``store-recall``: a bit is shown in each of several periods, a store cue marks one of them;
  on the recall cue answer the stored bit (the others are distractors).
* ``xor``: delayed-memory XOR (Huh and Sejnowski 2018): two pulses, each positive or negative,
  separated by delays, then a go cue; answer whether they differed.
* ``digits``: 8x8 handwritten digits rate-coded as Poisson spike trains (eRBP's classification
  setting). The images come from scikit-learn, which this module does not import: the caller
  passes them (``plasticore.tasks.datasets.load_digits_arrays`` loads them).

Classification targets are one-hot (1 for the right class, 0 otherwise) over the decision
window; the prediction is the class whose readout has the largest mean over that window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Split", "Task", "TASKS", "make_task", "cue_task", "pattern_task", "store_recall_task",
           "xor_task", "digits_task"]


@dataclass(frozen=True)
class Split:
    """One set of samples.

    Parameters
    ----------
    x : ndarray of uint8, shape (samples, ticks, n_in)
        Input spikes, 0/1.
    target : ndarray of float, shape (samples, ticks, n_out)
        Targets in target-scale units (the trainer turns them into readout LSBs).
    valid : ndarray of bool, shape (samples, ticks)
        The ticks whose error drives learning and scoring.
    labels : ndarray of int, shape (samples,), optional
        Class per sample (classification tasks).

    Attributes
    ----------
    ticks : int
        Ticks per sample.
    """

    x: np.ndarray
    target: np.ndarray
    valid: np.ndarray
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def ticks(self) -> int:
        return self.x.shape[1]

    def subset(self, n: int) -> "Split":
        return Split(self.x[:n], self.target[:n], self.valid[:n], None if self.labels is None else self.labels[:n])


@dataclass(frozen=True)
class Task:
    """A seeded task: a training and a held-out split.

    Parameters
    ----------
    name : str
        The task's key in :data:`TASKS`.
    n_in, n_out : int
        Inputs and readouts the network needs.
    metric : str
        ``"accuracy"`` (classification) or ``"nmse"`` (regression).
    train, test : Split
        The training and the held-out samples.
    description : str
        One line for reports.
    """

    name: str
    n_in: int
    n_out: int
    metric: str
    train: Split
    test: Split
    description: str


def _poisson(rng: np.random.Generator, rates: np.ndarray) -> np.ndarray:
    return (rng.random(rates.shape) < rates).astype(np.uint8)


def _one_hot_targets(labels: np.ndarray, valid: np.ndarray, n_out: int) -> np.ndarray:
    n, ticks = valid.shape
    target = np.zeros((n, ticks, n_out))
    target[np.arange(n), :, labels] = 1.0
    return target * valid[:, :, None]


def _check_counts(n_train: int, n_test: int) -> None:
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{name}: {n!r} is outside the allowed range 1..")


# -- evidence accumulation ----------------------------------------------------------------------

def cue_task(seed: int, n_train: int = 512, n_test: int = 256, group: int = 10, cues: int = 7,
             cue_ticks: int = 10, gap_ticks: int = 5, delay_ticks: int = 40, recall_ticks: int = 20,
             rate: float = 0.2, noise_rate: float = 0.01) -> Task:
    """Four input groups of ``group`` inputs: left cue, right cue, recall cue, background noise."""
    _check_counts(n_train, n_test)
    if cues % 2 == 0:
        raise ValueError(f"cues: {cues!r} must be odd so that one side always has more cues")
    rng = np.random.default_rng(seed)
    ticks = cues * (cue_ticks + gap_ticks) + delay_ticks + recall_ticks
    n_in = 4 * group

    def split(n: int) -> Split:
        sides = rng.integers(0, 2, size=(n, cues))
        rates = np.zeros((n, ticks, n_in))
        rates[:, :, 3 * group:] = noise_rate
        for c in range(cues):
            t0 = c * (cue_ticks + gap_ticks)
            for side in (0, 1):
                sel = sides[:, c] == side
                rates[sel, t0:t0 + cue_ticks, side * group:(side + 1) * group] = rate
        rates[:, ticks - recall_ticks:, 2 * group:3 * group] = rate
        labels = (sides.sum(axis=1) > cues // 2).astype(np.int64)  # 1: more right cues
        valid = np.zeros((n, ticks), dtype=bool)
        valid[:, ticks - recall_ticks:] = True
        return Split(_poisson(rng, rates), _one_hot_targets(labels, valid, 2), valid, labels)

    return Task("cue", n_in, 2, "accuracy", split(n_train), split(n_test),
                f"evidence accumulation: {cues} cues of {cue_ticks} ticks, {delay_ticks}-tick delay, "
                f"{recall_ticks}-tick recall; {ticks} ticks")


# -- pattern generation -------------------------------------------------------------------------

def pattern_task(seed: int, n_train: int = 64, n_test: int = 32, n_in: int = 40, ticks: int = 200,
                 n_out: int = 1, rate: float = 0.3, width: float | None = None) -> Task:
    """Target: per output, a sum of sines of periods ticks, ticks/2, ticks/3 (random amplitudes
    and phases from the seed), scaled to peak 1. Input i fires at ``rate`` around tick
    ``(i + 0.5) * ticks / n_in`` (Gaussian bump of std ``width``)."""
    _check_counts(n_train, n_test)
    rng = np.random.default_rng(seed)
    t = np.arange(ticks)
    target = np.zeros((ticks, n_out))
    for k in range(n_out):
        amps = rng.uniform(0.5, 2.0, size=3)
        phases = rng.uniform(0, 2 * np.pi, size=3)
        sig = sum(a * np.sin(2 * np.pi * (m + 1) * t / ticks + p) for m, (a, p) in enumerate(zip(amps, phases)))
        target[:, k] = sig / np.abs(sig).max()
    width = ticks / n_in if width is None else width
    centers = (np.arange(n_in) + 0.5) * ticks / n_in
    profile = rate * np.exp(-0.5 * ((t[:, None] - centers[None, :]) / width) ** 2)  # (ticks, n_in)

    def split(n: int) -> Split:
        x = _poisson(rng, np.broadcast_to(profile, (n, ticks, n_in)))
        return Split(x, np.broadcast_to(target, (n, ticks, n_out)).copy(), np.ones((n, ticks), dtype=bool))

    return Task("pattern", n_in, n_out, "nmse", split(n_train), split(n_test),
                f"pattern generation: {n_out} sum(s) of 3 sines over {ticks} ticks from {n_in} time-coded inputs")


# -- store-recall -------------------------------------------------------------------------------

def store_recall_task(seed: int, n_train: int = 512, n_test: int = 256, group: int = 10, periods: int = 3,
                      period_ticks: int = 10, gap_ticks: int = 5, delay_ticks: int = 10,
                      recall_ticks: int = 10, rate: float = 0.3, noise_rate: float = 0.01) -> Task:
    """Input groups: value 0, value 1, store, recall, noise. In each of ``periods`` periods one
    value group fires; the store group fires in one random period; after a delay the recall
    group fires and the answer is the value shown with the store cue."""
    _check_counts(n_train, n_test)
    rng = np.random.default_rng(seed)
    span = period_ticks + gap_ticks
    ticks = periods * span + delay_ticks + recall_ticks
    n_in = 5 * group

    def split(n: int) -> Split:
        bits = rng.integers(0, 2, size=(n, periods))
        store = rng.integers(0, periods, size=n)
        rates = np.zeros((n, ticks, n_in))
        rates[:, :, 4 * group:] = noise_rate
        for p in range(periods):
            t0 = p * span
            for b in (0, 1):
                sel = bits[:, p] == b
                rates[sel, t0:t0 + period_ticks, b * group:(b + 1) * group] = rate
            rates[store == p, t0:t0 + period_ticks, 2 * group:3 * group] = rate
        rates[:, ticks - recall_ticks:, 3 * group:4 * group] = rate
        labels = bits[np.arange(n), store]
        valid = np.zeros((n, ticks), dtype=bool)
        valid[:, ticks - recall_ticks:] = True
        return Split(_poisson(rng, rates), _one_hot_targets(labels, valid, 2), valid, labels)

    return Task("store-recall", n_in, 2, "accuracy", split(n_train), split(n_test),
                f"store-recall: {periods} bits with one store cue, recall after {delay_ticks} ticks; {ticks} ticks")


# -- delayed-memory XOR --------------------------------------------------------------------------

def xor_task(seed: int, n_train: int = 512, n_test: int = 256, group: int = 10, pulse_ticks: int = 10,
             delay_ticks: int = 20, go_ticks: int = 10, rate: float = 0.3, noise_rate: float = 0.01) -> Task:
    """Input groups: positive pulse, negative pulse, go cue, noise. Pulse 1, delay, pulse 2,
    delay, go: answer 1 iff the two pulses had different signs."""
    _check_counts(n_train, n_test)
    rng = np.random.default_rng(seed)
    ticks = 2 * (pulse_ticks + delay_ticks) + go_ticks
    n_in = 4 * group

    def split(n: int) -> Split:
        signs = rng.integers(0, 2, size=(n, 2))
        rates = np.zeros((n, ticks, n_in))
        rates[:, :, 3 * group:] = noise_rate
        for p in range(2):
            t0 = p * (pulse_ticks + delay_ticks)
            for s in (0, 1):
                rates[signs[:, p] == s, t0:t0 + pulse_ticks, s * group:(s + 1) * group] = rate
        rates[:, ticks - go_ticks:, 2 * group:3 * group] = rate
        labels = (signs[:, 0] != signs[:, 1]).astype(np.int64)
        valid = np.zeros((n, ticks), dtype=bool)
        valid[:, ticks - go_ticks:] = True
        return Split(_poisson(rng, rates), _one_hot_targets(labels, valid, 2), valid, labels)

    return Task("xor", n_in, 2, "accuracy", split(n_train), split(n_test),
                f"delayed XOR: two {pulse_ticks}-tick pulses, {delay_ticks}-tick delays, go cue; {ticks} ticks")


# -- digits -------------------------------------------------------------------------------------

def digits_task(images: np.ndarray, labels: np.ndarray, seed: int, ticks: int = 20, max_rate: float = 0.5,
                test_fraction: float = 0.2, skip_ticks: int = 4, n_train: int | None = None,
                n_test: int | None = None) -> Task:
    """Rate-code images (pixel value / max value * ``max_rate`` spikes per tick, Poisson).

    The images are shuffled by ``seed`` and split ``test_fraction`` held out. The first
    ``skip_ticks`` ticks are not scored nor learned from (the readout is still rising).
    """
    images = np.asarray(images, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if images.ndim != 2 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"images: shape {images.shape} does not match labels {labels.shape}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: {test_fraction!r} is outside the allowed range 0..1 (exclusive)")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    n_te = int(round(len(labels) * test_fraction))
    test_idx, train_idx = order[:n_te], order[n_te:]
    if n_train is not None:
        train_idx = train_idx[:n_train]
    if n_test is not None:
        test_idx = test_idx[:n_test]
    n_out = int(labels.max()) + 1
    scale = max_rate / images.max()

    def split(idx: np.ndarray) -> Split:
        rates = np.broadcast_to((images[idx] * scale)[:, None, :], (len(idx), ticks, images.shape[1]))
        valid = np.zeros((len(idx), ticks), dtype=bool)
        valid[:, skip_ticks:] = True
        return Split(_poisson(rng, rates), _one_hot_targets(labels[idx], valid, n_out), valid, labels[idx])

    return Task("digits", images.shape[1], n_out, "accuracy", split(train_idx), split(test_idx),
                f"digits: {images.shape[1]} pixels rate-coded over {ticks} ticks, {n_out} classes")


TASKS: dict[str, Callable[..., Task]] = {
    "cue": cue_task,
    "pattern": pattern_task,
    "store-recall": store_recall_task,
    "xor": xor_task,
    "digits": digits_task,
}


def make_task(name: str, seed: int, digits_data: tuple[np.ndarray, np.ndarray] | None = None, **kw) -> Task:
    """The task ``name`` from ``seed``; ``digits`` needs ``digits_data=(images, labels)``."""
    if name not in TASKS:
        raise ValueError(f"task: {name!r} is not one of {', '.join(TASKS)}")
    if name == "digits":
        if digits_data is None:
            raise ValueError("task digits: pass digits_data=(images, labels) "
                             "(plasticore.tasks.datasets.load_digits_arrays loads scikit-learn's digits)")
        return digits_task(*digits_data, seed=seed, **kw)
    return TASKS[name](seed, **kw)
