"""``plasticore rl``: reinforcement learning in closed loop on CartPole (Gymnasium).

Trains an agent for ``--episodes`` episodes (or ``--max-steps`` environment steps, whichever
ends first), prints a progress bar (on a terminal), writes a report folder with the return
curve, and prints one JSON object with the keys ``env``, ``agent``, ``numerics``, ``backend``,
``episodes``, ``solved_at`` (first episode at which the mean of the last 100 returns reaches
the version's bar: 475 for v1, 195 for v0; null if never), ``best_mean100``, ``returns`` (per
episode), ``seconds``, plus ``version``, ``seed`` and ``steps``. Those names are a contract
for scripts and docs/results.md.

Agents: ``lsm-q`` (Ponghiran et al. 2019: a fixed random liquid, a readout learned by
Q-learning; ``--numerics float`` is the published DQN readout, ``--numerics fixed`` the chip's
hardware form: the liquid on the golden model, the readout learned on chip from the host's TD
target, docs/rl.md) and ``eprop-ac`` (Bellec et al. 2020: reward-based e-prop, an LSNN with
policy and value readouts; ``--numerics float`` as published, ``--numerics fixed`` the chip's
e-prop with the TD error folded into the output error). ``--backend rtl`` runs a fixed-point
agent's loop on the RTL in Verilator through the host driver, bit for bit golden's run.
Combinations not implemented
yet are refused with a message, never approximated by something else.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path

AGENTS = ("lsm-q", "eprop-ac")
#: (agent, numerics, backend) runs that exist; anything else is refused
IMPLEMENTED = {(agent, "float", "golden") for agent in AGENTS} | {
    (agent, "fixed", backend) for agent in AGENTS for backend in ("golden", "rtl")
}


def register(sub) -> None:
    p = sub.add_parser("rl", help="reinforcement learning in closed loop: CartPole through a spiking agent")
    p.add_argument("--env", choices=("cartpole",), default="cartpole", help="environment (default: cartpole)")
    p.add_argument(
        "--version",
        choices=("v0", "v1"),
        default="v1",
        help="CartPole-v1 (500 steps, solved at 475) or v0 (200 steps, 195; the lsm-rl anchor) (default: v1)",
    )
    p.add_argument("--agent", choices=AGENTS, required=True, help="lsm-q (liquid + Q-learning) or eprop-ac")
    p.add_argument(
        "--numerics", choices=("float", "fixed"), default="float", help="float reference or the chip's fixed point"
    )
    p.add_argument(
        "--backend", choices=("golden", "rtl"), default="golden", help="chip model: golden (numpy) or rtl (simulated)"
    )
    p.add_argument("--seed", type=int, default=1, help="agent and environment seed (default: 1)")
    p.add_argument("--episodes", type=int, default=2000, help="stop after this many episodes (default: 2000)")
    p.add_argument("--max-steps", type=int, default=None, help="also stop after this many environment steps")
    p.add_argument(
        "--settings",
        metavar="JSON",
        default=None,
        help="agent settings to change, as a JSON object of fields of its settings class (e.g. "
        "'{\"lr_shift\": 30}' for the fixed eprop-ac; default: the defaults)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the result object to PATH")
    p.add_argument("--report", metavar="DIR", default=None, help="report folder (default: reports/rl-<agent>-...)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    if args.seed < 0:
        raise ValueError(f"--seed: {args.seed!r} is outside the allowed range 0..")
    if args.episodes < 1:
        raise ValueError(f"--episodes: {args.episodes!r} is outside the allowed range 1..")
    if args.max_steps is not None and args.max_steps < 1:
        raise ValueError(f"--max-steps: {args.max_steps!r} is outside the allowed range 1..")
    if args.backend == "rtl" and args.numerics != "fixed":
        raise ValueError("--backend rtl: the RTL computes in fixed point; use --numerics fixed")
    if (args.agent, args.numerics, args.backend) not in IMPLEMENTED:
        done = ", ".join(f"{a} {n} {b}" for a, n, b in sorted(IMPLEMENTED))
        raise ValueError(
            f"--agent {args.agent} --numerics {args.numerics} --backend {args.backend}: not implemented yet "
            f"(implemented: {done})"
        )


def _agent(args: argparse.Namespace):
    """(trainer, settings class) of the agent and numerics asked for."""
    from plasticore.training import rl, rl_chip, rl_chip_eprop, rl_eprop

    return {
        ("lsm-q", "float"): (rl.run_lsm_q, rl.LsmQSettings),
        ("lsm-q", "fixed"): (rl_chip.run_chip_lsm_q, rl_chip.ChipLsmQSettings),
        ("eprop-ac", "float"): (rl_eprop.run_eprop_ac, rl_eprop.EpropACSettings),
        ("eprop-ac", "fixed"): (rl_chip_eprop.run_chip_eprop_ac, rl_chip_eprop.ChipEpropACSettings),
    }[(args.agent, args.numerics)]


def _settings(args: argparse.Namespace):
    """The agent's settings object with the fields of ``--settings`` changed (None: defaults)."""
    if args.settings is None:
        return None
    cls = _agent(args)[1]
    try:
        changes = json.loads(args.settings)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--settings: not JSON ({exc})") from None
    if not isinstance(changes, dict):
        raise ValueError(f"--settings: {args.settings!r} is not a JSON object")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(
            f"--settings: unknown field(s) {', '.join(unknown)} of {cls.__name__}; known: {', '.join(sorted(known))}"
        )
    return dataclasses.replace(cls(), **changes)


def run(args: argparse.Namespace) -> int:
    _check(args)
    settings = _settings(args)
    from plasticore.progress import progress_bar
    from plasticore.rl_report import write_rl_report
    from plasticore.tasks.cartpole import CARTPOLE_VERSIONS

    def progress(it, desc, total):
        return it if args.quiet else progress_bar(desc, total, unit="step")(it)

    start = time.perf_counter()
    trainer, settings_class = _agent(args)
    with _chip_factory(args, settings or settings_class()) as chip_factory:
        result = trainer(
            args.seed,
            args.version,
            max_steps=args.max_steps,
            episodes=args.episodes,
            settings=settings,
            progress=progress,
            **chip_factory,
        )
    obj = {
        "env": args.env,
        "version": args.version,
        "agent": args.agent,
        "numerics": args.numerics,
        "backend": args.backend,
        "seed": args.seed,
        "settings": json.loads(args.settings) if args.settings else {},
        "episodes": len(result.returns),
        "steps": result.steps,
        "solved_at": result.solved_at,
        "best_mean100": result.best_mean100,
        "returns": result.returns,
        "seconds": round(time.perf_counter() - start, 3),
    }
    folder = Path(args.report or f"reports/rl-{args.env}-{args.version}-{args.agent}-{args.numerics}-seed{args.seed}")
    command = "plasticore " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["rl"] else "plasticore rl ..."
    md = write_rl_report(folder, obj, CARTPOLE_VERSIONS[args.version].solved_mean, command)
    text = json.dumps(obj)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(obj, indent=2) + "\n")
    print(f"report: {md}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _chip_factory(args: argparse.Namespace, settings):
    """The trainer's ``chip_factory`` argument: none on golden (its default), the RTL in
    Verilator through the simulated transport for ``--backend rtl``."""
    if args.backend != "rtl":
        yield {}
        return
    from plasticore.host import Host
    from plasticore.rl_host import HostChip
    from plasticore.training.rl_chip import chip_liquid_config
    from plasticore.training.rl_chip_eprop import chip_eprop_config

    config = chip_liquid_config if args.agent == "lsm-q" else chip_eprop_config
    if not args.quiet:
        print("building the RTL model (Verilator, cached after once) ...", file=sys.stderr)
    with Host.simulated(config(settings, seed=args.seed)) as host:
        yield {"chip_factory": HostChip.factory(host)}
