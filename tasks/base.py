"""Shared pieces of the seed tasks: :class:`Split`, :class:`Task` and the generators' helpers.

Every task is generated from a seed with numpy alone (no download): the same seed gives the
same bits. Inputs are 0/1 spike trains ``(samples, ticks, n_in)``; targets are real values in
units of the readout target scale ``(samples, ticks, n_out)`` (the trainer turns them into
readout LSBs); ``valid`` marks the ticks whose error drives learning and scoring.

Classification targets are one-hot (1 for the right class, 0 otherwise) over the decision
window; the prediction is the class whose readout has the largest mean over that window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Split", "Task"]


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

    def subset(self, n: int) -> Split:
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
