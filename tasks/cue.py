"""``cue``: evidence (cue) accumulation (Bellec et al. 2020).

7 cues left or right, a delay, then a recall cue; answer the side that had more cues.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .base import Split, Task, _check_counts, _one_hot_targets, _poisson

__all__ = ["cue_task", "cue_reckon_task", "RECKON_CUE"]

#: The silicon anchor's cue accumulation (ReckOn, Frenkel & Indiveri 2022, after Bellec et al.
#: 2020): 1 tick = 1 ms, 7 cues of 100 ticks with 50-tick gaps, a 1,050-tick delay, a 150-tick
#: recall (2,250 ticks); cues at 40 Hz, background noise at 10 Hz; 50 training and 50 test samples
RECKON_CUE = dict(
    n_train=50,
    n_test=50,
    cue_ticks=100,
    gap_ticks=50,
    delay_ticks=1050,
    recall_ticks=150,
    rate=0.04,
    noise_rate=0.01,
)


def cue_task(
    seed: int,
    n_train: int = 512,
    n_test: int = 256,
    group: int = 10,
    cues: int = 7,
    cue_ticks: int = 10,
    gap_ticks: int = 5,
    delay_ticks: int = 40,
    recall_ticks: int = 20,
    rate: float = 0.2,
    noise_rate: float = 0.01,
) -> Task:
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
        rates[:, :, 3 * group :] = noise_rate
        for c in range(cues):
            t0 = c * (cue_ticks + gap_ticks)
            for side in (0, 1):
                sel = sides[:, c] == side
                rates[sel, t0 : t0 + cue_ticks, side * group : (side + 1) * group] = rate
        rates[:, ticks - recall_ticks :, 2 * group : 3 * group] = rate
        labels = (sides.sum(axis=1) > cues // 2).astype(np.int64)  # 1: more right cues
        valid = np.zeros((n, ticks), dtype=bool)
        valid[:, ticks - recall_ticks :] = True
        return Split(_poisson(rng, rates), _one_hot_targets(labels, valid, 2), valid, labels)

    return Task(
        "cue",
        n_in,
        2,
        "accuracy",
        split(n_train),
        split(n_test),
        f"evidence accumulation: {cues} cues of {cue_ticks} ticks, {delay_ticks}-tick delay, "
        f"{recall_ticks}-tick recall; {ticks} ticks",
    )


def cue_reckon_task(seed: int, **kw: int | float) -> Task:
    """:func:`cue_task` with the silicon anchor's timing and sample budget (:data:`RECKON_CUE`;
    ``kw`` overrides any of them), named ``cue-reckon``."""
    return dataclasses.replace(cue_task(seed, **{**RECKON_CUE, **kw}), name="cue-reckon")
