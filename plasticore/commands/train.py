"""``plasticore train``: train a task with a learning rule in the golden model, score held-out data.

Prints a progress bar (on a terminal), then one JSON object with the keys ``task``, ``rule``,
``numerics``, ``metric``, ``value`` (held-out), ``curve`` (held-out value after each epoch),
``seconds``, and the synapse table's ``connectivity``, ``rewire``, ``active_synapses`` and
``rewired`` (``--connectivity F [--rewire]``: golden/synapses.py), and ``hidden_layers``
(``--hidden-layers K``: golden/layers.py). Those names are a contract
for scripts and docs/results.md.

``--data PATH.npz`` trains on a user's data set instead of a built-in task (README, "Your own
data"; :func:`plasticore.tasks.load_user_data`), with the same rules and numerics; its
network is ``--config`` or the built-in task's of its kind (``DATA_BASE_TASKS``).
"""

import argparse
import json
import sys
from pathlib import Path

from plasticore.golden import load_config
from plasticore.golden.rules import RULES
from plasticore.progress import progress_bar
from plasticore.tasks import TASKS, load_user_data, make_task
from plasticore.training.train import DATA_BASE_TASKS, TASK_SPECS, TRAIN_RULES, EpochScores, data_spec, train

from .common import add_wiring_options


def register(sub) -> None:
    p = sub.add_parser("train", help="train a task with on-chip learning (golden model) and score it")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--task", choices=list(TASKS), help="a built-in task")
    what.add_argument(
        "--data",
        metavar="PATH.npz",
        help="your own data set instead: x, window, labels or targets (README, \"Your own data\")",
    )
    p.add_argument(
        "--rule",
        default="eprop",
        choices=list(TRAIN_RULES),
        help="learning rule (default: eprop; bptt: offline BPTT on the host, in fixed "
        "point quantization-aware for the hardware's integer network; huh-sejnowski: offline "
        "exact gradient of the gated network, deployed to the hardware's integer network)",
    )
    p.add_argument(
        "--numerics",
        choices=("fixed", "float"),
        default="fixed",
        help="fixed-point hardware learning (batch 1) or the float64 twin (default: fixed)",
    )
    p.add_argument("--seed", type=int, default=1, help="task data, initial weights, sample order (default: 1)")
    p.add_argument(
        "--config", default=None, help="a preset or a JSON file of config fields (default: the task's own network)"
    )
    p.add_argument("--epochs", type=int, default=None, help="passes over the training split (default: per task)")
    p.add_argument("--batch", type=int, default=None, help="float twin and bptt only: samples per update (default: 1)")
    p.add_argument("--train-samples", type=int, default=None, help="use only this many training samples")
    p.add_argument("--test-samples", type=int, default=None, help="use only this many held-out samples")
    add_wiring_options(p)
    p.add_argument(
        "--hidden-layers",
        type=int,
        default=None,
        metavar="K",
        help="K equal feedforward hidden layers wired inside the recurrent pool (default: the config's, 0: all-to-all)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the result object to PATH")
    p.add_argument(
        "--save-weights",
        metavar="PATH.npz",
        default=None,
        help="also write the trained weights and their config (input of `plasticore nir export`)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _task(args: argparse.Namespace):
    if args.data:
        task = load_user_data(args.data, args.seed)
    else:
        spec = TASK_SPECS[args.task]
        kw = dict(spec.task_kw)
        data = None
        if args.task == "digits":
            from plasticore.tasks.datasets import load_digits_arrays

            data = load_digits_arrays()
        task = make_task(args.task, args.seed, digits_data=data, **kw)
    for name, n in (("train-samples", args.train_samples), ("test-samples", args.test_samples)):
        if n is not None and n < 1:
            raise ValueError(f"--{name}: {n!r} is outside the allowed range 1..")
    if args.train_samples or args.test_samples:
        task = type(task)(
            task.name,
            task.n_in,
            task.n_out,
            task.metric,
            task.train.subset(args.train_samples or len(task.train)),
            task.test.subset(args.test_samples or len(task.test)),
            task.description,
        )
    return task


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ValueError(f"--seed: {args.seed!r} is outside the allowed range 0..")
    task = _task(args)
    cfg = load_config(args.config) if args.config else None
    published = RULES[TRAIN_RULES[args.rule]].pseudo_derivative
    if cfg is not None and cfg.pseudo_derivative != published and not args.quiet:
        # a user's config keeps its own shape: say so, it is not the rule's published one
        print(
            f"note: pseudo-derivative {cfg.pseudo_derivative!r} from --config"
            f" (rule {args.rule} publishes {published!r})",
            file=sys.stderr,
        )

    last: list[str] = []  # the last epoch's scores, shown in the next epoch's bar

    def progress(it, desc, total):
        label = f"{desc} (last: {last[-1]})" if last else desc
        return it if args.quiet else progress_bar(label, total, unit="sample")(it)

    def on_epoch(scores: EpochScores) -> None:
        last.append(f"held-out {scores.heldout:.3f}, training {scores.train:.3f}")
        if not args.quiet:
            print(scores.describe(task.metric), file=sys.stderr, flush=True)

    # a user's data set: the network and schedule of the built-in task of its kind
    spec = data_spec(task, TASK_SPECS[DATA_BASE_TASKS[task.metric]], cfg) if args.data else None
    result = train(
        task,
        args.rule,
        args.numerics,
        cfg=cfg,
        epochs=args.epochs,
        seed=args.seed,
        batch=args.batch,
        progress=progress,
        spec=spec,
        connectivity=args.connectivity,
        rewire=args.rewire,
        hidden_layers=args.hidden_layers,
        on_epoch=on_epoch,
    )
    obj = result.as_json()
    text = json.dumps(obj, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    if args.save_weights:
        from plasticore.nir_io import save_weights

        save_weights(args.save_weights, result.weights, result.config)
    return 0
