"""Mutation score: the fraction of yosys mutants of the core the cosim suite kills.

    python -m plasticore.bench mutation [--mutants 240] [--seed 1] [--only 3,17,...] [--scenarios a,b]
                                        [--json out.json]

One Verilator build holds every mutant behind the run-time input ``mutsel``
(``plasticore.cosim.mutation``); the suite (tests/test_cosim.py's runs of the small preset, then
the scenarios added for what they missed) runs against each. Prints the score, the verdicts
by kind, and every survivor with its source line, for docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

from plasticore.cosim.mutation import EXTRA, MUTATION_CONFIG, SUITE, run_mutants, summarize
from plasticore.cosim.runner import BUILD
from plasticore.progress import progress_bar


def _follow(path: Path, total: int, done: threading.Event) -> None:
    """A progress bar over the bench's verdict lines while it runs."""
    bar = progress_bar("mutants", total=total, unit="mutant")(iter(()))
    seen = 0
    while not done.wait(2.0):
        n = len(path.read_text().splitlines()) if path.exists() else 0
        bar.update(max(0, min(n, total) - seen))
        seen = max(seen, min(n, total))
    bar.close()


def _table(header: tuple[str, ...], rows) -> None:
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mutants", type=int, default=240, help="mutants yosys draws (default 240)")
    p.add_argument("--seed", type=int, default=1, help="yosys mutate's seed (default 1)")
    p.add_argument("--only", help="comma-separated mutant numbers to run (default: all)")
    p.add_argument("--suite-only", action="store_true", help="the suite without the added scenarios")
    p.add_argument("--scenarios", help="comma-separated scenario names to run (default: all of the suite's)")
    p.add_argument("--json", type=Path, help="write every verdict and the summary here")
    p.add_argument("--build-dir", type=Path, help="judge the mutants of this earlier build (the RTL has moved on)")
    args = p.parse_args(argv)
    select = [int(s) for s in args.only.split(",")] if args.only else None
    scenarios = SUITE if args.suite_only else SUITE + EXTRA
    if args.scenarios:
        names = args.scenarios.split(",")
        unknown = set(names) - {s.name for s in scenarios}
        if unknown:
            p.error(f"--scenarios: {', '.join(sorted(unknown))} not among {', '.join(s.name for s in scenarios)}")
        scenarios = tuple(s for s in scenarios if s.name in names)
    out_dir = BUILD / "runs" / f"mutation-{MUTATION_CONFIG.name}-{args.mutants}-{args.seed}-{int(time.time())}"
    done = threading.Event()
    follower = threading.Thread(
        target=_follow, args=(out_dir / "verdicts.jsonl", len(select) if select else args.mutants, done), daemon=True
    )
    follower.start()
    start = time.perf_counter()
    try:
        verdicts = run_mutants(
            MUTATION_CONFIG, args.mutants, args.seed, scenarios, select, out_dir, build_dir=args.build_dir
        )
    finally:
        done.set()
        follower.join()
    s = summarize(verdicts)
    print(
        f"{MUTATION_CONFIG.name}: {s['mutants']} mutants, {s['killed']} killed ({100 * s['fraction_killed']:.1f} %), "
        f"suite: {', '.join(sc.name for sc in scenarios)}; {time.perf_counter() - start:.0f} s (verdicts in {out_dir})"
    )
    _table(("verdict", "mutants"), sorted(s["verdicts"].items()))
    _table(("killed by", "mutants"), sorted(s["killed_by"].items()))
    files = sorted(s["mutants_by_file"].items())
    _table(("file", "mutants", "survivors"), [(k, v, s["survivors_by_file"].get(k, 0)) for k, v in files])
    _table(("mode", "survivors"), sorted(s["survivors_by_mode"].items()))
    print("\nsurvivors:")
    for v in verdicts:
        if v["verdict"] == "survived":
            port = f"{v['cell']} {v['port']}[{v['bit']}]"
            print(f"  {v['index']:4d} {v['mode']:6s} {port} wire {v['wire'] or '-'} ({v['where']})")
    if args.json:
        args.json.write_text(json.dumps({"summary": s, "verdicts": verdicts}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
