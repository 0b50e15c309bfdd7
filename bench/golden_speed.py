"""Golden-model inference throughput: ticks per second per preset and numerics.

    python -m plasticore.bench.golden_speed [--ticks N]

Each measurement runs a fresh Poisson input (5 % per input per tick) through a randomly
initialized network; the best of three repeats is reported to damp machine noise.
"""

from __future__ import annotations

import argparse
import time

from plasticore.golden import init_weights, poisson_inputs, preset, run


def measure(name: str, numerics: str, ticks: int, batch: int = 1, repeats: int = 3) -> float:
    cfg = preset(name)
    w = init_weights(cfg)
    x = poisson_inputs(cfg, ticks, 0.05, batch=batch)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(cfg, w, x, numerics)
        best = min(best, time.perf_counter() - start)
    return ticks * batch / best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ticks", type=int, default=2000)
    args = p.parse_args(argv)
    print("| preset | numerics | batch | ticks/s (golden, 1 core) |")
    print("|---|---|---|---|")
    for name in ("small", "reckon"):
        for numerics in ("fixed", "float"):
            for batch in (1, 32):
                rate = measure(name, numerics, args.ticks // (8 if batch > 1 else 1), batch)
                print(f"| {name} | {numerics} | {batch} | {rate:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
