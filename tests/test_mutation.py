"""The mutation bench (``plasticore.cosim.mutation``, ``python -m plasticore.bench mutation``).

Default run: the scenarios added to the suite for mutants it missed pass on the clean core
(they are cosim tests in their own right: RTL equal to golden every tick), golden's run of each
reaches the corner it was added for (so that a later change of stimulus cannot quietly make it
miss), and yosys's mutant list is read as yosys writes it. Slow: a few mutants through the whole bench (one mutated
build, the clean design before and after them).
"""

import numpy as np
import pytest

from plasticore.contract.cycles import tick_cycles
from plasticore.cosim.mutation import EXTRA, MUTATION_CONFIG, SUITE, Mutant, _parse_mutants, run_mutants, summarize
from plasticore.cosim.runner import run_lockstep
from plasticore.golden import FixedNumerics, init_state
from plasticore.golden.learning import init_learning, learning_tick
from plasticore.golden.network import Weights


@pytest.mark.parametrize("scenario", EXTRA, ids=lambda s: s.name)
def test_added_scenario_equals_golden(scenario, tmp_path):
    cfg = MUTATION_CONFIG
    st = scenario.stimulus(cfg)
    result = run_lockstep(
        cfg,
        st.weights,
        st.x,
        st.targets,
        st.valid,
        out_dir=tmp_path,
        learn=scenario.learn,
        weights_every=scenario.weights_every,
        registers=scenario.registers(cfg),
    )
    rep = result.report
    assert rep["ticks"] == scenario.ticks
    assert rep["mismatches"] == 0, f"{rep['first_mismatch']} (waveform: {result.waveform})"
    if scenario.learn:
        assert rep["weight_checks"] >= scenario.ticks // scenario.weights_every


def _golden_run(scenario):
    """Golden's run of ``scenario`` (its registers applied): per tick the config it ran under,
    the state before and after, its output, and the weights before and after."""
    cfg = MUTATION_CONFIG
    st, registers = scenario.stimulus(cfg), scenario.registers(cfg)
    fx = FixedNumerics()
    w = Weights(*(np.asarray(getattr(st.weights, k), dtype=np.int64) for k in ("w_in", "w_rec", "w_out", "b_fb")))
    s, ls, tick_cfg = init_state(cfg, fx, 1), init_learning(cfg, fx, 1), cfg
    for t in range(scenario.ticks):
        if t in registers:
            tick_cfg = registers[t].applied(cfg)
        valid = st.valid[t : t + 1] & scenario.learn
        before, prev = w, s
        w, s, ls, out = learning_tick(tick_cfg, fx, w, s, ls, st.x[t][None], st.targets[t][None], valid)
        yield t, tick_cfg, prev, s, out, before, w


def _high_threshold(run):
    # neurons reach the threshold register's 20000 (the reset subtracts it) and ALIF neurons'
    # adaptation adds to it
    spikes = sum(int(out.z.sum()) for *_, out, _, _ in run)
    assert spikes >= 20, spikes


def _slow_learning_rates(run):
    # the 16- and 20-bit rates still change both the hidden and the readout weights
    changed = {"hidden": 0, "readout": 0}
    for t, _, _, _, _, before, after in run:
        if t < 40:
            changed["hidden"] += int((before.w_in != after.w_in).sum() + (before.w_rec != after.w_rec).sum())
            changed["readout"] += int((before.w_out != after.w_out).sum())
    assert min(changed.values()) > 0, changed


def _errors_only(run):
    # no spike anywhere, and on ticks after a valid target the feedback engine (both errors
    # nonzero) is what the ACCUMULATE phase waits for
    longer = 0
    for _, cfg, prev, s, out, _, _ in run:
        assert not out.z.any()
        x = np.zeros(cfg.n_in, dtype=np.int64)
        with_errors = tick_cycles(cfg, x, prev.z[0], prev.e[0], s.z[0]).accumulate
        longer += int(with_errors > tick_cycles(cfg, x, prev.z[0], 0 * prev.e[0], s.z[0]).accumulate)
    assert longer >= 5, longer


def _window_edge(run):
    # a neuron out of refractoriness exactly at the boxcar window's lower edge, U - A = -pd_window
    # (h = 0; one more and h = h_max), on a learning tick
    edges = [
        (t, j)
        for t, cfg, prev, s, out, _, _ in run
        for j in np.flatnonzero((s.u[0] - out.threshold[0] == -cfg.pd_window) & (prev.ref[0] == 0))
        if t in LEARNING_TICKS["window_edge"]
    ]
    assert edges, edges


def _slowest_readout_rate(run):
    # at out_lr_shift 32 a readout weight still moves now and then; the hidden ones, disabled, never
    readout = hidden = 0
    for *_, before, after in run:
        readout += int((before.w_out != after.w_out).sum())
        hidden += int((before.w_in != after.w_in).sum() + (before.w_rec != after.w_rec).sum())
    assert readout > 0 and hidden == 0, (readout, hidden)


#: what each added scenario reaches in golden's run (the corner it was added for)
CORNERS = {
    "high_threshold": _high_threshold,
    "slow_learning_rates": _slow_learning_rates,
    "errors_only": _errors_only,
    "window_edge": _window_edge,
    "slowest_readout_rate": _slowest_readout_rate,
}
LEARNING_TICKS = {
    sc.name: set(np.flatnonzero(sc.stimulus(MUTATION_CONFIG).valid).tolist()) for sc in EXTRA if sc.name in CORNERS
}


@pytest.mark.parametrize("name", sorted(CORNERS))
def test_added_scenario_reaches_its_corner(name):
    (scenario,) = [s for s in EXTRA if s.name == name]
    CORNERS[name](list(_golden_run(scenario)))


def test_mutant_list_is_parsed():
    line = (
        "mutate -ctrl mutsel 8 7 -mode cnot0 -module plasticore_core -cell $flatten\\neuron.$3293 -port B "
        "-portbit 4 -ctrlbit 2 -wire u -wirebit 4 -src /x/plasticore/hdl/passes.py:254 -src /x/hdl/arith.py:25\n"
    )
    (m,) = _parse_mutants(line)
    assert m == Mutant(
        7, "cnot0", "$flatten\\neuron.$3293", "B", 4, "u", ("/x/plasticore/hdl/passes.py:254", "/x/hdl/arith.py:25")
    )
    assert m.where == "hdl/passes.py:254" and m.unit == "hdl/passes.py"
    names = [s.name for s in SUITE + EXTRA]
    assert len(set(names)) == len(names)


@pytest.mark.slow
def test_bench_judges_mutants(tmp_path):
    chosen = list(range(1, 13))
    verdicts = run_mutants(MUTATION_CONFIG, 240, seed=1, select=chosen, out_dir=tmp_path)
    assert [v["index"] for v in verdicts] == chosen
    # three in four mutants die (docs/reliability.md): none of twelve would be a broken bench
    assert summarize(verdicts)["killed"] >= 1
