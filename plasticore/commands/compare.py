"""``plasticore compare``: one task trained as golden float, golden fixed point and RTL.

Prints a table (metric, spikes per tick, seconds) and whether the RTL's weights equal golden
fixed point's bit for bit; writes a report folder (Markdown and PNG plots) and, with --json,
an object with the keys ``task``, ``float``, ``fixed``, ``rtl`` (each ``{"metric", "value",
"seconds", ...}``), ``rtl_equals_fixed`` and ``report``: a contract for scripts.
Exit code 0 only when RTL == fixed point.

``--data PATH.npz`` compares on a user's data set instead of a built-in task (README, "Your
own data"); its network is ``--config`` or the scaled-down one of the built-in task of its
kind (``plasticore.compare.load_data_compare_task``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from plasticore.progress import progress_bar

from .common import add_wiring_options, wiring_fields


def register(sub) -> None:
    from plasticore.tasks import TASKS

    p = sub.add_parser(
        "compare", help="train a task as golden float, golden fixed point and RTL (simulated chip) and compare them"
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("--task", default="digits", choices=list(TASKS), help="a built-in task (default: digits)")
    what.add_argument(
        "--data",
        metavar="PATH.npz",
        help="your own data set instead: x, window, labels or targets (README, \"Your own data\")",
    )
    p.add_argument(
        "--config",
        default=None,
        help="a preset or a JSON file of config fields (default: the task's scaled-down network, "
        "plasticore.compare.COMPARE_SPECS)",
    )
    p.add_argument(
        "--rule",
        default=None,
        choices=["eprop", "eprop-symmetric", "erbp"],
        help="learning rule (default: erbp for digits and classification data, eprop otherwise)",
    )
    p.add_argument("--seed", type=int, default=1, help="task data, initial weights, sample order (default: 1)")
    p.add_argument("--epochs", type=int, default=None, help="passes over the training split (default: per task)")
    p.add_argument("--train-samples", type=int, default=None, help="use only this many training samples")
    p.add_argument("--test-samples", type=int, default=None, help="use only this many held-out samples")
    add_wiring_options(p)
    p.add_argument(
        "--report", metavar="DIR", default=None, help="report folder (default: reports/compare-<task>-<config>-seed<N>)"
    )
    p.add_argument("--json", metavar="PATH", help="also write the result object to PATH")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plasticore.compare import (
        DEFAULT_RULES,
        data_default_rule,
        format_table,
        load_data_compare_task,
        report_dir_for,
    )
    from plasticore.compare_report import compare_and_report
    from plasticore.golden import load_config

    if args.seed < 0:
        raise ValueError(f"--seed: {args.seed!r} is outside the allowed range 0..")
    cfg = load_config(args.config) if args.config else None
    if args.data:
        # checked here, before the long run: a bad file is one clear line
        task, _ = load_data_compare_task(args.data, args.seed, cfg, args.train_samples, args.test_samples)
        name, rule, what = task.name, args.rule or data_default_rule(task), f"--data {shlex.quote(args.data)}"
    else:
        name, rule, what = args.task, args.rule or DEFAULT_RULES[args.task], f"--task {args.task}"

    def progress(it, desc, total):
        return it if args.quiet else progress_bar(desc, total, unit="sample")(it)

    print(f"== plasticore compare: task {name}, rule {rule}, seed {args.seed}")
    folder = (
        Path(args.report)
        if args.report
        else report_dir_for(name, args.config and Path(args.config).stem or "default", args.seed)
    )
    command = (
        "plasticore " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if sys.argv[1:2] == ["compare"]
        else f"plasticore compare {what} --seed {args.seed}"
    )
    cmp, md, result = compare_and_report(
        args.task,
        args.seed,
        folder,
        command,
        rule=rule,
        cfg=cfg,
        epochs=args.epochs,
        n_train=args.train_samples,
        n_test=args.test_samples,
        progress=progress,
        data=args.data,
        wiring=wiring_fields(args),
    )
    print(format_table(cmp))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"report: {md}")
    return 0 if cmp.rtl_equals_fixed else 1
