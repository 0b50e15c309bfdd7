"""The report folder of ``plasticore l2l``: error against example index, and one episode.

* ``mse.png``: the inner loop's mean squared error on each example of an episode (weights
  frozen), with the mean predictor's error as a line;
* ``episode.png``: one held-out episode, the prediction against the target tick by tick;
* ``result.json``: the object ``--json`` writes;
* ``report.md``: the command's settings and figures, embedding the plots.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_l2l_report"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_mse(path: Path, mse: list[float], mean_predictor: float, title: str) -> None:
    """MSE against the example index, the mean predictor dashed."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(np.arange(1, len(mse) + 1), mse, "o-", lw=1.5, ms=4, label="network, weights frozen")
    ax.axhline(mean_predictor, color="k", ls="--", lw=0.8, label="mean predictor (each task's mean)")
    ax.set_xlabel("example within the episode")
    ax.set_ylabel("mean squared error")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_episode(path: Path, prediction: np.ndarray, target: np.ndarray, valid: np.ndarray, title: str) -> None:
    """One episode: the prediction on every tick, the target on the answer ticks."""
    plt = _pyplot()
    ticks = np.arange(len(prediction))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(ticks, prediction, lw=1.0, color="tab:blue", label="prediction")
    ax.plot(ticks, np.where(valid, target, np.nan), lw=2.0, color="tab:orange", label="target (answer ticks)")
    ax.set_xlabel("tick")
    ax.set_ylabel("value")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_l2l_report(folder: Path, result: dict[str, Any], episode: dict[str, np.ndarray], command: str) -> Path:
    """Write the report folder (``episode``: ``prediction``, ``target``, ``valid`` of one
    episode); returns the path of ``report.md``."""
    folder.mkdir(parents=True, exist_ok=True)
    r = result
    network = f" {r['config']}" if "config" in r else ""
    title = f"L2L {r['family']},{network} {r['neurons']} ({r['numerics']}, {r['backend']}), seed {r['seed']}"
    plot_mse(folder / "mse.png", r["mse_by_example"], r["mse_mean_predictor"], title)
    plot_episode(folder / "episode.png", episode["prediction"], episode["target"], episode["valid"], title)
    (folder / "result.json").write_text(json.dumps(r, indent=2) + "\n")
    mse = r["mse_by_example"]
    lines = [
        f"# {title}",
        "",
        f"`{command}`",
        "",
        f"- held-out episodes: {r['episodes']} (new tasks), {len(mse)} examples each",
        f"- MSE on the first example {mse[0]:.3f}, on the last {mse[-1]:.3f}, "
        f"mean of the last half {float(np.mean(mse[len(mse) // 2 :])):.3f}",
        f"- mean predictor (each task's own mean): {r['mse_mean_predictor']:.3f}",
    ]
    if "equal_to_golden" in r:
        lines.append(f"- chip against golden fixed point: {r['equal_to_golden']}")
        lines.append(f"- weights unchanged: {r['weights_unchanged']}")
    lines += [
        f"- wall time: {r['seconds']:.0f} s",
        "",
        "![MSE against the example index](mse.png)",
        "",
        "![one held-out episode](episode.png)",
        "",
    ]
    md = folder / "report.md"
    md.write_text("\n".join(lines))
    return md
