"""Is it the readout? cue-reckon's trained networks on fresh samples, against linear probes (issue 20).

    python -m plasticore.experiments.cue_readout_probe --results out/cue_probe --seeds 1 2 3 4 5

Per seed: trains ``cue-reckon`` as ``plasticore train --task cue-reckon --rule eprop-symmetric
--seed S`` does (golden fixed point, the spec, 50 training and 50 held-out samples), then scores
the trained network on ``--fresh`` new samples (task seed ``1000 + S``) three ways: with its own
learned readout (the chip's answer), and with a logistic-regression readout of the same
recall-window spike counts per neuron fitted on the 50 training samples (what an ideal linear
readout makes of the same budget) or on ``--fresh`` new training samples (what the hidden
representation holds); and a fourth way, a logistic regression of the soma membranes at the
recall's onset fitted on the 50 training samples or the fresh ones (what the network holds
before the recall cue turns it into spikes). ``--untrained`` probes the networks at their
initial weights instead (what learning adds; no own readout). Each seed is one JSON file in
``--results`` (a seed whose file exists is not repeated); then prints the markdown table of
docs/results.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from plasticore.golden.free_run import free_run
from plasticore.golden.learning import init_learning
from plasticore.golden.network import init_state
from plasticore.tasks import Split, make_task
from plasticore.training.train import (
    TASK_SPECS,
    TrainResult,
    heldout_run,
    initial_weights,
    numerics_by_name,
    predict,
    task_config,
    train,
)

__all__ = ["recall_counts", "recall_onset_membranes", "probe_seed", "probe_untrained", "table", "main"]

TASK = "cue-reckon"
RULE = "eprop-symmetric"
#: task seeds of the fresh samples are this plus the training seed
FRESH_SEED_OFFSET = 1000


def recall_counts(result: TrainResult, split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's spike count per neuron over the recall (valid) ticks, learning off, and the
    class the trained network's own readout gives it."""
    y, z = heldout_run(result.config, numerics_by_name(result.numerics), result.weights, split, spikes=True)
    counts = (z * split.valid[:, :, None]).sum(axis=1).astype(np.float64)
    return counts, predict(y, split.valid)


def recall_onset_membranes(result: TrainResult, split: Split) -> np.ndarray:
    """Each sample's soma membranes ``u`` after the last tick before the recall (the first valid
    tick), learning off: what the network holds when the recall cue starts, before its spikes."""
    num = numerics_by_name(result.numerics)
    onset = int(np.argmax(split.valid.any(axis=0)))
    s = init_state(result.config, num, len(split))
    ls = init_learning(result.config, num, len(split))
    x = np.swapaxes(split.x[:, :onset].astype(np.int64), 0, 1)
    s, _, _ = free_run(result.config, num, result.weights.astype(num.dtype), s, ls, x)
    return np.asarray(s.u, dtype=np.float64)


def probe_seed(
    seed: int, fresh: int, c: float = 0.1, epochs: int | None = None, n_train: int | None = None
) -> dict[str, Any]:
    """Train ``seed`` as held out, then its scores on ``fresh`` new samples (keys ``heldout``,
    ``curve``, ``fresh``, ``probe_own``, ``probe_fresh``, ``probe_membrane_own``,
    ``probe_membrane_fresh``); ``n_train``/``epochs`` shorten the run."""
    start = time.monotonic()
    kw = {} if n_train is None else {"n_train": n_train}
    task = make_task(TASK, seed, **kw)
    result = train(task, RULE, "fixed", epochs=epochs or TASK_SPECS[TASK].epochs, seed=seed)
    new = make_task(TASK, FRESH_SEED_OFFSET + seed, n_train=fresh, n_test=fresh)
    own_x, _ = recall_counts(result, task.train)
    new_x, _ = recall_counts(result, new.train)
    test_x, test_pred = recall_counts(result, new.test)
    labels = new.test.labels

    def probe(x: np.ndarray, y: np.ndarray, test: np.ndarray = test_x) -> float:
        return float(LogisticRegression(C=c, max_iter=5000).fit(x, y).score(test, labels))

    # membranes in units of the threshold, so that one C suits both probes
    def membranes(split: Split) -> np.ndarray:
        return recall_onset_membranes(result, split) / result.config.threshold

    test_u = membranes(new.test)

    return {
        "seed": seed,
        "heldout": result.value,
        "curve": result.curve,
        "fresh_samples": fresh,
        "fresh": float(np.mean(test_pred == labels)),
        "probe_own": probe(own_x, task.train.labels),
        "probe_fresh": probe(new_x, new.train.labels),
        "probe_membrane_own": probe(membranes(task.train), task.train.labels, test_u),
        "probe_membrane_fresh": probe(membranes(new.train), new.train.labels, test_u),
        "c": c,
        "seconds": time.monotonic() - start,
    }


def probe_untrained(seed: int, fresh: int, c: float = 0.1) -> dict[str, Any]:
    """The probes of :func:`probe_seed` for the network at its initial weights (the spec's draw
    for ``seed``), fitted on the task's 50 training samples or on ``fresh`` new ones: keys
    ``probe_own``, ``probe_fresh``, ``probe_membrane_own``, ``probe_membrane_fresh``,
    ``untrained`` (True)."""
    start = time.monotonic()
    spec = TASK_SPECS[TASK]
    num = numerics_by_name("fixed")
    task = make_task(TASK, seed)
    new = make_task(TASK, FRESH_SEED_OFFSET + seed, n_train=fresh, n_test=fresh)
    cfg = task_config(TASK, RULE, new.n_in, spec=spec).replace(seed=seed)
    initial = TrainResult(TASK, RULE, "fixed", new.metric, float("nan"), [], 0.0, initial_weights(cfg, spec, num), cfg)

    splits = {"own": task.train, "fresh": new.train, "test": new.test}
    counts = {k: recall_counts(initial, split)[0] for k, split in splits.items()}
    membranes = {k: recall_onset_membranes(initial, split) / cfg.threshold for k, split in splits.items()}

    def probe(features: dict[str, np.ndarray], fitted_on: str) -> float:
        model = LogisticRegression(C=c, max_iter=5000).fit(features[fitted_on], splits[fitted_on].labels)
        return float(model.score(features["test"], new.test.labels))

    return {
        "seed": seed,
        "untrained": True,
        "fresh_samples": fresh,
        "probe_own": probe(counts, "own"),
        "probe_fresh": probe(counts, "fresh"),
        "probe_membrane_own": probe(membranes, "own"),
        "probe_membrane_fresh": probe(membranes, "fresh"),
        "c": c,
        "seconds": time.monotonic() - start,
    }


def table(runs: list[dict[str, Any]]) -> str:
    """The markdown table of ``runs`` (one per seed) with its median row."""
    lines = [
        "| seed | held out (50) after 10 | its network on fresh samples | probe fitted on its training samples"
        " | probe fitted on fresh samples | membrane probe fitted on its training samples"
        " | membrane probe fitted on fresh samples |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = ("heldout", "fresh", "probe_own", "probe_fresh", "probe_membrane_own", "probe_membrane_fresh")

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.3f}" if values else "-"

    for run in sorted(runs, key=lambda r: r["seed"]):
        lines.append(f"| {run['seed']} | " + " | ".join(cell([run[k]] if k in run else []) for k in keys) + " |")
    medians = [cell([r[k] for r in runs if k in r]) for k in keys]
    lines.append("| **median** | " + " | ".join(medians) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m plasticore.experiments.cue_readout_probe", description=__doc__.split("\n")[0]
    )
    p.add_argument("--results", type=Path, required=True, help="folder of the per-seed JSON files (resumes)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="training seeds (default: 1-5)")
    p.add_argument("--fresh", type=int, default=400, help="fresh training and test samples (default: 400)")
    p.add_argument("--c", type=float, default=0.1, help="the probes' inverse L2 strength (default: 0.1)")
    p.add_argument("--untrained", action="store_true", help="probe the networks at their initial weights")
    args = p.parse_args(argv)
    if args.fresh < 2 or args.c <= 0:
        p.error("--fresh must be at least 2 and --c positive")
    args.results.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in args.seeds:
        path = args.results / f"{'untrained-' if args.untrained else ''}seed{seed}.json"
        if not path.exists():
            what = "probing" if args.untrained else "training and probing"
            print(f"seed {seed}: {what} ...", file=sys.stderr, flush=True)
            run = probe_untrained(seed, args.fresh, args.c) if args.untrained else probe_seed(seed, args.fresh, args.c)
            path.write_text(json.dumps(run, indent=2))
        runs.append(json.loads(path.read_text()))
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
