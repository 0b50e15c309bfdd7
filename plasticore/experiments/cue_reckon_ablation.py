"""Which of cue-reckon's unbuilt mechanisms its learning needs (issue 20): the table of docs/results.md.

    python -m plasticore.experiments.cue_reckon_ablation --results out/cue_reckon_ablation

Trains ``cue-reckon`` in golden fixed point with ``--rule eprop-symmetric``, as
``plasticore train --task cue-reckon --rule eprop-symmetric --seed S`` does, once with the spec as
committed (row 0) and once per row of :data:`ROWS`, each the spec with one change: without the
readout's own trace (1), without the rate regularization (2), with 16-bit traces (3), all
three (4), all three without the error clamp and with the piecewise-linear pseudo-derivative
(5: what the RTL builds today), and 1 + 3 with the regularization kept (6). Every run is one
JSON file in ``--results`` (``plasticore train --json``'s keys plus ``row``, ``seed``,
``changes`` and ``unbuilt``); a run whose file exists is not repeated, so an interrupted study
resumes. Then prints the markdown table: each seed's held-out curve, its final value, the mean
of its last 3 epochs, and the medians over the seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plasticore.experiments.bits_study import scaled_for_trace_bits
from plasticore.tasks import make_task
from plasticore.training.train import TASK_SPECS, TaskSpec, train

__all__ = ["Row", "ROWS", "narrow_traces", "row_spec", "run_one", "run_study", "load_runs", "table", "main"]

TASK = "cue-reckon"
RULE = "eprop-symmetric"
#: the widest trace the RTL's trace memories and bus are verified for (Config.unbuilt_learning_features)
BUILT_TRACE_BITS = 16


def narrow_traces(spec: TaskSpec, bits: int = BUILT_TRACE_BITS) -> dict[str, Any]:
    """The config changes that give ``spec``'s traces ``bits`` bits at the same real-valued scale.

    A trace of ``trace_bits`` holds ``2**trace_bits / trace_inc`` spikes' worth before its rail.
    Dividing ``trace_inc`` by ``2**k`` (``k = trace_bits - bits``) keeps that rail in spikes (the
    22-bit spec's 128 spikes: 2**22 / 2**15 = 2**16 / 2**9), and every quantity measured in trace
    LSBs follows: the weight updates ``g * e_bar`` and ``e * z_bar`` are ``2**k`` smaller, so
    ``lr_shift`` and ``out_lr_shift`` drop by ``k`` (the bits study's rescaling,
    :func:`~plasticore.experiments.bits_study.scaled_for_trace_bits`); ``rate_target`` is divided
    by ``2**k`` and ``rate_reg_shift`` drops by ``k`` (the same excess rate, the same term in V).
    What changes is only the rounding: a trace's truncating decay loses at least one LSB per
    tick, now a ``2**k`` times larger fraction of a spike (a lone spike's tau-1,928 trace of 512
    LSBs is gone after 512 ticks, where the 22-bit one keeps 0.77 of a spike).
    """
    config = spec.config
    k = config["trace_bits"] - bits
    if k <= 0:
        return {}
    scaled = scaled_for_trace_bits(spec, bits).config
    if scaled["trace_inc"] << k != config["trace_inc"]:
        raise ValueError(f"trace_inc {config['trace_inc']} is not a multiple of 2**{k}: the scale would change")
    changes = {name: scaled[name] for name in ("trace_bits", "trace_inc", "lr_shift", "out_lr_shift")}
    if config.get("rate_target") is not None:
        changes["rate_target"] = config["rate_target"] >> k
        changes["rate_reg_shift"] = config.get("rate_reg_shift", 0) - k
    return changes


@dataclass(frozen=True)
class Row:
    """One row of the study: the committed spec with ``changes`` to its config.

    Parameters
    ----------
    name : str
        The row's name in docs/results.md (``"0"`` to ``"6"``).
    label : str
        What the row changes, in words.
    changes : dict
        ``Config`` fields that replace the spec's.
    """

    name: str
    label: str
    changes: dict[str, Any]


#: row 5: error_clamp and the "step" pseudo-derivative off, the RTL's h of today. Piecewise
#: linear needs a power-of-two window: 1,024, the nearest above the step's 819; with h_bits 1,
#: h is 1 for |U - A| <= 512 (a boxcar) instead of the step's U > A - 819
_PIECEWISE = {"error_clamp": None, "pseudo_derivative": "piecewise_linear", "pd_window": 1024}


def _rows() -> dict[str, Row]:
    no_readout_trace = {"tau_readout_trace": None}
    no_rate_reg = {"rate_target": None}
    narrow = narrow_traces(TASK_SPECS[TASK])
    # with the regularization off its target and shift do not matter: row 4 is rows 1-3 merged
    narrow_no_reg = {k: v for k, v in narrow.items() if k not in ("rate_target", "rate_reg_shift")}
    buildable = {**no_readout_trace, **no_rate_reg, **narrow_no_reg}
    rows = [
        Row("0", "the spec as committed", {}),
        Row("1", "no readout trace", no_readout_trace),
        Row("2", "no rate regularization", no_rate_reg),
        Row("3", f"{BUILT_TRACE_BITS}-bit traces, same scale", narrow),
        Row("4", "1 + 2 + 3", buildable),
        Row("5", "4, no error clamp, piecewise-linear h", {**buildable, **_PIECEWISE}),
        # added once 2 and 4 measured the regularization indispensable: what the RTL needs if
        # the regularization is the one of the three it builds
        Row("6", "1 + 3 (regularization kept)", {**no_readout_trace, **narrow}),
    ]
    return {r.name: r for r in rows}


#: the study's rows by name
ROWS: dict[str, Row] = _rows()


def row_spec(row: Row) -> TaskSpec:
    """The committed cue-reckon spec with ``row``'s changes (the committed spec itself is untouched)."""
    base = TASK_SPECS[TASK]
    return dataclasses.replace(base, config={**base.config, **row.changes})


def run_one(row: Row, seed: int, epochs: int, n_train: int | None = None, n_test: int | None = None) -> dict[str, Any]:
    """Train one row on one seed (task data, initial weights and sample order from ``seed``, as
    ``plasticore train --seed``); ``n_train`` / ``n_test``: fewer samples (smoke runs)."""
    spec = row_spec(row)
    kw = dict(spec.task_kw)
    if n_train is not None:
        kw["n_train"] = n_train
    if n_test is not None:
        kw["n_test"] = n_test
    task = make_task(TASK, seed, **kw)
    result = train(task, RULE, "fixed", epochs=epochs, seed=seed, spec=spec)
    return {
        **result.as_json(),
        "row": row.name,
        "label": row.label,
        "seed": seed,
        "changes": row.changes,
        "unbuilt": result.config.unbuilt_learning_features(),
        "n_train": len(task.train),
        "n_test": len(task.test),
    }


def _path(folder: Path, row: str, seed: int, epochs: int) -> Path:
    return folder / f"row{row}_seed{seed}_epochs{epochs}.json"


def run_study(folder: Path, rows: list[str], seeds: list[int], epochs: int, log=print) -> None:
    """Every (row, seed) not yet in ``folder``, one after the other, each written as it ends."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in rows:
        for seed in seeds:
            path = _path(folder, name, seed, epochs)
            if path.exists():
                continue
            start = time.perf_counter()
            run = run_one(ROWS[name], seed, epochs)
            path.write_text(json.dumps(run, indent=2) + "\n")
            curve = " ".join(f"{v:.2f}" for v in run["curve"])
            log(f"row {name} seed {seed}: {curve} ({time.perf_counter() - start:.0f} s)")


def load_runs(folder: Path) -> list[dict[str, Any]]:
    """Every run of the study in ``folder`` (JSON objects with ``row`` and ``seed`` keys)."""
    runs = []
    for path in sorted(folder.glob("*.json")):
        obj = json.loads(path.read_text())
        if isinstance(obj, dict) and "row" in obj and "seed" in obj:
            runs.append({**obj, "row": str(obj["row"])})
    return runs


#: epochs averaged in the table's last column: the held-out curve of batch-1 learning moves by
#: up to +-0.1 from one epoch to the next, the last epoch alone is a noisy summary
LAST = 3


def _mean_last(curve: list[float]) -> float:
    return sum(curve[-LAST:]) / len(curve[-LAST:])


def table(runs: list[dict[str, Any]]) -> str:
    """The markdown table: per row, each seed's held-out curve, its final value and the mean of
    its last :data:`LAST` epochs, then the medians over the seeds (per epoch, of the finals, of
    the last-epoch means)."""
    lines = [
        "| row | change | seed | held-out accuracy after each epoch | final | mean of last 3 |",
        "|---|---|---|---|---|---|",
    ]
    for name in sorted({r["row"] for r in runs}):
        mine = sorted((r for r in runs if r["row"] == name), key=lambda r: r["seed"])
        label = mine[0]["label"]
        for n, r in enumerate(mine):
            curve = " ".join(f"{v:.2f}" for v in r["curve"])
            row = f"| {name} | {label} |" if n == 0 else "| | |"  # the row's name once, on its first seed
            lines.append(f"{row} {r['seed']} | {curve} | {r['value']:.2f} | {_mean_last(r['curve']):.3f} |")
        if len(mine) > 1 and len({len(r["curve"]) for r in mine}) == 1:
            median = [statistics.median(v) for v in zip(*(r["curve"] for r in mine), strict=True)]
            seeds = ",".join(str(r["seed"]) for r in mine)
            curve = " ".join(f"{v:.2f}" for v in median)
            final = statistics.median(r["value"] for r in mine)
            last = statistics.median(_mean_last(r["curve"]) for r in mine)
            lines.append(f"| | | **median {seeds}** | {curve} | **{final:.2f}** | **{last:.3f}** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, required=True, help="folder of the runs' JSON files (resumes)")
    p.add_argument("--rows", nargs="+", default=sorted(ROWS), help="row names (default: all)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="held-out seeds (default: 1 2 3)")
    p.add_argument("--epochs", type=int, default=TASK_SPECS[TASK].epochs, help="epochs per run (default: the spec's)")
    p.add_argument("--table-only", action="store_true", help="print the table of the runs in --results, train nothing")
    args = p.parse_args(argv)
    unknown = sorted(set(args.rows) - set(ROWS))
    if unknown:
        p.error(f"--rows: {unknown} are not rows of the study ({', '.join(map(str, ROWS))})")
    if not args.table_only:
        run_study(args.results, args.rows, args.seeds, args.epochs, log=lambda s: print(s, file=sys.stderr, flush=True))
    runs = [
        r
        for r in load_runs(args.results)
        if r["row"] in args.rows and r["seed"] in args.seeds and len(r["curve"]) == args.epochs
    ]
    if not runs:
        print(f"cue_reckon_ablation: no runs in {args.results}", file=sys.stderr)
        return 2
    print(table(runs))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
