"""RTL learning cycles per tick against activity and P, with the issue-6 budget.

    python -m bench.learn_cycles [--ticks N]

Counts from ``hdl.cycles.tick_cycles`` (checked against the RTL's counter on every tick of the
learning co-simulations), driven by golden fixed-point learning runs with a valid target on
every tick. Issue-6 budget for the learning phases of one tick:

    sum over rows with a nonzero presynaptic factor of ceil(n_post / P)
      + ceil(n_out * n_rec / P) + 64

(rows: inputs and recurrent neurons, n_post = n_rec). The updater sustains one weight word
per cycle (read in stage 0, written back in stage 1 of the next cycle).
"""

from __future__ import annotations

import argparse

import numpy as np

from golden import FixedNumerics, init_state, init_weights, preset, tick
from golden.learning import init_learning, learn, presynaptic_factors, update_traces
from hdl.cycles import tick_cycles
from hdl.geometry import Geometry, ceil_div


def measure(cfg, rate: float, ticks: int, seed: int = 1):
    fx = FixedNumerics()
    g = Geometry(cfg)
    w = init_weights(cfg, seed=seed)
    rng = np.random.default_rng(seed)
    s, ls = init_state(cfg, fx, 1), init_learning(cfg, fx, 1)
    learn_c, total_c, margins, rows_seen = [], [], [], []
    for _ in range(ticks):
        x = (rng.random(cfg.n_in) < rate).astype(np.int64)
        target = rng.integers(-1000, 1000, size=cfg.n_out)
        prev = s
        s, out = tick(cfg, fx, w, s, x[None], target[None], np.array([True]))
        new_tr = update_traces(cfg, fx, ls.traces, x[None], s.z)
        e_in, e_rec = presynaptic_factors(cfg, ls.traces, new_tr, x[None], prev.z)
        rows = np.concatenate([e_in[0], e_rec[0]]) != 0
        out_rows = new_tr.z_bar[0] != 0
        w, ls, _ = learn(cfg, fx, w, prev, s, out, x[None], np.array([True]), ls)
        b = tick_cycles(cfg, x, prev.z[0], prev.e[0], out.z[0], rows, out_rows)
        budget = int(rows.sum()) * g.words_rec + ceil_div(cfg.n_out * cfg.n_rec, cfg.lanes) + 64
        learn_c.append(b.learn)
        total_c.append(b.total)
        margins.append(budget - b.learn)
        rows_seen.append(int(rows.sum()))
    return np.mean(rows_seen), np.mean(learn_c), np.max(learn_c), np.min(margins), np.mean(total_c)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ticks", type=int, default=200)
    args = p.parse_args(argv)
    print("| config | rule | P | input rate | rows with e-bar != 0 | learning cycles/tick mean | max | "
          "worst margin to budget | whole tick mean |")
    print("|---|---|---|---|---|---|---|---|---|")
    reckon = preset("reckon")
    cases = [(reckon.replace(rule=r, pseudo_derivative=pd), rate)
             for r, pd in (("eprop_random", "piecewise_linear"), ("erbp", "boxcar"))
             for rate in (0.01, 0.05, 0.2)]
    cases += [(reckon.replace(rule="eprop_random", pseudo_derivative="piecewise_linear", lanes=P), 0.05)
              for P in (4, 16, 32)]
    cases += [(preset("small"), 0.1)]
    for cfg, rate in cases:
        rows, mean, mx, margin, total = measure(cfg, rate, args.ticks)
        print(f"| {cfg.name} | {cfg.rule} | {cfg.lanes} | {rate:g} | {rows:.1f} | {mean:.1f} | {mx} | "
              f"{margin:+d} | {total:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
