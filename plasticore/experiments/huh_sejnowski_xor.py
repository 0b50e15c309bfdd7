"""Huh & Sejnowski on delayed-memory XOR: the gated float network, the chip's network, the RTL.

    python -m plasticore.experiments.huh_sejnowski_xor --seeds 1 3 4 --json out/hs/xor.json

Per seed: the task (``plasticore.tasks.xor``, the data of ``plasticore train --task xor``),
training with the gated network's exact gradient (:mod:`plasticore.training.huh_sejnowski_train`),
deployment to a Config and integer weights, then the held-out accuracy of

* ``smooth``: the gated float network as trained (its last gate width);
* ``hard_float``: the chip's network in golden float (hard threshold, unrounded weights): what
  dropping the gate alone changes;
* ``fixed``: the chip's network in golden fixed point (integer weights): what the chip computes;
* ``rtl``: the RTL in simulation (Verilator, through the host driver,
  :func:`plasticore.chip_train.run_heldout_on_chip`), on the first ``--rtl-samples`` held-out
  samples, with ``rtl_equals_fixed``: its readout and spikes equal golden fixed point's on
  every tick of those samples, bit for bit.

Prints one JSON object per seed and writes them all, with the medians, to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from plasticore.golden.numerics import FixedNumerics
from plasticore.tasks import make_task
from plasticore.training import huh_sejnowski_train as hst
from plasticore.training.train import heldout_run, score

__all__ = ["run_seed", "main"]


def _rtl(cfg, weights, split, progress) -> tuple[float, bool, float]:
    from plasticore.chip_train import run_heldout_on_chip
    from plasticore.host import Host

    golden_y, golden_z = heldout_run(cfg, FixedNumerics(), weights, split, spikes=True)
    start = time.perf_counter()
    with Host.simulated(cfg) as chip:
        chip.load_weights(weights)
        run = run_heldout_on_chip(chip, split, progress, "rtl held-out")
    seconds = time.perf_counter() - start
    equal = bool(np.array_equal(run.y, golden_y) and np.array_equal(run.z, golden_z))
    return score("accuracy", run.y, split, 1), equal, seconds


def run_seed(seed: int, rtl_samples: int = 0, epochs: int | None = None, progress=None) -> dict[str, Any]:
    """Train, deploy and score one seed (module docstring); ``rtl_samples`` 0: no RTL."""
    spec = hst.spec_for("xor")
    task = make_task("xor", seed, **spec.task_kw)
    prog = progress or (lambda it, desc, total: it)
    res = hst.train_huh_sejnowski(task, seed, "fixed", spec, epochs, prog)
    cfg, w = res.config, res.weights
    out: dict[str, Any] = {
        "seed": seed,
        "smooth": hst.smooth_accuracy(res.params, res.float_weights, task.test),
        "hard_float": hst.chip_accuracy(cfg, hst.float_weights(cfg, res.float_weights), task.test, "float"),
        "fixed": hst.chip_accuracy(cfg, w, task.test, "fixed"),
        "delta": res.params.delta,
        "epochs": len(res.losses),
        "losses": res.losses,
        "train_seconds": res.seconds,
        "threshold": cfg.threshold,
        "config": cfg.to_dict(),
    }
    if rtl_samples:
        sub = task.test.subset(rtl_samples)
        out["rtl_samples"] = len(sub)
        out["fixed_on_rtl_samples"] = hst.chip_accuracy(cfg, w, sub, "fixed")
        out["rtl"], out["rtl_equals_fixed"], out["rtl_seconds"] = _rtl(cfg, w, sub, prog)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 3, 4])
    p.add_argument("--rtl-samples", type=int, default=128, help="held-out samples run on the RTL (0: none)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--json", metavar="PATH", default=None)
    args = p.parse_args(argv)
    rows = []
    for seed in args.seeds:
        row = run_seed(seed, args.rtl_samples, args.epochs)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "config"}), flush=True)
    keys = [k for k in ("smooth", "hard_float", "fixed", "rtl") if k in rows[0]]
    result = {"seeds": rows, "median": {k: statistics.median(r[k] for r in rows) for k in keys}}
    print(json.dumps(result["median"]))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(r.get("rtl_equals_fixed", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
