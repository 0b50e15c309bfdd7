"""How far e-prop's gradient is from BPTT's on NEST's two tasks (at their initial weights).

    python -m plasticore.bench.eprop_bptt_gap [--sequences N]

Both gradients are of the same objective with the same pseudo-derivative (BPTT: reset without
gradient, as in Bellec et al.); e-prop uses symmetric feedback here so that the only
difference is the truncation of the recurrent paths. Reported per weight matrix: cosine
similarity and relative error ``|g_eprop - g_bptt| / |g_bptt|``, mean over ``N`` sequences,
for the task's recurrent weights and for the same weights scaled down (weaker recurrence).
Readout gradients are exact in e-prop and are not listed.
"""

from __future__ import annotations

import argparse

import numpy as np

from plasticore.reference.bptt import bptt_gradients
from plasticore.reference.eprop import eprop_gradients, network_inputs
from plasticore.reference.eprop_model import simulate
from plasticore.reference.nest_tasks import evidence_accumulation_task, sine_wave_task


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=3)
    args = ap.parse_args(argv)
    print("| task | W_rec scale | weights | cosine(e-prop, BPTT) | rel. error | norm BPTT / norm e-prop |")
    print("|---|---|---|---|---|---|")
    for make in (sine_wave_task, evidence_accumulation_task):
        task = make(n_iter=args.sequences)
        spec = task.spec.replace(feedback="symmetric", nest_early_trigger=False)
        for scale in (1.0, 0.25, 0.1):
            w = task.weights.copy()
            w.w_rec = w.w_rec * scale
            stats = {k: [] for k in ("w_in", "w_rec")}
            for s in range(args.sequences):
                x = network_inputs(spec, np.swapaxes(task.inputs[s : s + 1], 0, 1))
                tgt = np.swapaxes(task.targets[s : s + 1], 0, 1)
                ge, _ = eprop_gradients(task.params, spec, w, simulate(task.params, w, x), tgt)
                gb = bptt_gradients(task.params, w, x, tgt, spec)
                for k in stats:
                    stats[k].append(
                        (
                            cosine(ge[k], gb[k]),
                            np.linalg.norm(ge[k] - gb[k]) / np.linalg.norm(gb[k]),
                            np.linalg.norm(gb[k]) / np.linalg.norm(ge[k]),
                        )
                    )
            for k, vals in stats.items():
                c, r, n = np.mean(vals, axis=0)
                print(f"| {task.name} | {scale} | {k} | {c:.3f} | {r:.3f} | {n:.3g} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
