"""Run a network in the golden model and summarize its spiking, for people and for JSON."""

from __future__ import annotations

import time

import numpy as np

from plasticore.golden import Config, init_weights, poisson_inputs, run
from plasticore.golden.synapses import wired

from .progress import progress_bar

__all__ = ["run_summary", "run_on_chip", "format_summary", "raster_text"]


def run_summary(
    cfg: Config, ticks: int, rate: float = 0.05, numerics: str = "fixed", batch: int = 1, progress: bool = True
) -> dict:
    """Run ``ticks`` of Poisson input through a randomly initialized network and summarize."""
    if ticks < 1:
        raise ValueError(f"ticks: {ticks!r} is outside the allowed range 1..")
    if batch < 1:
        raise ValueError(f"batch: {batch!r} is outside the allowed range 1..")
    weights = wired(cfg, init_weights(cfg))  # a sparse config's Win/Wrec as its synapse table
    x = poisson_inputs(cfg, ticks, rate, batch=batch)
    start = time.perf_counter()
    rec = run(cfg, weights, x, numerics, progress=progress_bar(f"run {cfg.name}", ticks) if progress else None)
    seconds = time.perf_counter() - start

    z = rec.z  # (ticks, batch, n_rec)
    per_neuron = z.sum(axis=(0, 1)) / (ticks * batch)
    alif = np.asarray(cfg.alif_mask)
    top = np.argsort(-per_neuron, kind="stable")[:5]
    summary = {
        "config": cfg.name,
        "description": cfg.describe(),
        "numerics": numerics,
        "ticks": ticks,
        "batch": batch,
        "input_rate": rate,
        "input_spikes": int(x.sum()),
        "spikes": int(z.sum()),
        "spikes_per_tick": float(z.sum() / (ticks * batch)),
        "rate_per_neuron": float(per_neuron.mean()),
        "rate_lif": float(per_neuron[~alif].mean()) if (~alif).any() else None,
        "rate_alif": float(per_neuron[alif].mean()) if alif.any() else None,
        "silent_neurons": int((per_neuron == 0).sum()),
        "most_active": [{"neuron": int(j), "rate": float(per_neuron[j])} for j in top],
        "readout_range": [float(rec.y.min()), float(rec.y.max())],
        "membrane_range": [float(rec.u.min()), float(rec.u.max())],
        "seconds": seconds,
        "ticks_per_s": ticks * batch / seconds if seconds > 0 else None,
        "raster": raster_text(z[:, 0, :]),
    }
    return summary


def run_on_chip(
    cfg: Config,
    port: str,
    ticks: int,
    rate: float = 0.05,
    baud: int = 1_000_000,
    timeout: float = 10.0,
    progress: bool = True,
) -> dict:
    """Run :func:`run_summary`'s network and input (batch 1) on the chip at serial ``port`` (a
    board, or ``plasticore serve-sim``'s virtual board) and check it against golden fixed point:
    every tick's spikes and readout must be equal."""
    from .host import Host

    weights = wired(cfg, init_weights(cfg))
    x = poisson_inputs(cfg, ticks, rate)[:, 0, :]
    golden = run(cfg, weights, x[:, None, :], "fixed")
    with Host.serial(cfg, port, baud=baud, timeout=timeout) as chip:
        windows = -(-ticks // chip.window)
        bar = progress_bar(f"run {cfg.name} on {port}", windows, unit="window") if progress else None
        start = time.perf_counter()
        chip.load_weights(weights)
        chip.reset_state()
        out = chip.run_sequence(x, progress=bar)
        seconds = time.perf_counter() - start
        link = dict(chip.link.stats)
    return {
        "port": port,
        "spikes_equal": bool(np.array_equal(out.z, golden.z[:, 0, :])),
        "readout_equal": bool(np.array_equal(out.y, golden.y[:, 0, :])),
        "spikes": int(out.z.sum()),
        "cycles_per_tick": float(out.cycles.mean()),
        "seconds": seconds,
        "ticks_per_s": ticks / seconds if seconds > 0 else None,
        "link": link,
    }


def raster_text(z: np.ndarray, max_neurons: int = 16, max_ticks: int = 80) -> list[str]:
    """A text raster of the first neurons (rows) over the first ticks (columns)."""
    z = z[:max_ticks, :max_neurons]
    return ["".join("|" if s else "." for s in z[:, j]) for j in range(z.shape[1])]


def format_summary(s: dict, raster: bool = True) -> str:
    lines = [
        f"{s['description']}",
        f"numerics {s['numerics']}, {s['ticks']} ticks x batch {s['batch']}, "
        f"input rate {s['input_rate']:g} ({s['input_spikes']} input spikes)",
        f"spikes: {s['spikes']} total, {s['spikes_per_tick']:.2f} per tick, "
        f"{s['rate_per_neuron']:.4f} per neuron per tick",
    ]
    if s["rate_alif"] is not None and s["rate_lif"] is not None:
        lines.append(f"  LIF rate {s['rate_lif']:.4f}, ALIF rate {s['rate_alif']:.4f} per tick")
    lines.append(
        f"  silent neurons: {s['silent_neurons']}; most active: "
        + ", ".join(f"#{m['neuron']} ({m['rate']:.3f})" for m in s["most_active"])
    )
    lines.append(
        f"membrane range {s['membrane_range'][0]:g}..{s['membrane_range'][1]:g}, "
        f"readout range {s['readout_range'][0]:g}..{s['readout_range'][1]:g}"
    )
    if s["ticks_per_s"]:
        lines.append(f"golden speed: {s['ticks_per_s']:.0f} ticks/s ({s['seconds']:.3f} s)")
    chip = s.get("chip")
    if chip:
        same = chip["spikes_equal"] and chip["readout_equal"]
        lines.append(
            f"chip on {chip['port']}: {chip['spikes']} spikes; spikes and readout "
            + ("equal golden fixed point bit for bit" if same else "DIFFER from golden fixed point")
        )
        lines.append(
            f"  {chip['ticks_per_s']:.1f} ticks/s through the link (weights loaded first), "
            f"{chip['cycles_per_tick']:.0f} core cycles per tick, "
            f"{chip['link']['bytes_out'] + chip['link']['bytes_in']:,} bytes"
        )
    if raster and s["raster"]:
        width = len(s["raster"][0])
        lines.append(f"raster (first {len(s['raster'])} neurons x first {width} ticks, | = spike):")
        lines.extend(f"  {j:3d} {row}" for j, row in enumerate(s["raster"]))
    return "\n".join(lines)
