"""The report folder of ``plasticore rl``: the return curve as a PNG and the result as JSON.

* ``returns.png``: every episode's return and the mean of the last 100 episodes, with the
  environment's "solved" bar;
* ``result.json``: the object ``--json`` writes;
* ``report.md``: the command's settings and figures, embedding the plot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_returns", "write_rl_report"]


def plot_returns(path: Path, returns: list[float], solved_mean: float, title: str) -> None:
    """Episode returns and their 100-episode moving mean, the solved bar dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    episodes = np.arange(1, len(returns) + 1)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(episodes, returns, lw=0.6, color="tab:blue", alpha=0.5, label="episode return")
    if len(returns) >= 100:
        mean = np.convolve(returns, np.ones(100) / 100, mode="valid")
        ax.plot(episodes[99:], mean, lw=1.8, color="tab:orange", label="mean of last 100 episodes")
    ax.axhline(solved_mean, color="k", ls="--", lw=0.8, label=f"solved ({solved_mean:g})")
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_rl_report(folder: Path, result: dict[str, Any], solved_mean: float, command: str) -> Path:
    """Write the report folder; returns the path of ``report.md``."""
    folder.mkdir(parents=True, exist_ok=True)
    r = result
    title = f"{r['env']} {r['version']}, {r['agent']} ({r['numerics']}, {r['backend']}), seed {r['seed']}"
    plot_returns(folder / "returns.png", result["returns"], solved_mean, title)
    (folder / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    best = result["best_mean100"]
    lines = [
        f"# {title}",
        "",
        f"`{command}`",
        "",
        f"- episodes: {result['episodes']}, environment steps: {result['steps']}",
        f"- best 100-episode mean: {'n/a (fewer than 100 episodes)' if best is None else f'{best:.1f}'}",
        f"- solved at episode: {result['solved_at']} (bar: mean >= {solved_mean:g} over 100 episodes)",
        f"- wall time: {result['seconds']:.0f} s",
        "",
        "![episode returns and their 100-episode mean](returns.png)",
        "",
    ]
    md = folder / "report.md"
    md.write_text("\n".join(lines))
    return md
