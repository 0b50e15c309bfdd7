"""Soak: a million RTL ticks against golden across random configs, and 100,000 fuzzed frames.

    python -m plasticore.bench soak [--ticks 1000000] [--frames 100000] [--configs 10] [--rounds 10]
                                    [--jsonl soak.jsonl]

Each configuration (``plasticore.cosim.stimulus.random_config``: sizes, widths, both rule
families, learning banks, pipelined passes, ...) is built once as the whole System
(protocol engine and core, ``plasticore.cosim.host_transport.SimulatedTransport``) and driven by
the host driver a window at a time, as a training run drives a board:

* every tick: the spikes, the readout Y and the core's cycle count (the output buffers) equal
  golden fixed point's and the cycle model's;
* every window: the neuron state, the readout state and error, and the traces equal golden's,
  and (learning or not) every weight;
* windows learn or only infer at random; every few windows the state is reset (a new
  sample), and now and then new random weights are loaded (so learning does not settle).

Then a fuzz campaign (``plasticore.cosim.fuzz.run_campaign``) on the same simulator: corrupted,
truncated, spliced and hostile frames, every reply as the reference model predicts, nothing
committed from a bad frame. The configurations are visited in rounds (each visit a fresh
simulator on the cached build), so that a soak cut short has covered all of them; one JSON
line per visit goes to ``--jsonl`` as it ends, so that it keeps its totals.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from plasticore.contract.cycles import tick_cycles
from plasticore.cosim.fuzz import run_campaign
from plasticore.cosim.host_transport import SystemParams
from plasticore.cosim.stimulus import make_stimulus, random_config
from plasticore.golden import FixedNumerics, init_state, tick
from plasticore.golden.config import Config
from plasticore.golden.learning import LearnState, init_learning, init_traces, learn, learned_rows
from plasticore.golden.network import Weights
from plasticore.golden.rules import RULES
from plasticore.host import WEIGHT_REGIONS, Host
from plasticore.progress import progress_bar

#: the System of the soak: 64-tick windows, the largest frames the default map allows
SOAK_PARAMS = SystemParams(window=64, max_payload=512, frame_timeout=256)
#: windows per sample (state reset between samples) and samples per set of weights
WINDOWS_PER_SAMPLE, SAMPLES_PER_WEIGHTS = 4, 8
STATE_NAMES = ("u", "a", "ref", "v", "y", "e")
#: differences kept as examples per configuration visit
EXAMPLES = 10


def soak_configs(count: int, first_seed: int) -> list[Config]:
    """``count`` random configurations from ``first_seed`` on."""
    return [random_config(seed) for seed in range(first_seed, first_seed + count)]


def features(cfg: Config) -> str:
    """What a configuration exercises, for the table."""
    parts = [cfg.rule, cfg.pseudo_derivative, f"P={cfg.lanes}"]
    if cfg.weight_banks > 1:
        parts.append(f"K={cfg.weight_banks}")
    if cfg.pipelined:
        parts.append("pipelined")
    if cfg.learn_multipliers != "dsp":
        parts.append(cfg.learn_multipliers)
    if cfg.synapse_table:
        parts.append(f"table D={cfg.slot_words}" + (" rewire" if cfg.rewire else ""))
    return ", ".join(parts)


class GoldenRun:
    """Golden fixed point ticking along with the chip, as ``plasticore.cosim.compare.lockstep``
    steps it: the state, the learning state and the weights, and each tick's predicted cycles."""

    def __init__(self, cfg: Config, w: Weights):
        self.cfg = cfg
        self.fx = FixedNumerics()
        self.s = init_state(cfg, self.fx, 1)
        self.ls = init_learning(cfg, self.fx, 1)
        self.load(w)

    def load(self, w: Weights) -> None:
        table = None if w.synapses is None else w.synapses.astype(np.int64)
        w = Weights(*(np.asarray(getattr(w, k), dtype=np.int64) for k in WEIGHT_REGIONS), table)
        self.w = self._with_rule(w)

    def _with_rule(self, w: Weights) -> Weights:
        if RULES[self.cfg.rule].symmetric_feedback:
            return Weights(w.w_in, w.w_rec, w.w_out, w.w_out.T.copy(), w.synapses)  # B is Wout^T on the chip
        return w

    def reset_state(self) -> None:
        """Host.reset_state: state and traces zero, the LFSRs run on."""
        self.s = init_state(self.cfg, self.fx, 1)
        self.ls = LearnState(init_traces(self.cfg, self.fx, 1), self.ls.lfsr)

    def step(self, x: np.ndarray, target: np.ndarray, valid: bool, learning: bool) -> tuple[np.ndarray, int]:
        """One tick; returns its spikes and its predicted cycle count."""
        cfg, fx = self.cfg, self.fx
        learning_tick = learning and valid
        prev = self.s
        self.s, out = tick(cfg, fx, self.w, prev, x[None], target[None], np.array([valid]))
        learn_rows = learn_out_rows = None
        if learning_tick:
            learn_rows, learn_out_rows = learned_rows(cfg, fx, self.ls.traces, x[None], prev.z, self.s.z)
        visits: dict[int, int] = {}  # the synapse table's rewiring candidates, for the cycle model
        w, self.ls, _ = learn(cfg, fx, self.w, prev, self.s, out, x[None], np.array([learning_tick]), self.ls, visits)
        self.w = self._with_rule(w)
        cycles = tick_cycles(cfg, x, prev.z[0], prev.e[0], out.z[0], learn_rows, learn_out_rows, visits).total
        return out.z[0], cycles


@dataclass
class ConfigSoak:
    """What one configuration's soak ran and found (one JSON line)."""

    config: str
    features: str
    ticks: int = 0
    learning_ticks: int = 0
    windows: int = 0
    weight_loads: int = 0
    spikes: int = 0
    weight_changes: int = 0
    tick_mismatches: int = 0
    fuzz_cases: int = 0
    fuzz_bytes: int = 0
    fuzz_mismatches: int = 0
    examples: list[str] = field(default_factory=list)  # the first differences found
    seconds: float = 0.0


def _differ(report: ConfigSoak, where: str, rtl, gold) -> None:
    rtl, gold = np.asarray(rtl).reshape(-1), np.asarray(gold).reshape(-1)
    if rtl.shape != gold.shape:
        report.tick_mismatches += 1
        report.examples.append(f"{where}: RTL shape {rtl.shape} != golden {gold.shape}")
    elif not np.array_equal(rtl, gold):
        report.tick_mismatches += 1
        j = int(np.flatnonzero(rtl != gold)[0])
        report.examples.append(f"{where}: first at [{j}] RTL {rtl[j]} != golden {gold[j]}")
    del report.examples[EXAMPLES:]


def soak_config(cfg: Config, ticks: int, frames: int, seed: int, bar=None) -> ConfigSoak:
    """``ticks`` ticks (whole windows) compared with golden, then ``frames`` fuzz cases."""
    start = time.perf_counter()
    report = ConfigSoak(cfg.name, features(cfg))
    rng = np.random.default_rng(seed)
    with Host.simulated(cfg, SOAK_PARAMS) as chip:
        W = chip.window
        windows = -(-ticks // W)
        golden: GoldenRun | None = None
        for k in range(windows):
            if k % (WINDOWS_PER_SAMPLE * SAMPLES_PER_WEIGHTS) == 0:
                w = make_stimulus(cfg, 1, seed=int(rng.integers(1 << 30)), weight_scale=1.0).weights
                golden = GoldenRun(cfg, w) if golden is None else golden
                golden.load(w)
                chip.load_weights(golden.w)
                report.weight_loads += 1
            if k % WINDOWS_PER_SAMPLE == 0:
                chip.reset_state()
                golden.reset_state()
            learning = bool(rng.random() < 0.75)
            rate = float(rng.uniform(0.02, 0.3))
            x = (rng.random((W, cfg.n_in)) < rate).astype(np.int64)
            y_lim = 1 << (cfg.y_bits - 2)
            targets = rng.integers(-y_lim, y_lim, size=(W, cfg.n_out), dtype=np.int64)
            valid = rng.random(W) < 0.6
            before = golden.w
            z_gold, cycles_gold, y_gold = [], [], []
            for t in range(W):
                z, c = golden.step(x[t], targets[t], bool(valid[t]), learning)
                z_gold.append(z)
                cycles_gold.append(c)
                y_gold.append(golden.s.y[0])
            chip.load_window(x, targets, valid)
            chip.run(W, learn=learning)
            out = chip.read_outputs(W)
            where = f"window {k} (ticks {k * W}..{k * W + W - 1})"
            _differ(report, f"{where} spikes", out.z, np.array(z_gold))
            _differ(report, f"{where} readout", out.y, np.array(y_gold))
            _differ(report, f"{where} cycles", out.cycles, np.array(cycles_gold))
            state = chip.read_state()
            for name in STATE_NAMES:
                _differ(report, f"{where} {name}", state[name], getattr(golden.s, name)[0])
            traces = chip.read_traces()
            _differ(report, f"{where} x_bar", traces["x_bar"], golden.ls.traces.x_bar[0])
            _differ(report, f"{where} z_bar", traces["z_bar"], golden.ls.traces.z_bar[0])
            if golden.ls.traces.zo_bar is not None:
                _differ(report, f"{where} zo_bar", traces["zo_bar"], golden.ls.traces.zo_bar[0])
            got = chip.read_weights()
            for name in WEIGHT_REGIONS:
                _differ(report, f"{where} {name}", getattr(got, name), getattr(golden.w, name))
            if golden.w.synapses is not None:  # the table's wiring and weights, slot by slot
                for field in ("column", "weight"):
                    _differ(
                        report, f"{where} slot {field}", getattr(got.synapses, field), getattr(golden.w.synapses, field)
                    )
            report.weight_changes += sum(
                int((getattr(golden.w, n) != getattr(before, n)).sum()) for n in ("w_in", "w_rec", "w_out")
            )
            report.ticks += W
            report.learning_ticks += W if learning else 0
            report.windows += 1
            report.spikes += int(np.sum(z_gold))
            if bar is not None:
                bar.update(W)
        if frames:
            fuzz = run_campaign(chip.transport, chip.map, frames, seed)
            report.fuzz_cases = fuzz.cases
            report.fuzz_bytes = fuzz.bytes_sent
            report.fuzz_mismatches = len(fuzz.mismatches)
            report.examples += [f"fuzz: {m}" for m in fuzz.mismatches[:EXAMPLES]]
    report.seconds = time.perf_counter() - start
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ticks", type=int, default=1_000_000, help="RTL ticks in all (default 1,000,000)")
    p.add_argument("--frames", type=int, default=100_000, help="fuzz cases in all (default 100,000)")
    p.add_argument("--configs", type=int, default=10, help="random configurations (default 10)")
    p.add_argument("--seed", type=int, default=1000, help="first random_config seed (default 1000)")
    p.add_argument("--rounds", type=int, default=10, help="visits of every configuration (default 10)")
    p.add_argument("--jsonl", type=Path, help="append one JSON line per configuration visit here")
    args = p.parse_args(argv)
    configs = soak_configs(args.configs, args.seed)
    visits = len(configs) * args.rounds
    per_ticks, per_frames = -(-args.ticks // visits), -(-args.frames // visits)
    print(
        "| round | config | features | ticks | learning ticks | weight changes | tick mismatches | fuzz cases "
        "| fuzz mismatches | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    totals = {"ticks": 0, "learning_ticks": 0, "fuzz_cases": 0, "tick_mismatches": 0, "fuzz_mismatches": 0}
    # a tqdm object whose update() counts ticks (silent off a terminal)
    bar = progress_bar("soak", total=per_ticks * visits)(iter(()))
    for visit in range(visits):
        rnd, i = divmod(visit, len(configs))
        cfg = configs[i]
        r = soak_config(cfg, per_ticks, per_frames, seed=args.seed + visit, bar=bar)
        print(
            f"| {rnd} | {r.config} | {r.features} | {r.ticks:,} | {r.learning_ticks:,} | {r.weight_changes:,} | "
            f"{r.tick_mismatches} | {r.fuzz_cases:,} | {r.fuzz_mismatches} | {r.seconds:.0f} |",
            flush=True,
        )
        for m in r.examples[:5]:
            print(f"  {m}", flush=True)
        for key in totals:
            totals[key] += getattr(r, key)
        if args.jsonl:
            with args.jsonl.open("a") as f:
                f.write(json.dumps({"round": rnd, **r.__dict__}) + "\n")
    print(
        f"\ntotal: {totals['ticks']:,} RTL ticks compared ({totals['learning_ticks']:,} learning), "
        f"{totals['tick_mismatches']} mismatches; {totals['fuzz_cases']:,} fuzz cases, "
        f"{totals['fuzz_mismatches']} mismatches"
    )
    return 1 if totals["tick_mismatches"] or totals["fuzz_mismatches"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
