"""The RTL core against golden in Amaranth's simulator: quick, in the default run."""

import numpy as np
import pytest

from plasticore.contract.cycles import scan_and_accumulate_cycles, tick_cycles
from plasticore.cosim.amaranth_sim import lockstep_amaranth
from plasticore.cosim.stimulus import make_stimulus, random_config
from plasticore.golden import preset


@pytest.mark.parametrize("seed", range(100, 108))
def test_random_configs_bit_exact(seed):
    cfg = random_config(seed)
    st = make_stimulus(cfg, 60, seed)
    report = lockstep_amaranth(cfg, st.weights, st.x, st.targets, st.valid)
    assert report.mismatches == 0, str(report.first)
    assert report.cycles == report.predicted_cycles


@pytest.mark.parametrize("seed", [1, 4, 13])
def test_random_synapse_tables_learn_bit_exact(seed):
    """Random configs whose Win/Wrec are a sparse synapse table (1: 3 slot words of 12 with
    rewiring; 4: 2 of 6, rewiring, pipelined; 13: 2 of 5, fixed wiring), learning on: spikes,
    states, the table's columns and weights and the cycle counts equal golden's every tick."""
    cfg = random_config(seed)
    assert cfg.connectivity < 1
    st = make_stimulus(cfg, 40, seed)
    report = lockstep_amaranth(cfg, st.weights, st.x, st.targets, st.valid, learn=True)
    assert report.mismatches == 0, str(report.first)
    assert report.cycles == report.predicted_cycles
    assert report.weight_checks >= 1
    if cfg.rewire and seed == 4:
        assert report.rewired and report.rewired > 0


def test_a_table_of_every_slot_is_stored_as_dense_rows_and_read_back_as_a_table():
    """connectivity 0.9 of 2 words per row rounds to both: golden holds a table (connectivity <
    1), the chip stores the dense rows (the columns are the word addresses), and the weights
    read back are a table again, so the slots can be compared."""
    from plasticore.contract.geometry import Geometry
    from plasticore.golden.config import Config

    cfg = Config(n_in=4, n_rec=8, lanes=4, n_out=2, connectivity=0.9)
    assert cfg.synapse_table and cfg.slot_words == 2 and not Geometry(cfg).sparse
    st = make_stimulus(cfg, 30, seed=1)
    report = lockstep_amaranth(cfg, st.weights, st.x, st.targets, st.valid, learn=True)
    assert report.mismatches == 0, str(report.first)
    assert report.weight_checks >= 1 and report.cycles == report.predicted_cycles


def test_small_preset_bit_exact_with_learning_signal():
    cfg = preset("small")
    st = make_stimulus(cfg, 80, seed=5, rate=0.15, weight_scale=1.0)
    report = lockstep_amaranth(cfg, st.weights, st.x, st.targets, st.valid)
    assert report.spikes > 0
    assert report.mismatches == 0, str(report.first)


@pytest.mark.parametrize(
    "change, state",
    [
        ({"threshold": 1025}, None),
        ({"tau_v": 7.0}, "v"),
        ({"reset": "zero"}, None),
        ({"tau_out": 40.0}, "y"),
    ],
)
def test_a_wrong_core_is_caught_at_the_first_differing_tick(change, state):
    """Fault injection: the RTL of one config against golden of another must mismatch."""
    cfg = preset("small")
    st = make_stimulus(cfg, 60, seed=3, rate=0.15, weight_scale=1.0)
    report = lockstep_amaranth(
        cfg, st.weights, st.x, st.targets, st.valid, rtl_config=cfg.replace(**change), stop_at_first=True
    )
    first = report.first
    assert first is not None, "a wrong core went unnoticed"
    if state:
        assert first.state == state
    assert f"tick {first.tick}:" in str(first) and "RTL" in str(first)


def test_cycle_model_of_the_scanner_pair():
    # no events: one cycle per 32-bit chunk
    assert scan_and_accumulate_cycles(np.zeros(64, int), 4) == 2
    # one event in the first chunk, rows of 4 words: accepted at cycle 0, words 1..4, idle at 6
    bits = np.zeros(64, int)
    bits[3] = 1
    assert scan_and_accumulate_cycles(bits, 4) == 6
    # back-to-back rows: the second is accepted on the first row's last word (cycle 4)
    bits[5] = 1
    assert scan_and_accumulate_cycles(bits, 4) == 10


def test_reckon_idle_tick_fits_the_issue_budget():
    """With no activity a reckon tick costs at most ceil(n_rec/P) + 64 cycles."""
    cfg = preset("reckon")
    b = tick_cycles(cfg, np.zeros(256, int), np.zeros(256, int), np.zeros(16, int), np.zeros(256, int))
    assert b.total <= 256 // 8 + 64


@pytest.mark.parametrize(
    "rule, pd", [("eprop_random", "piecewise_linear"), ("erbp", "boxcar"), ("eprop_symmetric", "boxcar")]
)
def test_learning_bit_exact_and_weights_really_change(rule, pd):
    """Learning on: traces every tick, all weights every 20 ticks and at the end, equal golden's."""
    cfg = preset("small").replace(rule=rule, pseudo_derivative=pd)
    st = make_stimulus(cfg, 40, seed=1, rate=0.15, weight_scale=1.0)
    report, w = lockstep_amaranth(
        cfg, st.weights, st.x, st.targets, st.valid, learn=True, weights_every=20, read_back=True
    )
    assert report.mismatches == 0, str(report.first)
    assert report.weight_checks == 2
    assert (w.w_in != st.weights.w_in).any() or (w.w_rec != st.weights.w_rec).any()
    assert (w.w_out != st.weights.w_out).any()


def _learning_lockstep(cfg, seed):
    """40 learning ticks of ``cfg`` in lockstep with golden, weights compared every 10: bit-exact,
    in the cycles plasticore.contract.cycles predicts, and the hidden weights really changed."""
    st = make_stimulus(cfg, 40, seed=seed, rate=0.2, weight_scale=1.0)
    report, w = lockstep_amaranth(
        cfg, st.weights, st.x, st.targets, st.valid, learn=True, weights_every=10, read_back=True
    )
    assert report.mismatches == 0, str(report.first)
    assert report.weight_checks == 4
    assert report.cycles == report.predicted_cycles
    assert (w.w_in != st.weights.w_in).any() or (w.w_rec != st.weights.w_rec).any()
    return st, report


@pytest.mark.parametrize(
    "banks, rule, multipliers", [(2, "eprop_random", "factored"), (4, "erbp", "logic"), (8, "eprop_symmetric", "logic")]
)
def test_learning_banks_bit_exact_with_their_cycle_count(banks, rule, multipliers):
    """K row updaters learn K weight banks side by side: the same weights as golden's banked
    draw order, tick for tick, in the cycles plasticore.contract.cycles predicts (fewer than one updater's)."""
    cfg = preset("small").replace(rule=rule, weight_banks=banks, learn_multipliers=multipliers)
    st, report = _learning_lockstep(cfg, seed=2)
    assert sum(report.learn_cycles) > 0
    single = lockstep_amaranth(cfg.replace(weight_banks=1), st.weights, st.x, st.targets, st.valid, learn=True)
    assert single.mismatches == 0
    assert sum(report.learn_cycles) < sum(single.learn_cycles)


def test_fewer_feedback_engines_than_banks_bit_exact_with_their_cycle_count():
    """``fb_banks`` 1 with K = 4 weight banks (the default would be 4 engines): one engine
    takes every error of ``B . e``; the same values tick for tick, in the cycles plasticore.contract.cycles
    predicts, with a longer feedback pass. The per-bank memories asked into block RAM
    (``bank_memories``) change nothing in simulation."""
    cfg = preset("small").replace(weight_banks=4, fb_banks=1, bank_memories="block")
    assert cfg.feedback_banks == 1
    st, report = _learning_lockstep(cfg, seed=3)
    four = lockstep_amaranth(cfg.replace(fb_banks=None), st.weights, st.x, st.targets, st.valid, learn=True)
    assert four.mismatches == 0
    longer = np.asarray(report.cycles) - np.asarray(four.cycles)
    assert (longer >= 0).all() and longer.sum() > 0


@pytest.mark.parametrize(
    "banks, rule, multipliers, decays",
    [(1, "eprop_random", "factored", "dsp"), (1, "erbp", "logic", "logic"), (4, "eprop_symmetric", "dsp", "logic")],
)
def test_pipelined_core_bit_exact_one_cycle_longer_per_stage(banks, rule, multipliers, decays):
    """``Config.pipelined`` registers the middle of the passes' and updaters' arithmetic: the
    same spikes, states and weights as golden, tick for tick, in the cycles plasticore.contract.cycles
    predicts: those of the one-stage core plus one per pass (NEURON, OUTPUT) and at most one
    per learning phase (LEARN_W, and LEARN_OUT when it has one). Two cases also build the
    decays' constant products from adders (``decay_multipliers`` "logic")."""
    cfg = preset("small").replace(
        rule=rule, weight_banks=banks, learn_multipliers=multipliers, decay_multipliers=decays, pipelined=True
    )
    st, report = _learning_lockstep(cfg, seed=4)
    one_stage = lockstep_amaranth(cfg.replace(pipelined=False), st.weights, st.x, st.targets, st.valid, learn=True)
    assert one_stage.mismatches == 0
    per_tick = np.asarray(report.cycles) - np.asarray(one_stage.cycles)
    learn_extra = np.asarray(report.learn_cycles) - np.asarray(one_stage.learn_cycles)
    phases = 1 if banks > 1 else 2  # LEARN_W, and LEARN_OUT after it with one bank
    # a learning phase is one cycle longer when its updater's tail, not its scanner, ends it
    assert ((learn_extra >= 0) & (learn_extra <= phases)).all() and learn_extra.sum() > 0
    assert (per_tick == 2 + learn_extra).all()


def test_readout_trace_bit_exact_and_a_core_with_another_is_caught():
    """The readout's own trace z~ (``tau_readout_trace`` 3, beside z_bar's 20): the readout
    learns from z~ and skips the rows whose z~ is zero, which z_bar would not skip; z~, states,
    weights and cycles equal golden's every tick. A core built with another z~ time constant
    (or none) mismatches at z~."""
    from plasticore.golden import FixedNumerics
    from plasticore.golden.learning import init_learning, update_traces
    from plasticore.golden.network import init_state, tick

    cfg = preset("small").replace(tau_readout_trace=3.0)
    st = make_stimulus(cfg, 40, seed=5, rate=0.15, weight_scale=1.0)
    fx = FixedNumerics()
    s, tr = init_state(cfg, fx, 1), init_learning(cfg, fx, 1).traces
    fewer_rows = 0  # ticks whose readout update visits fewer rows by z~ than by z_bar
    for t in range(len(st.x)):
        s, _ = tick(cfg, fx, st.weights, s, st.x[t][None], st.targets[t][None], st.valid[t : t + 1])
        tr = update_traces(cfg, fx, tr, st.x[t][None], s.z)
        fewer_rows += int((tr.zo_bar != 0).sum() < (tr.z_bar != 0).sum())
    assert fewer_rows > 10, fewer_rows
    report = lockstep_amaranth(cfg, st.weights, st.x, st.targets, st.valid, learn=True, weights_every=10)
    assert report.mismatches == 0, str(report.first)
    assert report.cycles == report.predicted_cycles and report.weight_checks == 4
    wrong = lockstep_amaranth(
        cfg,
        st.weights,
        st.x,
        st.targets,
        st.valid,
        learn=True,
        rtl_config=cfg.replace(tau_readout_trace=6.0),
        stop_at_first=True,
    )
    assert wrong.first is not None and wrong.first.state == "zo_bar", str(wrong.first)


def test_the_readout_trace_is_a_region_of_its_own_after_the_others():
    """``zobar`` exists only with ``tau_readout_trace`` and comes last, so every other region
    keeps its index; loading traces asks for z~ exactly when the config keeps one."""
    from plasticore.contract.geometry import Geometry

    plain, kept = Geometry(preset("small")), Geometry(preset("small").replace(tau_readout_trace=18.0))
    assert "zobar" not in plain.regions and list(kept.regions)[-1] == "zobar"
    assert all(kept.regions[name].index == region.index for name, region in plain.regions.items())
    x, z = np.zeros(16, dtype=np.int64), np.zeros(32, dtype=np.int64)
    assert list(kept.trace_values(x, z, z)) == ["xbar", "zbar", "zobar"]
    with pytest.raises(ValueError, match="zo_bar: needed"):
        kept.trace_values(x, z)
    with pytest.raises(ValueError, match="no readout trace of its own"):
        plain.trace_values(x, z, z)
