"""``pattern``: sine-wave pattern generation (Bellec et al. 2020).

A sum of three sines from inputs that code time (each input's Poisson rate is a bump at its
own time); held-out samples are fresh Poisson draws of the same rates.
"""

from __future__ import annotations

import numpy as np

from .base import Split, Task, _check_counts, _poisson

__all__ = ["pattern_task"]


def pattern_task(
    seed: int,
    n_train: int = 64,
    n_test: int = 32,
    n_in: int = 40,
    ticks: int = 200,
    n_out: int = 1,
    rate: float = 0.3,
    width: float | None = None,
) -> Task:
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
        sig = sum(
            a * np.sin(2 * np.pi * (m + 1) * t / ticks + p) for m, (a, p) in enumerate(zip(amps, phases, strict=True))
        )
        target[:, k] = sig / np.abs(sig).max()
    width = ticks / n_in if width is None else width
    centers = (np.arange(n_in) + 0.5) * ticks / n_in
    profile = rate * np.exp(-0.5 * ((t[:, None] - centers[None, :]) / width) ** 2)  # (ticks, n_in)

    def split(n: int) -> Split:
        x = _poisson(rng, np.broadcast_to(profile, (n, ticks, n_in)))
        return Split(x, np.broadcast_to(target, (n, ticks, n_out)).copy(), np.ones((n, ticks), dtype=bool))

    return Task(
        "pattern",
        n_in,
        n_out,
        "nmse",
        split(n_train),
        split(n_test),
        f"pattern generation: {n_out} sum(s) of 3 sines over {ticks} ticks from {n_in} time-coded inputs",
    )
