"""Accuracy against connectivity with DEEP R rewiring: the plot and table of docs/results.md.

    python -m plasticore.experiments.deep_r_study --results out/deep_r --plot docs/img/deep_r_connectivity.png

Reads the JSON results that ``plasticore train --json`` wrote into ``--results`` (any file
name; a run is identified by its ``task``, ``rule``, ``numerics``, ``connectivity`` and
``rewire`` keys), prints a markdown table of every run (held-out value, active synapses,
re-targeted slots, seconds) and plots held-out accuracy against connectivity: one line per task,
rule and numerics with rewiring (dense as connectivity 1.0), fixed random wiring as separate
markers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["load_runs", "table", "plot", "main"]


def load_runs(folder: Path) -> list[dict]:
    """Every ``plasticore train`` result in ``folder`` (JSON objects with a ``connectivity`` key)."""
    runs = []
    for path in sorted(folder.glob("*.json")):
        obj = json.loads(path.read_text())
        if isinstance(obj, dict) and "connectivity" in obj:
            runs.append(obj)
    return runs


def _key(run: dict) -> tuple:
    return (run["task"], run["rule"], run["numerics"], -run["connectivity"], run["rewire"])


def table(runs: list[dict]) -> str:
    """The markdown table of docs/results.md."""
    lines = [
        "| task | rule | numerics | connectivity | wiring | held-out | curve | synapses | re-targeted | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=_key):
        dense = r["connectivity"] == 1.0 and not r["rewire"]
        wiring = "dense" if dense else ("DEEP R" if r["rewire"] else "fixed random")
        curve = " ".join(f"{v:.3f}" for v in r["curve"])
        lines.append(
            f"| {r['task']} | {r['rule']} | {r['numerics']} | {r['connectivity']:g} | {wiring} | "
            f"**{r['value']:.3f}** | {curve} | {r['active_synapses']:,} | {r['rewired']:,} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def plot(runs: list[dict], path: Path) -> None:
    """Held-out value against connectivity (log axis), one line per task, rule and numerics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    groups = sorted({(r["task"], r["rule"], r["numerics"]) for r in runs})
    for n, group in enumerate(groups):
        color = f"C{n}"
        mine = [r for r in runs if (r["task"], r["rule"], r["numerics"]) == group]
        line = sorted((r for r in mine if r["rewire"] or r["connectivity"] == 1.0), key=lambda r: r["connectivity"])
        label = f"{group[0]} {group[1]} {group[2]}"
        if line:
            ax.plot([r["connectivity"] for r in line], [r["value"] for r in line], "o-", color=color, label=label)
        fixed = [r for r in mine if not r["rewire"] and r["connectivity"] < 1.0]
        if fixed:
            ax.plot(
                [r["connectivity"] for r in fixed],
                [r["value"] for r in fixed],
                "x",
                color=color,
                markersize=9,
                label=f"{label}, fixed random wiring",
            )
    ax.set_xscale("log")
    ax.set_xticks([0.05, 0.1, 0.2, 0.5, 1.0], ["5 %", "10 %", "20 %", "50 %", "dense"])
    ax.set_xlabel("connectivity (fraction of input and recurrent synapses)")
    ax.set_ylabel(f"held-out {runs[0]['metric'] if runs else 'value'}")
    ax.set_title("DEEP R on the chip's sparse synapse table (seed 1)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, required=True, help="folder of `plasticore train --json` results")
    p.add_argument("--plot", type=Path, default=None, help="write the plot here (PNG)")
    args = p.parse_args(argv)
    runs = load_runs(args.results)
    if not runs:
        print(f"deep_r_study: no training results in {args.results}", file=sys.stderr)
        return 2
    print(table(runs))
    if args.plot:
        plot(runs, args.plot)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
