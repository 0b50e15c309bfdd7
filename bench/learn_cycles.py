"""RTL learning cycles per tick against activity and P, with the issue-6 budget.

    python -m plasticore.bench.learn_cycles [--ticks N]

Counts from ``plasticore.contract.cycles.tick_cycles`` (checked against the RTL's counter on every tick of the
learning co-simulations), driven by golden fixed-point learning runs with a valid target on
every tick. Issue-6 budget for the learning phases of one tick:

    sum over rows with a nonzero presynaptic factor of ceil(n_post / P)
      + ceil(n_out * n_rec / P) + 64

(rows: inputs and recurrent neurons, n_post = n_rec). The updater sustains one weight word
per cycle (read in stage 0, written back in stage 1 of the next cycle). With K learning banks
(``weight_banks``) K updaters run side by side, so LEARN_W approaches 1/K of that. A pipelined
core (``pipelined``, column "pipe") spends one cycle more per pass and learning phase.
"""

from __future__ import annotations

import argparse

import numpy as np

from plasticore.activity import activity
from plasticore.contract.geometry import Geometry, ceil_div
from plasticore.golden import preset


def measure(cfg, rate: float, ticks: int, seed: int = 1):
    g = Geometry(cfg)
    learn_c, total_c, margins, rows_seen = [], [], [], []
    for t in activity(cfg, rate, ticks, seed):
        rows = int(t.learn_rows.sum())
        budget = rows * g.words_pre + ceil_div(cfg.n_out * cfg.n_rec, cfg.lanes) + 64
        learn_c.append(t.cycles.learn)
        total_c.append(t.cycles.total)
        margins.append(budget - t.cycles.learn)
        rows_seen.append(rows)
    return np.mean(rows_seen), np.mean(learn_c), np.max(learn_c), np.min(margins), np.mean(total_c)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ticks", type=int, default=200)
    args = p.parse_args(argv)
    print(
        "| config | rule | P | K | pipe | input rate | rows with e-bar != 0 | learning cycles/tick mean | max | "
        "worst margin to budget | whole tick mean |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    reckon = preset("reckon")
    cases = [
        (reckon.replace(rule=r, pseudo_derivative=pd), rate)
        for r, pd in (("eprop_random", "piecewise_linear"), ("erbp", "boxcar"))
        for rate in (0.01, 0.05, 0.2)
    ]
    cases += [
        (reckon.replace(rule="eprop_random", pseudo_derivative="piecewise_linear", lanes=P), 0.05) for P in (4, 16, 32)
    ]
    cases += [
        (reckon.replace(rule="eprop_random", pseudo_derivative="piecewise_linear", lanes=P, weight_banks=K), 0.05)
        for P, K in ((8, 2), (8, 4), (8, 8), (8, 16), (16, 4), (16, 8))
    ]
    cases += [
        (
            reckon.replace(rule="eprop_random", pseudo_derivative="piecewise_linear", weight_banks=4, pipelined=True),
            0.05,
        )
    ]
    # the sparse synapse table (issue 22): reckon-sparse, 8 of 32 slot words per row, rewiring
    sparse = preset("reckon-sparse")
    cases += [(sparse, 0.05), (sparse.replace(rewire=False), 0.05)]
    cases += [(sparse.replace(weight_banks=K, pipelined=True), 0.05) for K in (4, 8)]
    cases += [(preset("small"), 0.1)]
    for cfg, rate in cases:
        rows, mean, mx, margin, total = measure(cfg, rate, args.ticks)
        name = cfg.name + (" (no rewire)" if (cfg.synapse_table and not cfg.rewire) else "")
        print(
            f"| {name} | {cfg.rule} | {cfg.lanes} | {cfg.weight_banks} | {'yes' if cfg.pipelined else 'no'} "
            f"| {rate:g} | {rows:.1f} | {mean:.1f} | {mx} | "
            f"{margin:+d} | {total:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
