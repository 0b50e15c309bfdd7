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
#: recall (2,250 ticks); cues at 40 Hz, background noise at 10 Hz; 50 training and 50 test samples.
#: The cues are drawn as Bellec et al.'s generator draws them (``generate_click_task_data`` of
#: IGITUGraz/eligibility_propagation, ``p_group=0.3``), which ReckOn's own data set follows: per
#: sample one side is favoured, each cue goes to the other side with probability 0.3, and each
#: cue follows its 50-tick silence (the first cue starts at tick 50).
RECKON_CUE = dict(
    n_train=50,
    n_test=50,
    cue_ticks=100,
    gap_ticks=50,
    delay_ticks=1050,
    recall_ticks=150,
    rate=0.04,
    noise_rate=0.01,
    p_group=0.3,
    gap_first=True,
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
    p_group: float | None = None,
    gap_first: bool = False,
) -> Task:
    """Four input groups of ``group`` inputs: left cue, right cue, recall cue, background noise.

    Parameters
    ----------
    p_group : float or None
        None: each cue's side is a fair coin. A probability in (0, 0.5]: Bellec et al.'s draw,
        per sample a favoured side (a fair coin), then each cue on the other side with
        probability ``p_group``; the label is still the side with more cues.
    gap_first : bool
        Each cue's ``gap_ticks`` of silence come before it (Bellec et al.'s layout) rather than
        after it; the sample's length is the same.
    """
    _check_counts(n_train, n_test)
    if cues % 2 == 0:
        raise ValueError(f"cues: {cues!r} must be odd so that one side always has more cues")
    if p_group is not None and not 0.0 < p_group <= 0.5:
        raise ValueError(f"p_group: {p_group!r} must be in (0, 0.5] (the unfavoured side's probability)")
    rng = np.random.default_rng(seed)
    ticks = cues * (cue_ticks + gap_ticks) + delay_ticks + recall_ticks
    n_in = 4 * group

    def split(n: int) -> Split:
        if p_group is None:
            sides = rng.integers(0, 2, size=(n, cues))
        else:
            right_favoured = rng.random(n) < 0.5
            p_right = np.where(right_favoured, 1.0 - p_group, p_group)
            sides = (rng.random((n, cues)) < p_right[:, None]).astype(np.int64)
        rates = np.zeros((n, ticks, n_in))
        rates[:, :, 3 * group :] = noise_rate
        for c in range(cues):
            t0 = c * (cue_ticks + gap_ticks) + (gap_ticks if gap_first else 0)
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


def cue_reckon_task(seed: int, **kw: int | float | bool | None) -> Task:
    """:func:`cue_task` with the silicon anchor's timing and sample budget (:data:`RECKON_CUE`;
    ``kw`` overrides any of them), named ``cue-reckon``."""
    return dataclasses.replace(cue_task(seed, **{**RECKON_CUE, **kw}), name="cue-reckon")
