"""The mutation bench (``plasticore.cosim.mutation``, ``python -m plasticore.bench mutation``).

Default run: the scenarios added to the suite for mutants it missed pass on the clean core
(they are cosim tests in their own right: RTL equal to golden every tick), and yosys's mutant
list is read as yosys writes it. Slow: a few mutants through the whole bench (one mutated
build, the clean design before and after them).
"""

import pytest

from plasticore.cosim.mutation import EXTRA, MUTATION_CONFIG, SUITE, Mutant, _parse_mutants, run_mutants, summarize
from plasticore.cosim.runner import run_lockstep


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
