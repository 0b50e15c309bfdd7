"""``cue``: evidence (cue) accumulation (Bellec et al. 2020).

7 cues left or right, a delay, then a recall cue; answer the side that had more cues.
"""

from __future__ import annotations

import numpy as np

from .base import Split, Task, _check_counts, _one_hot_targets, _poisson

__all__ = ["cue_task"]


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
