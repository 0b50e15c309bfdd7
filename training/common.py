"""What both trainers share (:mod:`~plasticore.training.train`, :mod:`~plasticore.training.bptt_train`):
the task spec, targets in readout LSBs and the progress hook."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plasticore.golden.numerics import Numerics
from plasticore.tasks import Split

__all__ = ["TaskSpec", "task_targets", "Progress", "no_progress"]


@dataclass(frozen=True)
class TaskSpec:
    """How a task is trained by default.

    Parameters
    ----------
    config : dict
        ``Config`` fields of the task's network.
    epochs : int
        Training epochs.
    target_scale : int
        Readout LSBs that stand for a target of 1.0.
    init : dict
        Scales of :func:`plasticore.golden.network.init_weights`.
    task_kw : dict
        Arguments of the task generator.
    batch_float : int
        Float-twin batch (fixed point is always batch 1).
    anneal_every : int or None
        Every ``anneal_every`` epochs both learning-rate shifts grow by one (the host rewrites
        ``lr_shift`` / ``out_lr_shift`` between epochs; BPTT halves its step size); None:
        constant learning rates.
    hidden_epochs : int or None
        Input and recurrent learning only in the first ``hidden_epochs`` epochs, then the
        readout alone (the host clears the ``learn_input`` / ``learn_recurrent`` registers
        between epochs); None: hidden learning in every epoch.
    target_offset : float
        Added to every target before scaling (target units): -0.5 with a doubled
        ``target_scale`` turns one-hot 0 / 1 into -scale/2 / +scale/2, so that a readout
        starting at 0 is as far from both targets and its first errors are class-selective
        rather than a common drift of every output toward the mean target.
    input_offsets : tuple of (int, int, int)
        ``(first, stop, offset)``: the initial weights from inputs ``first`` to ``stop - 1`` are
        drawn as the others, then raised by ``offset`` LSBs (clipped at the weights' rails). A
        cue that tells the network "answer now" (cue accumulation's recall) then excites every
        neuron instead of half of them (docs/results.md, "Where in the hidden layer").
    """

    config: dict[str, Any]
    epochs: int
    target_scale: int
    init: dict[str, float] = field(default_factory=dict)
    task_kw: dict[str, Any] = field(default_factory=dict)
    batch_float: int = 1
    anneal_every: int | None = None
    target_offset: float = 0.0
    hidden_epochs: int | None = None
    input_offsets: tuple[tuple[int, int, int], ...] = ()


def task_targets(split: Split, scale: int, num: Numerics, offset: float = 0.0) -> np.ndarray:
    """Targets in readout LSBs, ``(target + offset) * scale`` rounded to integers (the hardware's
    y* is an integer); ``offset``: :attr:`TaskSpec.target_offset`."""
    return np.rint((split.target + offset) * scale).astype(num.dtype)


#: ``progress(iterable, description, total)``: wraps a loop to show its progress (e.g. tqdm)
Progress = Callable[[Iterable, str, int], Iterable]


def no_progress(it: Iterable, desc: str, total: int) -> Iterable:
    """A :data:`Progress` that shows nothing."""
    return it
