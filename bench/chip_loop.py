"""Chip-in-the-loop speed: issue 20's cue-accumulation run trained on the RTL, against golden.

    python -m plasticore.bench.chip_loop [--seed 1] [--epochs 10] [--n-train 50] [--n-test 50]
                                          [--bench native|cocotb] [--json out.json]

The task and network are ``cue-reckon`` (40 inputs, 100 LIF, 2 outputs, 8-bit weights, 2,250
ticks a sample, batch 1), made buildable: the setting the RTL refuses
(``Config.unbuilt_learning_features``) is replaced by the nearest it builds (traces of 16 bits
at the same real-valued scale: row 3 of docs/results.md's cue-reckon ablation, the network of
``plasticore compare --task cue-reckon``). Golden
fixed point trains first; then the chip, through the host driver on the simulated transport
(``plasticore.cosim.host_transport``: the System's RTL on Verilator, ``--bench`` native or
cocotb), with the same weights, order and held-out runs. The report gives the wall time of
both, ticks per second, and whether the chip ended with golden's weights and curve bit for bit.
Wall-clock figures depend on the machine's load; the cycle counts do not.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import time
from collections.abc import Iterable

from plasticore.chip_train import train_on_chip, weights_equal
from plasticore.experiments.cue_reckon_ablation import RULE, narrow_traces
from plasticore.host import Host
from plasticore.tasks import make_task
from plasticore.training.train import TASK_SPECS, TaskSpec, task_config, train


def buildable_spec(spec: TaskSpec) -> TaskSpec:
    """``spec`` with what the RTL does not build replaced by what it builds: traces narrowed to
    16 bits at the same real-valued scale
    (:func:`~plasticore.experiments.cue_reckon_ablation.narrow_traces`): row 3 of the ablation
    in docs/results.md. The readout's own trace, the error clamp, the step pseudo-derivative and
    the rate regularization are kept (the RTL builds them)."""
    config = {**spec.config, **narrow_traces(spec)}
    return dataclasses.replace(spec, config=config)


def timed_progress(log: list[dict]):
    """A ``train_on_chip`` progress callback that prints and records each loop's wall time."""

    def progress(it: Iterable, desc: str, total: int) -> Iterable:
        start = time.perf_counter()
        yield from it
        seconds = time.perf_counter() - start
        log.append({"what": desc, "samples": total, "seconds": round(seconds, 2)})
        print(f"  {desc}: {total} samples in {seconds:.1f} s", flush=True)

    return progress


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=TASK_SPECS["cue-reckon"].epochs)
    p.add_argument("--n-train", type=int, default=50)
    p.add_argument("--n-test", type=int, default=50)
    p.add_argument("--bench", choices=("native", "cocotb"), default="native")
    p.add_argument("--rule", default=RULE, help=f"learning rule (default: {RULE}, the task's)")
    p.add_argument("--json", help="write the report here")
    args = p.parse_args(argv)

    spec = dataclasses.replace(buildable_spec(TASK_SPECS["cue-reckon"]), epochs=args.epochs)
    task = make_task("cue-reckon", args.seed, n_train=args.n_train, n_test=args.n_test)
    cfg = task_config("cue-reckon", args.rule, task.n_in, spec=spec).replace(seed=args.seed)
    refused = cfg.unbuilt_learning_features()
    if refused:
        raise SystemExit(f"the RTL still refuses {', '.join(refused)}")
    ticks = task.train.ticks
    train_ticks = args.epochs * len(task.train) * ticks
    test_ticks = (args.epochs + 1) * len(task.test) * ticks
    print(
        f"cue-reckon seed {args.seed}: {len(task.train)} train x {args.epochs} epochs + "
        f"{args.epochs + 1} x {len(task.test)} held-out samples of {ticks} ticks = "
        f"{train_ticks + test_ticks:,} ticks",
        flush=True,
    )

    start = time.perf_counter()
    golden = train(task, args.rule, "fixed", cfg=cfg, epochs=args.epochs, seed=args.seed, spec=spec)
    golden_seconds = time.perf_counter() - start
    print(f"golden fixed point: {golden_seconds:.0f} s, held-out {golden.curve}", flush=True)

    log: list[dict] = []
    start = time.perf_counter()
    with Host.simulated(cfg, bench=args.bench) as chip:
        ready = time.perf_counter() - start
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the model's build included
        print(f"chip ({args.bench} bench) ready in {ready:.0f} s (build or cache)", flush=True)
        rtl = train_on_chip(chip, task, spec, args.epochs, progress=timed_progress(log))
        cycles = chip.transport.cycles
    sim_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    equal = weights_equal(cfg, rtl.weights_after, golden.weights)
    report = {
        "task": "cue-reckon",
        "seed": args.seed,
        "config": cfg.to_dict(),
        "bench": args.bench,
        "ticks": train_ticks + test_ticks,
        "train_ticks": train_ticks,
        "heldout_ticks": test_ticks,
        "golden_seconds": round(golden_seconds, 1),
        "chip_seconds": round(rtl.seconds, 1),
        "chip_ticks_per_second": round((train_ticks + test_ticks) / rtl.seconds, 1),
        "seconds_per_train_sample": round(
            sum(e["seconds"] for e in log if "rtl epoch" in e["what"]) / (args.epochs * len(task.train)), 3
        ),
        "simulated_cycles": cycles,
        "simulator_cpu_seconds": round(
            sim_cpu.ru_utime + sim_cpu.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime, 1
        ),
        "core_cycles_train": int(rtl.train_cycles.sum()),
        "core_cycles_heldout": int(sum(r.cycles.sum() for r in rtl.heldout)),
        "rtl_curve": rtl.curve,
        "golden_curve": golden.curve,
        "weights_equal": equal,
        "bit_exact": all(equal.values()) and rtl.curve[1:] == golden.curve,
        "loops": log,
    }
    print(json.dumps({k: v for k, v in report.items() if k not in ("config", "loops")}, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0 if report["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
