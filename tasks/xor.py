"""``xor``: delayed-memory XOR (Huh and Sejnowski 2018).

Two pulses, each positive or negative, separated by delays, then a go cue; answer whether
they differed.
"""

from __future__ import annotations

import numpy as np

from .base import Split, Task, _check_counts, _one_hot_targets, _poisson

__all__ = ["xor_task"]


def xor_task(
    seed: int,
    n_train: int = 512,
    n_test: int = 256,
    group: int = 10,
    pulse_ticks: int = 10,
    delay_ticks: int = 20,
    go_ticks: int = 10,
    rate: float = 0.3,
    noise_rate: float = 0.01,
) -> Task:
    """Input groups: positive pulse, negative pulse, go cue, noise. Pulse 1, delay, pulse 2,
    delay, go: answer 1 iff the two pulses had different signs."""
    _check_counts(n_train, n_test)
    rng = np.random.default_rng(seed)
    ticks = 2 * (pulse_ticks + delay_ticks) + go_ticks
    n_in = 4 * group

    def split(n: int) -> Split:
        signs = rng.integers(0, 2, size=(n, 2))
        rates = np.zeros((n, ticks, n_in))
        rates[:, :, 3 * group :] = noise_rate
        for p in range(2):
            t0 = p * (pulse_ticks + delay_ticks)
            for s in (0, 1):
                rates[signs[:, p] == s, t0 : t0 + pulse_ticks, s * group : (s + 1) * group] = rate
        rates[:, ticks - go_ticks :, 2 * group : 3 * group] = rate
        labels = (signs[:, 0] != signs[:, 1]).astype(np.int64)
        valid = np.zeros((n, ticks), dtype=bool)
        valid[:, ticks - go_ticks :] = True
        return Split(_poisson(rng, rates), _one_hot_targets(labels, valid, 2), valid, labels)

    return Task(
        "xor",
        n_in,
        2,
        "accuracy",
        split(n_train),
        split(n_test),
        f"delayed XOR: two {pulse_ticks}-tick pulses, {delay_ticks}-tick delays, go cue; {ticks} ticks",
    )
