"""``plasticore nir``: export a trained network to NIR, import a NIR graph into a chip network.

``plasticore nir export --config C --weights W.npz --out NET.nir`` writes the network (weights from
``plasticore train --save-weights W.npz``; ``--config`` defaults to the config stored with them).
``plasticore nir import NET.nir --out-config C.json --out-weights W.npz`` writes a config file that
``--config`` accepts and the quantized weights. Both print one JSON object; warnings go to stderr.
A node the chip cannot run is refused with exit code 2 and one line naming it
(conventions: ``plasticore.nir_io`` and the README's section "NIR").
"""

import argparse
import json
import sys
from pathlib import Path

from plasticore.golden import load_config


def register(sub) -> None:
    p = sub.add_parser("nir", help="export a network to NIR, or import a NIR graph into a chip network")
    nsub = p.add_subparsers(dest="nir_command", metavar="SUBCOMMAND")
    nsub.required = True

    e = nsub.add_parser("export", help="write a network (config + integer weights) as a NIR graph")
    e.add_argument(
        "--config",
        default=None,
        help="a preset or a JSON file of config fields (default: the config stored in --weights)",
    )
    e.add_argument(
        "--weights",
        required=True,
        metavar="PATH.npz",
        help="weights file (keys w_in, w_rec, w_out, b_fb; `plasticore train --save-weights`)",
    )
    e.add_argument("--out", required=True, metavar="PATH.nir", help="the NIR file to write")
    e.add_argument(
        "--dt",
        type=float,
        default=1.0,
        help="time per tick in the graph's time unit (default: 1, time constants in ticks)",
    )
    e.set_defaults(func=run_export)

    i = nsub.add_parser("import", help="read a NIR graph (LIF/CubaLIF + Affine/Linear) into a config and weights")
    i.add_argument("graph", metavar="PATH.nir", help="the NIR file to read")
    i.add_argument("--out-config", required=True, metavar="C.json", help="the chip config to write (JSON)")
    i.add_argument("--out-weights", required=True, metavar="W.npz", help="the quantized weights to write")
    i.add_argument(
        "--base",
        default=None,
        help="preset or JSON config for the widths, learning and hardware fields (default: the "
        "plasticore config embedded in the graph, else small)",
    )
    i.add_argument(
        "--dt",
        type=float,
        default=None,
        help="the graph's time per tick, e.g. 1e-4 for snnTorch, 1e-3 for Norse (default: the "
        "graph's plasticore_dt, else 1)",
    )
    i.add_argument(
        "--reset",
        choices=("zero", "subtract"),
        default=None,
        help="reset mode (default: the node's plasticore_reset, else zero as NIR defines it; "
        "snnTorch trains with subtract)",
    )
    i.add_argument("--strict", action="store_true", help="refuse the graph on any warning (exit code 2)")
    i.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    from plasticore.nir_io import load_weights, write_nir

    w, stored = load_weights(args.weights)
    if args.config is not None:
        cfg = load_config(args.config)
    elif stored is not None:
        cfg = stored
    else:
        raise ValueError(f"--config: {args.weights} stores no config; name one with --config")
    write_nir(args.out, cfg, w, args.dt)
    print(
        json.dumps(
            {
                "out": args.out,
                "config": cfg.name,
                "n_in": cfg.n_in,
                "n_rec": cfg.n_rec,
                "n_alif": cfg.n_alif,
                "n_out": cfg.n_out,
                "dt": args.dt,
            },
            indent=2,
        )
    )
    return 0


def run_import(args: argparse.Namespace) -> int:
    from plasticore.nir_io import import_graph, read_nir, save_weights

    base = load_config(args.base) if args.base else None
    name = Path(args.out_config).stem or "nir"
    result = import_graph(read_nir(args.graph), base=base, dt=args.dt, reset=args.reset, name=name)
    if args.strict and result.warnings:
        raise ValueError(f"--strict: {result.warnings[0]}")
    for line in result.warnings:
        print(f"plasticore nir: warning: {line}", file=sys.stderr)
    Path(args.out_config).write_text(json.dumps(result.config.to_dict(), indent=2) + "\n")
    save_weights(args.out_weights, result.weights, result.config)
    print(json.dumps({"config_file": args.out_config, "weights_file": args.out_weights, **result.report}, indent=2))
    return 0
