"""The report folder of ``plasticore compare``: a Markdown summary and PNG plots.

* ``learning_curves.png``: held-out metric before training and after every epoch, and the
  running training score (the readout while learning), for float, fixed and RTL;
* ``raster.png``: input and recurrent spikes of one held-out sample on the RTL, with its readout;
* ``weights.png``: weight histograms before and after training (fixed, RTL, float);
* ``readout.png``: the readout traces of one held-out sample for float, fixed and RTL;
* ``report.md`` (embeds the plots), ``result.json`` (what ``--json`` writes) and
  ``weights.npz`` (``before_w_in``, ``fixed_w_in``, ``rtl_w_in``, ``float_w_in``, ... for w_in,
  w_rec, w_out, b_fb).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from plasticore.training.train import TaskSpec, predict

from .compare import (
    COMPARE_SPECS,
    DEFAULT_RULES,
    Comparison,
    Progress,
    compare_task,
    data_default_rule,
    format_table,
    load_compare_task,
    load_data_compare_task,
)

__all__ = ["write_report", "compare_and_report", "PLOTS"]

PLOTS = ("learning_curves.png", "raster.png", "weights.png", "readout.png")
#: one colour and line style per way; RTL is drawn dashed over fixed so that equal curves show both
STYLE = {
    "float": dict(color="tab:blue", ls="-", marker="o"),
    "fixed": dict(color="tab:orange", ls="-", marker="s", lw=3, alpha=0.6),
    "rtl": dict(color="black", ls="--", marker="x"),
}
LABEL = {"float": "golden float", "fixed": "golden fixed point", "rtl": "RTL (simulated chip)"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _sample_scores(cmp: Comparison, train_y: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per training sample, in the order learned: correct (1/0) or squared error / variance."""
    split = cmp.task.train
    valid = split.valid[order]
    if cmp.task.metric == "accuracy":
        return (predict(train_y, valid) == split.labels[order]).astype(float)
    target = split.target[order]
    err = ((train_y / cmp.spec.target_scale - target) ** 2 * valid[:, :, None]).sum(axis=(1, 2))
    n = valid.sum(axis=1) * target.shape[2]
    return err / np.maximum(n, 1) / max(split.target[split.valid].var(), 1e-12)


def _running(v: np.ndarray, window: int) -> np.ndarray:
    window = max(1, min(window, len(v)))
    c = np.cumsum(np.insert(v, 0, 0.0))
    return (c[window:] - c[:-window]) / window


def plot_learning_curves(cmp: Comparison, path: Path) -> None:
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for name, w in cmp.ways.items():
        a.plot(range(len(w.curve)), w.curve, label=LABEL[name], **STYLE[name])
        per = np.concatenate([_sample_scores(cmp, w.train_y[ep], order) for ep, order in enumerate(cmp.orders)])
        win = min(max(10, len(cmp.task.train) // 5), len(per))  # fewer than 10 samples: all of them
        style = {k: v for k, v in STYLE[name].items() if k != "marker"}
        b.plot(np.arange(win, len(per) + 1), _running(per, win), label=LABEL[name], **style)
    a.set_xlabel("epoch (0: before training)")
    a.set_ylabel(f"held-out {cmp.task.metric}")
    a.set_title(f"{cmp.task.name}: held-out {cmp.task.metric}")
    a.set_xticks(range(cmp.epochs + 1))
    b.set_xlabel("training samples seen")
    b.set_ylabel(f"training {cmp.task.metric} (running mean)")
    b.set_title("while learning (readout of each training sample)")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_raster(cmp: Comparison, path: Path, sample: int = 0) -> None:
    plt = _pyplot()
    rtl = cmp.ways["rtl"]
    x = cmp.task.test.x[sample]
    z = rtl.heldout_z[sample]
    y = rtl.heldout_y[sample]
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True, gridspec_kw=dict(height_ratios=[2, 2, 1.3]))
    for ax, spikes, title in ((axes[0], x, "input spikes"), (axes[1], z, "recurrent spikes (RTL)")):
        t, n = np.nonzero(spikes)
        ax.scatter(t, n, s=6, marker="|", color="black")
        ax.set_ylabel("neuron")
        ax.set_title(f"{title}: {spikes.sum()} in {spikes.shape[0]} ticks")
    for k in range(y.shape[1]):
        axes[2].plot(y[:, k], lw=1)
    valid = cmp.task.test.valid[sample]
    if valid.any():
        axes[2].axvspan(
            np.argmax(valid), len(valid) - np.argmax(valid[::-1]) - 1, color="grey", alpha=0.15, label="scored ticks"
        )
        axes[2].legend(loc="upper left")
    axes[2].set_ylabel("readout Y (LSB)")
    axes[2].set_xlabel("tick")
    label = "" if cmp.task.test.labels is None else f", label {cmp.task.test.labels[sample]}"
    fig.suptitle(f"{cmp.task.name}: held-out sample {sample}{label}, after training")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_weights(cmp: Comparison, path: Path) -> None:
    plt = _pyplot()
    names = ("w_in", "w_rec", "w_out")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, name in zip(axes, names, strict=True):
        bits = cmp.cfg.weight_bits[name]
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        bins = np.linspace(lo - 0.5, hi + 0.5, min(hi - lo + 2, 65))
        before = np.asarray(getattr(cmp.ways["fixed"].weights_before, name)).ravel()
        ax.hist(before, bins=bins, color="lightgrey", label="before")
        for way in ("float", "fixed", "rtl"):
            after = np.asarray(getattr(cmp.ways[way].weights_after, name), dtype=float).ravel()
            style = STYLE[way]
            ax.hist(
                after,
                bins=bins,
                histtype="step",
                color=style["color"],
                ls=style["ls"],
                lw=style.get("lw", 1.5),
                label=f"after, {LABEL[way]}",
            )
        ax.set_yscale("log")
        ax.set_title(f"{name} ({before.size} weights, {bits}-bit)")
        ax.set_xlabel("weight (LSB)")
    axes[0].set_ylabel("count")
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_readout(cmp: Comparison, path: Path, sample: int = 0) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    labels = cmp.task.test.labels
    target = cmp.task.test.target[sample] * cmp.spec.target_scale
    for ax, (name, w) in zip(axes, cmp.ways.items(), strict=True):
        y = w.heldout_y[sample]
        for k in range(y.shape[1]):
            strong = labels is not None and k == labels[sample]
            ax.plot(
                y[:, k],
                lw=2.2 if strong else 0.8,
                color="tab:red" if strong else None,
                label=f"output {k} (the label)" if strong else None,
            )
        if labels is None:
            ax.plot(target, color="black", ls=":", label="target")
        ax.set_title(LABEL[name])
        ax.set_xlabel("tick")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("readout Y (LSB)")
    fig.suptitle(f"{cmp.task.name}: readout of held-out sample {sample} after training")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(cmp: Comparison, folder: Path, command: str, result: dict[str, Any]) -> Path:
    """Write plots, ``result.json`` and ``report.md`` into ``folder``; returns report.md."""
    folder.mkdir(parents=True, exist_ok=True)
    plot_learning_curves(cmp, folder / "learning_curves.png")
    plot_raster(cmp, folder / "raster.png")
    plot_weights(cmp, folder / "weights.png")
    plot_readout(cmp, folder / "readout.png")
    np.savez_compressed(
        folder / "weights.npz",
        **{
            f"{prefix}_{name}": np.asarray(getattr(w, name))
            for prefix, w in (
                ("before", cmp.ways["fixed"].weights_before),
                *((k, v.weights_after) for k, v in cmp.ways.items()),
            )
            for name in ("w_in", "w_rec", "w_out", "b_fb")
        },
    )
    (folder / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    rtl = cmp.ways["rtl"]
    checks = "\n".join(f"| {k} | {'identical' if v else '**differ**'} |" for k, v in cmp.equality.items())
    cyc = rtl.cycles_per_tick or {}
    md = f"""# plasticore compare: {cmp.task.name}

`{command}`

{cmp.task.description}

Network: {cmp.cfg.describe()}; rule `{cmp.rule}`; seed {cmp.seed}; {len(cmp.task.train)} training
samples x {cmp.epochs} epochs, {len(cmp.task.test)} held-out samples of {cmp.task.test.ticks} ticks.
Float and fixed point run in the golden model; the RTL runs in Verilator behind the host
driver (the protocol bytes a board would receive), trained sample by sample.

```
{format_table(cmp)}
```

**RTL == golden fixed point: {"yes, bit for bit" if cmp.rtl_equals_fixed else "NO"}.**

| compared between RTL and golden fixed point | result |
|---|---|
{checks}

RTL core cycles per tick: {cyc.get("learn", 0):.0f} mean / {cyc.get("learn_max", 0)} max while learning,
{cyc.get("infer", 0):.0f} mean / {cyc.get("infer_max", 0)} max on held-out samples (learning off).
Simulator build: {cmp.build_seconds:.1f} s (cached after the first build).

## Learning curves
![learning curves](learning_curves.png)

## Readout of a held-out sample
![readout](readout.png)

## Spikes (RTL, held-out sample)
![raster](raster.png)

## Weights before and after training
![weights](weights.png)
"""
    path = folder / "report.md"
    path.write_text(md)
    return path


def compare_and_report(
    name: str,
    seed: int,
    folder: Path,
    command: str,
    rule: str | None = None,
    cfg=None,
    epochs: int | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    progress: Progress | None = None,
    data: str | Path | None = None,
    spec: TaskSpec | None = None,
    wiring: dict[str, Any] | None = None,
) -> tuple[Comparison, Path, dict[str, Any]]:
    """The task ``name`` with its COMPARE_SPECS network (or ``cfg``), trained three ways, and its
    report written into ``folder``: what ``plasticore compare`` and ``plasticore demo`` run.
    ``data``: a user's ``.npz`` data set instead of the task ``name`` (:func:`load_data_compare_task`);
    ``spec``: the task's network and schedule instead of its COMPARE_SPECS one (the demo's);
    ``wiring``: the synapse table's fields (``connectivity``, ``rewire``) for the network.
    Returns the comparison, report.md and the result object (the ``--json`` contract)."""
    if data is not None:
        task, spec = load_data_compare_task(data, seed, cfg, n_train, n_test)
        rule = rule or data_default_rule(task)
    else:
        spec = spec or COMPARE_SPECS[name]
        task = load_compare_task(name, seed, spec, n_train, n_test)
        rule = rule or DEFAULT_RULES[name]
    cmp = compare_task(task, spec, rule, seed, cfg=cfg, epochs=epochs, progress=progress, wiring=wiring)
    result = cmp.as_json(str(folder))
    return cmp, write_report(cmp, folder, command, result), result
