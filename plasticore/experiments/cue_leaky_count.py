"""What a leaky count of the cues scores on ``cue-reckon``: the ceiling a membrane's leak puts on
an integrator (issue 20, docs/results.md).

    python -m plasticore.experiments.cue_leaky_count --seeds 0 1 2 3 4 5 --n-test 200

No network is trained. Each held-out sample is classified by the sign of its right-cue input
spikes minus its left-cue ones, each spike weighted by ``exp(-(t_read - t) / tau)``, as a
neuron's potential with membrane time constant ``tau`` would hold it at the middle of the recall
window ``t_read`` (no threshold, no reset, no noise of its own). ``tau`` = infinity is the plain
count, which separates the classes but for Poisson draws that invert a 4-3 split. A leak weights
early cues less than late ones, so a 4-3 sample whose majority came first can read the wrong way:
what a 100-LIF network with the anchor's leak (tau 1,928) can reach from the cues' spikes alone,
before any learning noise.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Sequence

import numpy as np

from plasticore.tasks import Task, make_task

__all__ = ["leaky_count_accuracy", "main"]

TASK = "cue-reckon"
#: the anchor's membrane time constant (alpha = 0x7FEF / 2**15) and the spec's, in ticks
ANCHOR_TAU = 1928.0
DEFAULT_TAUS = (500.0, 1000.0, ANCHOR_TAU, 4000.0, math.inf)


def leaky_count_accuracy(task: Task, tau: float, group: int = 10) -> float:
    """Held-out accuracy of the leaky count with time constant ``tau`` (ticks; ``math.inf``: no
    leak). Inputs ``[0, group)`` are the left cue, ``[group, 2 group)`` the right one; label 1
    means more right cues; spikes before the first valid (recall) tick are counted."""
    split = task.test
    if split.labels is None:
        raise ValueError(f"{task.name}: the leaky count needs a classification task with labels")
    recall = np.flatnonzero(split.valid.any(axis=0))
    if recall.size == 0:
        raise ValueError(f"{task.name}: no valid (recall) tick to read the count at")
    start, read = int(recall[0]), float(recall.mean())
    x = split.x[:, :start].astype(np.float64)
    diff = x[:, :, group : 2 * group].sum(axis=2) - x[:, :, :group].sum(axis=2)
    weight = np.ones(start) if math.isinf(tau) else np.exp(-(read - np.arange(start)) / tau)
    return float(np.mean((diff @ weight > 0) == (split.labels == 1)))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m plasticore.experiments.cue_leaky_count", description=__doc__.split("\n")[0]
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5], help="task seeds (default: 0-5)")
    p.add_argument("--n-test", type=int, default=200, help="held-out samples per seed (default: 200)")
    p.add_argument(
        "--taus", type=float, nargs="+", default=list(DEFAULT_TAUS), help="time constants in ticks (inf: no leak)"
    )
    args = p.parse_args(argv)
    if args.n_test < 1 or any(t <= 0 for t in args.taus):
        p.error("--n-test and every --taus value must be positive")
    tasks = [make_task(TASK, s, n_test=args.n_test) for s in args.seeds]
    print(f"| tau (ticks) | {' | '.join(f'seed {s}' for s in args.seeds)} | mean | min |")
    print("|---" * (len(args.seeds) + 3) + "|")
    for tau in args.taus:
        accs = [leaky_count_accuracy(t, tau) for t in tasks]
        name = "no leak" if math.isinf(tau) else f"{tau:,.0f}"
        cells = " | ".join(f"{a:.3f}" for a in accs)
        print(f"| {name} | {cells} | {statistics.fmean(accs):.3f} | {min(accs):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
