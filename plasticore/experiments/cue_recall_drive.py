"""Where cue-reckon's count is lost: the membranes at the recall's onset and the recall's drive (issue 20).

    python -m plasticore.experiments.cue_recall_drive --results out/cue_recall_drive --seeds 1 2 3 4 5 \\
        --variant readout18

Per seed: trains ``cue-reckon`` with a variant of :mod:`.cue_reckon_panel` (golden fixed point,
the task's 50 training samples, 10 epochs), then runs the trained network, learning off, over
``--fresh`` new training and test samples (task seed ``1000 + S``) and reports

- the soma membranes at the recall's onset in units of the threshold (percentiles, the fraction
  below zero) and the fraction of neurons without a spike in the recall window;
- logistic-regression probes (C 0.1, fitted on the fresh training samples, scored on the fresh
  test samples) of: those membranes, their part above zero and below zero, the recall window's
  spike counts per neuron, and the spike counts before the recall (which the readout forgets);
- some of them fitted on the task's 50 training samples instead (what a readout of item 3's
  budget can make of them);
- the recall window's spike counts probed again with the recall changed after training: the
  threshold register lowered at the onset (what a finer conversion of membrane into spikes
  gives), and the recall cue's input weights raised by an offset or set to a constant (what a
  recall that excites every neuron gives).

One JSON file per seed in ``--results`` (a seed whose file exists is not repeated); then prints
the markdown tables of docs/results.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from plasticore.experiments.cue_readout_probe import FRESH_SEED_OFFSET, RULE, TASK
from plasticore.experiments.cue_reckon_panel import RECALL, initial_panel_weights, variant_spec
from plasticore.golden.config import Config
from plasticore.golden.network import Weights, init_state, tick
from plasticore.golden.numerics import signed_range
from plasticore.tasks import Split, make_task
from plasticore.training.train import numerics_by_name, train

__all__ = ["RecallRun", "recall_run", "drive_seed", "tables", "main"]

#: thresholds at the recall's onset, as fractions of the trained one
THRESHOLD_FRACTIONS = (0.5, 0.25)
#: the recall cue's weights after training: ``+k`` raises them by k LSBs, ``=k`` sets them to k
RECALL_WEIGHTS = ("+30", "=60", "=127")


@dataclasses.dataclass(frozen=True)
class RecallRun:
    """What one pass over a split shows, learning off.

    Members
    -------
    onset_u : ndarray, shape (samples, n_rec)
        Soma membranes after the last tick before the recall, in thresholds.
    recall_counts, cue_counts : ndarray, shape (samples, n_rec)
        Spikes per neuron in the recall window and before it.
    """

    onset_u: np.ndarray
    recall_counts: np.ndarray
    cue_counts: np.ndarray


def recall_run(cfg: Config, w: Weights, split: Split, recall_threshold: int | None = None) -> RecallRun:
    """Run ``split`` through golden fixed point tick by tick from a reset state; with
    ``recall_threshold`` the threshold register holds that value from the recall's first tick."""
    num = numerics_by_name("fixed")
    wn = w.astype(num.dtype)
    onset = int(np.argmax(split.valid.any(axis=0)))
    x = split.x.astype(np.int64)
    s = init_state(cfg, num, len(split))
    recall = np.zeros((len(split), cfg.n_rec))
    cue = np.zeros_like(recall)
    onset_u = np.zeros_like(recall)
    c = cfg
    for t in range(split.ticks):
        if t == onset:
            onset_u = np.asarray(s.u, dtype=np.float64) / cfg.threshold
            if recall_threshold is not None:
                c = cfg.replace(threshold=recall_threshold)
        s, out = tick(c, num, wn, s, x[:, t])
        (recall if t >= onset else cue)[:] += out.z
    return RecallRun(onset_u, recall, cue)


def _probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    return float(LogisticRegression(C=0.1, max_iter=5000).fit(train_x, train_y).score(test_x, test_y))


def _recall_weights(cfg: Config, w: Weights, change: str) -> Weights:
    lo, hi = signed_range(cfg.weight_bits["w_in"])
    w_in = np.array(w.w_in, dtype=np.int64)
    value = int(change[1:])
    w_in[:, RECALL] = w_in[:, RECALL] + value if change[0] == "+" else value
    return dataclasses.replace(w, w_in=np.clip(w_in, lo, hi))


def drive_seed(
    seed: int, variant: str = "spec", fresh: int = 400, epochs: int | None = None, n_train: int | None = None
) -> dict[str, Any]:
    """Train ``variant`` on task seed ``seed`` and measure its recall on ``fresh`` new samples
    (keys: ``seed``, ``variant``, ``curve``, ``onset_u_percentiles`` (1, 10, 25, 50, 75, 90, 99),
    ``below_zero``, ``silent``, ``recall_spikes``, ``probes`` (name -> accuracy; fitted on the
    fresh training samples), ``probes_own`` (some of them fitted on the task's 50), ``seconds``);
    ``epochs``/``n_train`` shorten the run."""
    start = time.monotonic()
    spec = variant_spec(variant)
    task = make_task(TASK, seed, **({} if n_train is None else {"n_train": n_train}))
    result = train(
        task, RULE, "fixed", epochs=epochs or spec.epochs, seed=seed, spec=spec,
        weights=initial_panel_weights(variant, task, seed),
    )  # fmt: skip
    cfg, w = result.config, result.weights
    new = make_task(TASK, FRESH_SEED_OFFSET + seed, n_train=fresh, n_test=fresh)
    ya, yb = new.train.labels, new.test.labels
    a, b = recall_run(cfg, w, new.train), recall_run(cfg, w, new.test)
    probes = {
        "membranes": _probe(a.onset_u, ya, b.onset_u, yb),
        "membranes above 0": _probe(np.maximum(a.onset_u, 0), ya, np.maximum(b.onset_u, 0), yb),
        "membranes below 0": _probe(np.minimum(a.onset_u, 0), ya, np.minimum(b.onset_u, 0), yb),
        "recall counts": _probe(a.recall_counts, ya, b.recall_counts, yb),
        "counts before the recall": _probe(a.cue_counts, ya, b.cue_counts, yb),
    }
    for fraction in THRESHOLD_FRACTIONS:
        thr = int(round(cfg.threshold * fraction))
        ra, rb = recall_run(cfg, w, new.train, thr), recall_run(cfg, w, new.test, thr)
        probes[f"recall counts, threshold {thr}"] = _probe(ra.recall_counts, ya, rb.recall_counts, yb)
    changed_test: dict[str, RecallRun] = {}  # the "=60" test run serves the 50-sample probe too
    for change in RECALL_WEIGHTS:
        changed = _recall_weights(cfg, w, change)
        ra, changed_test[change] = recall_run(cfg, changed, new.train), recall_run(cfg, changed, new.test)
        probes[f"recall counts, recall weights {change}"] = _probe(
            ra.recall_counts, ya, changed_test[change].recall_counts, yb
        )
    # the same features fitted on the task's 50 training samples: what a readout of this budget gets
    own = recall_run(cfg, w, task.train)
    own60 = recall_run(cfg, _recall_weights(cfg, w, "=60"), task.train)
    b60 = changed_test["=60"]
    yo = task.train.labels
    probes_own = {
        "recall counts": _probe(own.recall_counts, yo, b.recall_counts, yb),
        "recall counts, recall weights =60": _probe(own60.recall_counts, yo, b60.recall_counts, yb),
        "counts before the recall": _probe(own.cue_counts, yo, b.cue_counts, yb),
        "counts of the whole sample": _probe(
            own.cue_counts + own.recall_counts, yo, b.cue_counts + b.recall_counts, yb
        ),
    }
    return {
        "seed": seed,
        "variant": variant,
        "curve": [float(c) for c in result.curve],
        "onset_u_percentiles": [float(p) for p in np.percentile(b.onset_u, [1, 10, 25, 50, 75, 90, 99])],
        "below_zero": float((b.onset_u < 0).mean()),
        "silent": float((b.recall_counts == 0).mean()),
        "recall_spikes": float(b.recall_counts.mean()),
        "probes": probes,
        "probes_own": probes_own,
        "seconds": time.monotonic() - start,
    }


def tables(runs: list[dict[str, Any]]) -> str:
    """Markdown: the membranes per seed, then every probe per seed with the median."""
    runs = sorted(runs, key=lambda r: r["seed"])
    lines = [
        "| seed | variant | membranes at the onset, percentiles 1/10/25/50/75/90/99 (thresholds)"
        " | below zero | silent in the recall | recall spikes per neuron |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        pct = " / ".join(f"{p:.1f}" for p in r["onset_u_percentiles"])
        shares = f"{r['below_zero']:.2f} | {r['silent']:.2f} | {r['recall_spikes']:.2f}"
        lines.append(f"| {r['seed']} | {r['variant']} | {pct} | {shares} |")
    for key, fitted in (("probes", "the fresh training samples"), ("probes_own", "the task's 50 training samples")):
        names = list(runs[0].get(key, {})) if runs else []
        if not names:
            continue
        seeds = " | ".join(f"seed {r['seed']}" for r in runs)
        lines += ["", f"| probe fitted on {fitted}, scored on the fresh test samples | {seeds} | median |"]
        lines.append("|---|" + "---|" * (len(runs) + 1))
        for name in names:
            values = [r.get(key, {}).get(name) for r in runs]
            known = [v for v in values if v is not None]
            cells = " | ".join("-" if v is None else f"{v:.3f}" for v in values)
            lines.append(f"| {name} | {cells} | {statistics.median(known):.3f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m plasticore.experiments.cue_recall_drive", description=__doc__.split("\n")[0]
    )
    p.add_argument("--results", type=Path, required=True, help="folder of the per-seed JSON files (resumes)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="training seeds (default: 1-5)")
    p.add_argument("--variant", default="spec", help="a cue_reckon_panel variant (default: spec)")
    p.add_argument("--fresh", type=int, default=400, help="fresh training and test samples (default: 400)")
    args = p.parse_args(argv)
    if args.fresh < 2:
        p.error("--fresh must be at least 2")
    variant_spec(args.variant)  # an unknown name fails before any training
    args.results.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in args.seeds:
        path = args.results / f"{args.variant}-seed{seed}.json"
        if not path.exists():
            print(f"seed {seed}: training and measuring ...", file=sys.stderr, flush=True)
            path.write_text(json.dumps(drive_seed(seed, args.variant, args.fresh), indent=2))
        runs.append(json.loads(path.read_text()))
    print(tables(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
