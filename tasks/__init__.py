"""Seeded tasks: procedural spike-train data sets and the loader of a shipped one (scikit-learn only for digits).

One module per task, each a function ``(seed, ...) -> Task`` registered in :data:`TASKS`:

* ``cue`` (:mod:`.cue`): evidence accumulation; answer the side that had more cues.
* ``cue-reckon`` (:mod:`.cue`): the same task with the silicon anchor's (ReckOn's) timing and
  sample budget: 2,250 ticks, 50 training and 50 test samples.
* ``pattern`` (:mod:`.pattern`): sine-wave pattern generation from time-coded inputs.
* ``store-recall`` (:mod:`.store_recall`): recall the bit shown with the store cue.
* ``xor`` (:mod:`.xor`): delayed-memory XOR of two pulses.
* ``digits`` (:mod:`.digits`): 8x8 handwritten digits rate-coded as Poisson spike trains.

A user's own data set (a ``.npz`` file) is loaded by :func:`load_user_data` (:mod:`.user_data`).

:class:`Split`, :class:`Task` and the shared helpers are in :mod:`.base`; shipped data sets
are loaded in :mod:`.datasets`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import Split, Task
from .cue import cue_reckon_task, cue_task
from .digits import digits_task
from .pattern import pattern_task
from .store_recall import store_recall_task
from .user_data import load_user_data, user_data_task
from .xor import xor_task

__all__ = [
    "Split",
    "Task",
    "TASKS",
    "make_task",
    "cue_task",
    "cue_reckon_task",
    "pattern_task",
    "store_recall_task",
    "xor_task",
    "digits_task",
    "load_user_data",
    "user_data_task",
]


TASKS: dict[str, Callable[..., Task]] = {
    "cue": cue_task,
    "cue-reckon": cue_reckon_task,
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
            raise ValueError(
                "task digits: pass digits_data=(images, labels) "
                "(plasticore.tasks.datasets.load_digits_arrays loads scikit-learn's digits)"
            )
        return digits_task(*digits_data, seed=seed, **kw)
    return TASKS[name](seed, **kw)
