"""cue-reckon's spec and variants of it on a panel of seeds (issue 20, item 3).

    python -m plasticore.experiments.cue_reckon_panel --results out/cue_panel \\
        --variants spec rate40 --seeds 0 6 7 8 9 --n-test 300

Each run trains ``cue-reckon`` as ``plasticore train --task cue-reckon --rule eprop-symmetric
--seed S`` does (golden fixed point, 50 training samples, 10 epochs, batch 1), with the spec's
config and initial scales changed as the variant says (:data:`VARIANTS`), and scores it on the
task's held-out split after every epoch. ``--n-test`` enlarges that split (the training samples
stay the same: the task draws them first), so that validation seeds are scored on more than 50
samples; ``--fresh N`` also scores the final network on N fresh samples (task seed 1000 + S),
as :mod:`.cue_readout_probe` does. One JSON file per run in ``--results`` (a run whose file exists
is not repeated: an interrupted panel resumes); then prints a markdown table per variant: the
held-out accuracy after 2 and after 10 epochs per seed, their medians and the median over seeds
of the mean of epochs 8-10.
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

from plasticore.experiments.cue_readout_probe import FRESH_SEED_OFFSET, RULE, TASK
from plasticore.golden.network import Weights
from plasticore.golden.numerics import signed_range
from plasticore.tasks import Task, make_task
from plasticore.training.train import (
    TASK_SPECS,
    TaskSpec,
    evaluate,
    initial_weights,
    numerics_by_name,
    task_config,
    train,
)

__all__ = ["RECALL", "VARIANTS", "variant_spec", "initial_panel_weights", "run_panel_seed", "table", "main"]

#: one firing-rate target unit: a spike in the regularization's trace (trace_inc of the spec)
_SPIKE = 32768

#: the recall cue's inputs: the third of cue-reckon's four groups of 10 (left, right, recall, noise)
RECALL = slice(20, 30)
#: the recall cue's inputs raised by 60 LSBs at the start
_RECALL_UP = ((RECALL.start, RECALL.stop, 60),)

#: the spec's readout before it leaked with the membrane's tau (every variant measured before
#: that changes it): an 18-tick leak and learning trace, W << 3 into Y, targets and error bound
#: +-2,000, readout rate 2**-31, learning signal >> 10; :func:`_readout18` puts it under a
#: variant's changes
_READOUT18_CONFIG = {
    "tau_out": 18.0,
    "tau_readout_trace": 18.0,
    "out_shift": 3,
    "error_clamp": 2000,
    "out_lr_shift": 31,
    "fb_shift": 10,
}
_READOUT18_FIELDS = {"target_scale": 4000}


def _readout18(
    config: dict[str, Any] | None = None, init: dict[str, float] | None = None, fields: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, float], dict[str, Any]]:
    return {**_READOUT18_CONFIG, **(config or {})}, dict(init or {}), {**_READOUT18_FIELDS, **(fields or {})}


#: name -> (config fields, initial-weight scales, TaskSpec fields) that the variant changes in the spec;
#: the scales may also hold ``recall_gain``: the recall cue's initial input weights multiplied by
#: it (rounded, clipped at the weights' rails), :func:`initial_panel_weights`
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, float], dict[str, Any]]] = {
    "spec": ({}, {}, {}),
    # the spec before its readout leaked with the membrane's tau (below, "readout1928-slow")
    "readout18": _readout18(),
    "rate30": _readout18({"rate_target": 30 * _SPIKE}),
    "rate40": _readout18({"rate_target": 40 * _SPIKE}),
    "rate80": _readout18({"rate_target": 80 * _SPIKE}),
    "in30": _readout18({}, {"in_scale": 0.30}),
    # the membrane leak halved (an ideal leaky count of the cues: 0.980 at tau 1,928, 0.994 at
    # 4,000); the regularization's trace is the membrane's, so the same rate is twice the target
    "tau3856": _readout18({"tau_m": 3856.0, "rate_target": 40 * _SPIKE}),
    "tau3856-rate20": _readout18({"tau_m": 3856.0}),
    "rate40-reg11": _readout18({"rate_target": 40 * _SPIKE, "rate_reg_shift": 11}),
    "rate40-reg13": _readout18({"rate_target": 40 * _SPIKE, "rate_reg_shift": 13}),
    "rate40-out32": _readout18({"rate_target": 40 * _SPIKE, "out_lr_shift": 32}),
    # the readout's rate halved from epoch 4 on (out_lr_shift 31 -> 32, a run-time register)
    "rate40-anneal3": _readout18({"rate_target": 40 * _SPIKE}, {}, {"anneal_every": 3}),
    # the recall cue drives the hidden neurons 2x / 3x harder from the start (the membranes at
    # the recall's onset hold the count; its ~1 spike per neuron in the recall window do not)
    "recall2": _readout18({}, {"recall_gain": 2.0}),
    "recall3": _readout18({}, {"recall_gain": 3.0}),
    "recall3-anneal3": _readout18({}, {"recall_gain": 3.0}, {"anneal_every": 3}),
    "recall3-out32": _readout18({"out_lr_shift": 32}, {"recall_gain": 3.0}),
    "recall2-rate40": _readout18({"rate_target": 40 * _SPIKE}, {"recall_gain": 2.0}),
    "recall3-rate40": _readout18({"rate_target": 40 * _SPIKE}, {"recall_gain": 3.0}),
    # the recall cue drives every hidden neuron up: 3/4 of the membranes sit below zero at the
    # recall's onset (median -3.7 thresholds), holding the count, and stay silent through it
    "recall+30": _readout18({}, {}, {"input_offsets": ((RECALL.start, RECALL.stop, 30),)}),
    "recall+60": _readout18({}, {}, {"input_offsets": _RECALL_UP}),
    "recall+60-anneal3": _readout18({}, {}, {"input_offsets": _RECALL_UP, "anneal_every": 3}),
    "recall+60-out32": _readout18({"out_lr_shift": 32}, {}, {"input_offsets": _RECALL_UP}),
    "recall+60-readout": _readout18({}, {}, {"input_offsets": _RECALL_UP, "hidden_epochs": 0}),
    # the readout integrates the whole sample (its leak and its learning trace at the membrane's
    # tau, or at 300 ticks): the spikes before the recall hold the count (0.99, 400-sample probe)
    "readout1928": _readout18({"tau_out": 1928.0, "tau_readout_trace": 1928.0}),
    "readout300": _readout18({"tau_out": 300.0, "tau_readout_trace": 300.0}),
    "readout300-out32": _readout18({"tau_out": 300.0, "tau_readout_trace": 300.0, "out_lr_shift": 32}),
    "readout100": _readout18({"tau_out": 100.0, "tau_readout_trace": 100.0}),
    # tau 1,928 with the readout's steps ~16x smaller (targets and error bound +-250 instead of
    # +-2,000, half rate), its output 8x smaller (out_shift 0), the hidden learning signal 8x
    # back (fb_shift 7): the spec's readout now
    "readout1928-slow": _readout18(
        {
            "tau_out": 1928.0,
            "tau_readout_trace": 1928.0,
            "out_shift": 0,
            "error_clamp": 250,
            "out_lr_shift": 32,
            "fb_shift": 7,
        },
        {},
        {"target_scale": 500},
    ),
}


def variant_spec(name: str) -> TaskSpec:
    """The spec of ``cue-reckon`` with variant ``name``'s changes (without ``recall_gain``)."""
    if name not in VARIANTS:
        raise ValueError(f"variant: {name!r} is not one of {', '.join(VARIANTS)}")
    config, init, fields = VARIANTS[name]
    init = {k: v for k, v in init.items() if k != "recall_gain"}
    base = TASK_SPECS[TASK]
    return dataclasses.replace(base, config={**base.config, **config}, init={**base.init, **init}, **fields)


def initial_panel_weights(name: str, task: Task, seed: int) -> Weights | None:
    """The initial weights of variant ``name`` when it changes them beyond the spec's scales
    (``recall_gain``), else None (the trainer draws them)."""
    gain = VARIANTS[name][1].get("recall_gain")
    if gain is None:
        return None
    spec = variant_spec(name)
    num = numerics_by_name("fixed")
    cfg = task_config(TASK, RULE, task.n_in, spec=spec).replace(seed=seed)
    w = initial_weights(cfg, spec, num)
    lo, hi = signed_range(cfg.weight_bits["w_in"])
    w_in = w.w_in.copy()
    w_in[:, RECALL] = np.clip(np.round(w_in[:, RECALL] * gain), lo, hi).astype(w_in.dtype)
    return dataclasses.replace(w, w_in=w_in)


def run_panel_seed(
    name: str,
    seed: int,
    n_test: int = 50,
    fresh: int = 0,
    epochs: int | None = None,
    n_train: int | None = None,
) -> dict[str, Any]:
    """Train variant ``name`` on task seed ``seed`` (keys ``variant``, ``seed``, ``n_test``,
    ``curve``, ``fresh`` (None without fresh samples), ``seconds``); ``n_train``/``epochs``
    shorten the run."""
    start = time.monotonic()
    spec = variant_spec(name)
    kw: dict[str, int] = {"n_test": n_test}
    if n_train is not None:
        kw["n_train"] = n_train
    task = make_task(TASK, seed, **kw)
    weights = initial_panel_weights(name, task, seed)
    result = train(task, RULE, "fixed", epochs=epochs or spec.epochs, seed=seed, spec=spec, weights=weights)
    fresh_acc = None
    if fresh:
        new = make_task(TASK, FRESH_SEED_OFFSET + seed, n_train=fresh, n_test=fresh)
        fresh_acc = evaluate(result.config, numerics_by_name(result.numerics), result.weights, new, spec.target_scale)
    return {
        "variant": name,
        "seed": seed,
        "n_test": n_test,
        "curve": [float(c) for c in result.curve],
        "fresh": fresh_acc,
        "seconds": time.monotonic() - start,
    }


def table(runs: list[dict[str, Any]]) -> str:
    """The markdown table of ``runs``: one row per variant, in the order they first appear."""
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_variant.setdefault(run["variant"], []).append(run)
    lines = [
        "| variant | seeds | after 2 epochs | median | after 10 | median | mean of 8-10, median | fresh, median |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, group in by_variant.items():
        group = sorted(group, key=lambda r: r["seed"])
        after2 = [r["curve"][min(1, len(r["curve"]) - 1)] for r in group]
        final = [r["curve"][-1] for r in group]
        last3 = [float(np.mean(r["curve"][-3:])) for r in group]
        fresh = [r["fresh"] for r in group if r.get("fresh") is not None]
        lines.append(
            f"| {name} | {', '.join(str(r['seed']) for r in group)} | {', '.join(f'{a:.3f}' for a in after2)}"
            f" | **{statistics.median(after2):.3f}** | {', '.join(f'{a:.3f}' for a in final)}"
            f" | **{statistics.median(final):.3f}** | {statistics.median(last3):.3f}"
            f" | {f'{statistics.median(fresh):.3f}' if fresh else '-'} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m plasticore.experiments.cue_reckon_panel", description=__doc__.split("\n")[0]
    )
    p.add_argument("--results", type=Path, required=True, help="folder of the per-run JSON files (resumes)")
    p.add_argument("--variants", nargs="+", default=["spec"], choices=list(VARIANTS), help="default: spec")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 6, 7, 8, 9], help="default: 0 6 7 8 9 (validation)")
    p.add_argument("--n-test", type=int, default=50, help="held-out samples per seed (default: the task's 50)")
    p.add_argument("--fresh", type=int, default=0, help="also score the final network on N fresh samples")
    p.add_argument("--table-only", action="store_true", help="print the table of the runs in --results")
    args = p.parse_args(argv)
    if args.n_test < 1 or args.fresh < 0:
        p.error("--n-test must be at least 1 and --fresh at least 0")
    args.results.mkdir(parents=True, exist_ok=True)
    runs = []
    for name in args.variants:
        for seed in args.seeds:
            path = args.results / f"{name}-seed{seed}-test{args.n_test}.json"
            if not path.exists():
                if args.table_only:
                    continue
                print(f"{name}, seed {seed}: training ...", file=sys.stderr, flush=True)
                path.write_text(json.dumps(run_panel_seed(name, seed, args.n_test, args.fresh), indent=2))
            runs.append(json.loads(path.read_text()))
    if runs:
        print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
