"""``digits``: 8x8 handwritten digits rate-coded as Poisson spike trains (eRBP's classification setting).

The images come from scikit-learn, which this module does not import: the caller passes them
(:func:`plasticore.tasks.datasets.load_digits_arrays` loads them).
"""

from __future__ import annotations

import numpy as np

from .base import Split, Task, _one_hot_targets, _poisson

__all__ = ["digits_task"]


def digits_task(
    images: np.ndarray,
    labels: np.ndarray,
    seed: int,
    ticks: int = 20,
    max_rate: float = 0.5,
    test_fraction: float = 0.2,
    skip_ticks: int = 4,
    n_train: int | None = None,
    n_test: int | None = None,
) -> Task:
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

    return Task(
        "digits",
        images.shape[1],
        n_out,
        "accuracy",
        split(train_idx),
        split(test_idx),
        f"digits: {images.shape[1]} pixels rate-coded over {ticks} ticks, {n_out} classes",
    )
