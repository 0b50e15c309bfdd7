"""``plasticore l2l``: learning-to-learn (Bellec et al. 2018), the inner loop with frozen weights.

Meta-trains the chip's network on a task family (once per network, seed and numerics; the
weights are saved under ``--weights-dir`` and reused), then runs held-out episodes of new tasks
with the weights frozen and scores the error on each example of an episode. Prints one JSON
object with the keys ``family``, ``neurons``, ``numerics``, ``backend``, ``mse_by_example``
(list: mean squared error on example 1, 2, ... of an episode), ``mse_mean_predictor`` (each
task's own mean as the prediction), ``seconds``, plus ``config`` (the network's config name),
``seed``, ``episodes`` and, on the RTL, ``equal_to_golden`` and ``weights_unchanged``. Those
names are a contract for scripts and docs/results.md. Writes a report folder with the plot of
the error against the example index.

``--backend rtl`` runs the episodes on the simulated chip (Verilator) through the host driver,
learning off, and checks every tick against golden fixed point and the weights read back.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

FAMILIES = ("regression",)


def register(sub) -> None:
    p = sub.add_parser("l2l", help="learning-to-learn: a meta-trained LSNN learns new tasks with frozen weights")
    p.add_argument("--family", choices=FAMILIES, default="regression", help="task family (default: regression)")
    p.add_argument(
        "--neurons",
        choices=("lsnn", "lif"),
        default="lsnn",
        help="LSNN (with ALIF neurons) or LIF only (default: lsnn)",
    )
    p.add_argument(
        "--config",
        default="small",
        metavar="NAME|JSON",
        help="the LSNN: a network of training.l2l.L2L_CONFIGS (lsnn64), a preset or a JSON file of Config "
        "fields; --neurons lif drops its ALIF neurons (default: small)",
    )
    p.add_argument(
        "--numerics",
        choices=("float", "fixed"),
        default="fixed",
        help="float twin, or the chip's fixed point after quantization-aware fine-tuning (default: fixed)",
    )
    p.add_argument(
        "--backend", choices=("golden", "rtl"), default="golden", help="chip model: golden (numpy) or rtl (simulated)"
    )
    p.add_argument("--seed", type=int, default=1, help="meta-training seed: initial weights, task stream (default: 1)")
    p.add_argument("--episodes", type=int, default=None, help="held-out episodes to score (default: 256 golden, 4 rtl)")
    p.add_argument(
        "--weights-dir",
        metavar="DIR",
        default="out/l2l",
        help="where meta-trained weights are saved and reused from (default: out/l2l)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the result object to PATH")
    p.add_argument("--report", metavar="DIR", default=None, help="report folder (default: reports/l2l-...)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    if args.seed < 0:
        raise ValueError(f"--seed: {args.seed!r} is outside the allowed range 0..")
    if args.episodes is not None and args.episodes < 1:
        raise ValueError(f"--episodes: {args.episodes!r} is outside the allowed range 1..")
    if args.backend == "rtl" and args.numerics != "fixed":
        raise ValueError("--backend rtl: the RTL computes in fixed point; use --numerics fixed")


def run(args: argparse.Namespace) -> int:
    _check(args)
    import numpy as np

    from plasticore.l2l_report import write_l2l_report
    from plasticore.progress import progress_bar
    from plasticore.training import l2l

    def progress(it, desc, total):
        return it if args.quiet else progress_bar(desc, total, unit="step")(it)

    def log(msg: str) -> None:
        print(f"l2l: {msg}", file=sys.stderr)

    start = time.perf_counter()
    spec = l2l.spec_for(args.config)
    cfg = l2l.l2l_config(args.neurons, args.config)
    w = l2l.trained_weights(cfg, spec, args.seed, args.numerics, Path(args.weights_dir), progress, log)
    episodes = args.episodes or (4 if args.backend == "rtl" else spec.heldout)
    ep = l2l.heldout_episodes(cfg, spec, episodes)
    obj: dict = {"family": args.family, "neurons": args.neurons, "numerics": args.numerics, "backend": args.backend}
    obj["config"] = cfg.name
    if args.backend == "rtl":
        from plasticore.cosim.host_transport import TEST_PARAMS
        from plasticore.host import Host
        from plasticore.l2l_chip import run_episodes_on_chip

        log(f"building the simulated chip ({cfg.name}; Verilator, cached after once)")
        with Host.simulated(cfg, TEST_PARAMS) as chip:
            chip_run = run_episodes_on_chip(chip, w, ep, progress)
        y = chip_run.y
        obj["equal_to_golden"] = chip_run.equal_to_golden
        obj["weights_unchanged"] = chip_run.weights_unchanged
    else:
        y = l2l.run_golden(cfg, w, ep, args.numerics)
    pred = l2l.predictions(y, spec.target_scale)
    mse = l2l.mse_by_example(pred, ep)
    obj.update(
        mse_by_example=[round(float(v), 5) for v in mse],
        mse_mean_predictor=round(float(np.mean(ep.task_mse_of_mean)), 5),
        seconds=round(time.perf_counter() - start, 3),
        seed=args.seed,
        episodes=episodes,
    )
    # the small network's folders keep their names; another network's carry its config name
    tag = "" if args.config == "small" else f"-{l2l.base_config(args.config).name}"
    folder = Path(
        args.report or f"reports/l2l-{args.family}{tag}-{args.neurons}-{args.numerics}-{args.backend}-seed{args.seed}"
    )
    command = "plasticore " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["l2l"] else "plasticore l2l ..."
    episode = {"prediction": pred[0], "target": ep.split.target[0, :, 0], "valid": ep.split.valid[0]}
    md = write_l2l_report(folder, obj, episode, command)
    print(json.dumps(obj))
    if args.json:
        Path(args.json).write_text(json.dumps(obj, indent=2) + "\n")
    log(f"report: {md}")
    ok = args.backend != "rtl" or (all(obj["equal_to_golden"].values()) and all(obj["weights_unchanged"].values()))
    return 0 if ok else 1
