"""Golden float e-prop against NEST 3.10 on NEST's two e-prop tasks: same losses, wall time.

    OPENBLAS_NUM_THREADS=1 python -m plasticore.bench.eprop_vs_nest [--iterations N] [--repeats R]

For each task (sine-wave regression, evidence accumulation) both simulators train the same
network from the same weights on the same numpy-made inputs and targets. A run is timed whole:
NEST builds the network, simulates and hands back its weights; golden runs ``train_eprop``.
Each is repeated ``R`` times, alternating, and the best time counts (the machine is shared, so
the minimum is the least disturbed measurement). Losses and final weights are compared at the
same time, so the speed figures are of runs that agree.

Both run on one core: NEST with one virtual process, numpy with one BLAS thread (set
``OPENBLAS_NUM_THREADS=1`` before Python starts; the script sets it when it can).
Prints a Markdown table with the speed ratio (NEST time / golden time). The target (golden at
least 10x faster) is for batch 1, the validation setting; an extra row runs the evidence task
with the batch size of NEST's example script (32), where golden runs the batch's sequences in
parallel and NEST one after another.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from plasticore.reference.eprop import train_eprop  # noqa: E402
from plasticore.reference.nest_tasks import EpropTask, evidence_accumulation_task, sine_wave_task  # noqa: E402

from .nest_eprop import nest_available, run_nest_eprop  # noqa: E402


def max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest ``|a - b| / |b|`` over entries where ``b`` is not tiny (weights, losses)."""
    a, b = np.asarray(a), np.asarray(b)
    scale = np.maximum(np.abs(b), 1e-3 * max(np.abs(b).max(), 1e-300))
    return float(np.max(np.abs(a - b) / scale))


def time_task(task: EpropTask, repeats: int, label: str) -> dict:
    best_nest = best_golden = float("inf")
    nest_run = golden_run = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        nest_run = run_nest_eprop(task.params, task.spec, task.weights, task.inputs, task.targets, task.batch)
        best_nest = min(best_nest, time.perf_counter() - t0)
        t0 = time.perf_counter()
        golden_run = train_eprop(task.params, task.spec, task.weights, task.inputs, task.targets, task.batch)
        best_golden = min(best_golden, time.perf_counter() - t0)
    loss_rel = max_rel_diff(golden_run.losses, nest_run.losses)
    w_rel = max(
        max_rel_diff(getattr(golden_run.weights, k), getattr(nest_run.weights, k)) for k in ("w_in", "w_rec", "w_out")
    )
    return {
        "task": label,
        "iterations": len(golden_run.losses),
        "steps": task.inputs.shape[1],
        "batch": task.batch,
        "nest_s": best_nest,
        "golden_s": best_golden,
        "ratio": best_nest / best_golden,
        "loss_rel": loss_rel,
        "weight_rel": w_rel,
        "first_loss": float(golden_run.losses[0]),
        "last_loss": float(golden_run.losses[-1]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=20, help="training iterations per task (batch 1)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per simulator; the best counts")
    ap.add_argument(
        "--batch32-iterations",
        type=int,
        default=2,
        help="iterations of the extra evidence-accumulation run with NEST's example batch size 32 (0 skips it)",
    )
    args = ap.parse_args(argv)
    ok, why = nest_available()
    if not ok:
        print(f"NEST is not available ({why}); nothing to compare against.")
        return 1
    print(f"NEST {why}, numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print()
    print(
        "| task | batch | steps x iterations | NEST (s) | golden (s) | speed-up | max rel. diff loss "
        "| max rel. diff weights |"
    )
    print("|---|---|---|---|---|---|---|---|")
    runs = [
        ("sine-wave regression", sine_wave_task(n_iter=args.iterations)),
        ("evidence accumulation", evidence_accumulation_task(n_iter=args.iterations)),
    ]
    if args.batch32_iterations:
        runs.append(
            (
                "evidence accumulation, NEST example's batch",
                evidence_accumulation_task(n_iter=args.batch32_iterations, batch=32),
            )
        )
    rows = []
    for label, task in runs:
        r = time_task(task, args.repeats, label)
        rows.append(r)
        print(
            f"| {r['task']} | {r['batch']} | {r['steps']} x {r['iterations']} | {r['nest_s']:.3f} "
            f"| {r['golden_s']:.3f} | {r['ratio']:.1f}x | {r['loss_rel']:.1e} | {r['weight_rel']:.1e} |",
            flush=True,
        )
    print()
    batch1 = [r for r in rows if r["batch"] == 1]
    worst = min(r["ratio"] for r in batch1)
    print(
        "speed ratio NEST / golden: " + ", ".join(f"{r['task']} (batch {r['batch']}) {r['ratio']:.1f}x" for r in rows)
    )
    print(f"target 10x at batch 1: {'met' if worst >= 10 else 'NOT met'} (worst {worst:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
