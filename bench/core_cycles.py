"""RTL cycles per tick against input activity, network size and lane count P.

    python -m plasticore.bench.core_cycles [--ticks N]

The counts come from ``plasticore.contract.cycles.tick_cycles``, the model that co-simulation checks against
the RTL's own cycle counter on every tick of every equivalence run (tests/test_cosim.py,
tests/test_core.py), driven by golden runs of real networks. The issue-5 budget per tick is

    sum over spiking presynaptic rows of ceil(n_post / P) + ceil(n_rec / P) + 64

(integration rows have n_post = n_rec, readout rows n_post = n_out); the table shows the
worst tick's margin against it for inference (no valid target, so e = 0 and the feedback
engine has nothing to do), and the cost when a valid target every tick makes the feedback
engine accumulate B.e (n_out rows of ceil(n_rec/P) words, in parallel with integration).
"""

from __future__ import annotations

import argparse

import numpy as np

from plasticore.activity import activity
from plasticore.contract.geometry import Geometry
from plasticore.golden import preset


def budget(cfg, x, z_prev, z_new) -> int:
    g = Geometry(cfg)
    rows = int(x.sum() + z_prev.sum())
    return rows * g.words_rec + int(z_new.sum()) * g.words_out + g.words_rec + 64


def measure(cfg, rate: float, ticks: int, supervised: bool, seed: int = 1):
    cycles, margins, spikes = [], [], []
    for t in activity(cfg, rate, ticks, seed, supervised=supervised, learning=False):
        c = t.cycles.total
        cycles.append(c)
        margins.append(budget(cfg, t.x, t.z_prev, t.z_new) - c)
        spikes.append(int(t.x.sum() + t.z_prev.sum()))
    return np.mean(cycles), np.max(cycles), np.min(margins), np.mean(spikes)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ticks", type=int, default=300)
    args = p.parse_args(argv)
    print(
        "| config | P | input rate | spiking rows/tick | inference: cycles/tick mean | max | worst margin "
        "to budget | supervised (B.e every tick): mean | max |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    reckon = preset("reckon")
    rows = [(reckon, P, r) for P in (8,) for r in (0.0, 0.01, 0.05, 0.2)]
    rows += [(reckon.replace(lanes=P), P, 0.05) for P in (1, 2, 4, 16, 32)]
    rows += [(preset("small"), 4, r) for r in (0.05, 0.2)]
    rows += [(reckon.replace(n_rec=n, n_in=n, name=f"n{n}"), 8, 0.05) for n in (64, 128, 512)]
    for cfg, P, rate in rows:
        cfg = cfg.replace(lanes=P)
        mean, mx, margin, spk = measure(cfg, rate, args.ticks, supervised=False)
        s_mean, s_mx, _, _ = measure(cfg, rate, args.ticks, supervised=True)
        print(
            f"| {cfg.name} ({cfg.n_in}x{cfg.n_rec}x{cfg.n_out}) | {P} | {rate:g} | {spk:.1f} | "
            f"{mean:.1f} | {mx} | {margin:+d} | {s_mean:.1f} | {s_mx} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
