"""``store-recall``: store a cued bit, recall it on a cue.

A bit is shown in each of several periods, a store cue marks one of them; on the recall cue
answer the stored bit (the others are distractors).
"""

from __future__ import annotations

import numpy as np

from .base import Split, Task, _check_counts, _one_hot_targets, _poisson

__all__ = ["store_recall_task"]


def store_recall_task(
    seed: int,
    n_train: int = 512,
    n_test: int = 256,
    group: int = 10,
    periods: int = 3,
    period_ticks: int = 10,
    gap_ticks: int = 5,
    delay_ticks: int = 10,
    recall_ticks: int = 10,
    rate: float = 0.3,
    noise_rate: float = 0.01,
) -> Task:
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
        rates[:, :, 4 * group :] = noise_rate
        for p in range(periods):
            t0 = p * span
            for b in (0, 1):
                sel = bits[:, p] == b
                rates[sel, t0 : t0 + period_ticks, b * group : (b + 1) * group] = rate
            rates[store == p, t0 : t0 + period_ticks, 2 * group : 3 * group] = rate
        rates[:, ticks - recall_ticks :, 3 * group : 4 * group] = rate
        labels = bits[np.arange(n), store]
        valid = np.zeros((n, ticks), dtype=bool)
        valid[:, ticks - recall_ticks :] = True
        return Split(_poisson(rng, rates), _one_hot_targets(labels, valid, 2), valid, labels)

    return Task(
        "store-recall",
        n_in,
        2,
        "accuracy",
        split(n_train),
        split(n_test),
        f"store-recall: {periods} bits with one store cue, recall after {delay_ticks} ticks; {ticks} ticks",
    )
