"""Layers from wiring: digits with eRBP in fixed point, one hidden layer against two of the same
neuron count (64-200-10 against 64-100-100-10), inside the chip's 200-neuron pool.

    python -m plasticore.experiments.layers_study --hidden-layers 2 --seed 1 --train-samples 500 --out out/layers

Trains ``digits`` (eRBP, fixed point unless ``--numerics float``) with ``hidden_layers`` feedforward
layers (:mod:`plasticore.golden.layers`) and writes the ``plasticore train --json`` object (plus
``out_lr_shift``) to ``--out/digits-erbp-<numerics>-layers<K>-seed<S>.json``; ``--table`` prints the
markdown table of every result in ``--out``. Each layer count keeps the digits network and
schedule except the readout's learning rate: two layers read 100 neurons whose activity is
driven by one layer's spikes, and their readout learned fastest at ``out_lr_shift`` 19 on the
validation seed 0 (300 training samples, 150 held out: 0.29 / 0.41 / 0.42 / 0.31 at 21 / 20 /
19 / 18, docs/results.md), where one layer keeps the task's 21.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from plasticore.progress import progress_bar
from plasticore.tasks import make_task
from plasticore.tasks.datasets import load_digits_arrays
from plasticore.training.train import TASK_SPECS, train

__all__ = ["OUT_LR_SHIFT", "run", "table", "main"]

#: the readout learning-rate shift per hidden-layer count (validation seed 0, module docstring)
OUT_LR_SHIFT = {1: 21, 2: 19}


def run(hidden_layers: int, seed: int, numerics: str, train_samples: int | None, epochs: int, quiet: bool) -> dict:
    """Train and score one network; returns the ``plasticore train --json`` object."""
    if hidden_layers not in OUT_LR_SHIFT:
        raise ValueError(f"--hidden-layers: {hidden_layers!r} is not one of {', '.join(map(str, OUT_LR_SHIFT))}")
    base = TASK_SPECS["digits"]
    spec = dataclasses.replace(base, config={**base.config, "out_lr_shift": OUT_LR_SHIFT[hidden_layers]})
    task = make_task("digits", seed, digits_data=load_digits_arrays(), **base.task_kw)
    if train_samples is not None:
        task = dataclasses.replace(task, train=task.train.subset(train_samples))

    def progress(it, desc, total):
        return it if quiet else progress_bar(desc, total, unit="sample")(it)

    result = train(
        task, "erbp", numerics, epochs=epochs, seed=seed, spec=spec, progress=progress, hidden_layers=hidden_layers
    )
    return {
        **result.as_json(),
        "seed": seed,
        "out_lr_shift": OUT_LR_SHIFT[hidden_layers],
        "train_samples": len(task.train),
    }


def table(folder: Path) -> str:
    """The markdown table of every result in ``folder``."""
    lines = [
        "| hidden layers | network | numerics | seed | train samples x epochs | held-out | synapses | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("digits-erbp-*-layers*-seed*.json"))]
    for r in sorted(runs, key=lambda r: (r["numerics"], r["hidden_layers"], r["seed"])):
        k = r["hidden_layers"]
        net = "64-" + "-".join([str(200 // k)] * k) + "-10"
        lines.append(
            f"| {k} | {net} | {r['numerics']} | {r['seed']} | {r['train_samples']} x {len(r['curve'])} | "
            f"**{r['value']:.3f}** | {r['active_synapses']:,} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden-layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--numerics", choices=("fixed", "float"), default="fixed")
    p.add_argument("--train-samples", type=int, default=None, help="use only this many training samples")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("out/layers"))
    p.add_argument("--table", action="store_true", help="only print the table of the results in --out")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.table:
        print(table(args.out))
        return 0
    obj = run(args.hidden_layers, args.seed, args.numerics, args.train_samples, args.epochs, args.quiet)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"digits-erbp-{args.numerics}-layers{args.hidden_layers}-seed{args.seed}.json"
    path.write_text(json.dumps(obj, indent=2) + "\n")
    print(json.dumps(obj))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
