"""cocotb co-simulation on Verilator: the RTL core bit-exact against golden, every tick.

Default run: the ``small`` preset and a few random configurations, 500 ticks each (each new
configuration costs one Verilator build, ~20 s; rebuilds are cached). The full set (20 random
configurations, and ``reckon`` over 2000 ticks) is behind the ``slow`` marker (`make bench`).
"""

import numpy as np
import pytest

from plasticore.cosim.runner import run_lockstep
from plasticore.cosim.stimulus import make_stimulus, random_config, random_register_schedule
from plasticore.golden import FixedNumerics, Weights, preset
from plasticore.golden.learning import init_learning, learning_tick
from plasticore.golden.network import init_state
from plasticore.golden.registers import LearningRegisters

TICKS = 500


def check(cfg, st, tmp_path):
    result = run_lockstep(cfg, st.weights, st.x, st.targets, st.valid, out_dir=tmp_path)
    rep = result.report
    assert rep["ticks"] == len(st.x)
    assert rep["mismatches"] == 0, f"{rep['first_mismatch']} (waveform: {result.waveform})"
    return rep


def test_small_preset(tmp_path):
    cfg = preset("small")
    rep = check(cfg, make_stimulus(cfg, TICKS, seed=1, rate=0.1, weight_scale=1.0), tmp_path)
    assert rep["spikes"] > 0


@pytest.mark.parametrize("seed", [11, 12])
def test_random_configs(seed, tmp_path):
    cfg = random_config(seed)
    check(cfg, make_stimulus(cfg, TICKS, seed=seed), tmp_path)


def test_mismatch_is_reported_with_a_waveform(tmp_path):
    """Golden of a different config than the RTL: reported at its first tick, VCD kept."""
    cfg = preset("small")
    st = make_stimulus(cfg, 50, seed=2, rate=0.15, weight_scale=1.0)
    result = run_lockstep(
        cfg,
        st.weights,
        st.x,
        st.targets,
        st.valid,
        out_dir=tmp_path,
        golden_config=cfg.replace(threshold=cfg.threshold + 1),
    )
    assert result.mismatches > 0
    assert result.report["first_mismatch"].startswith("tick ")
    assert result.waveform is not None and result.waveform.stat().st_size > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20))
def test_random_configs_full(seed, tmp_path):
    cfg = random_config(seed)
    check(cfg, make_stimulus(cfg, TICKS, seed=seed), tmp_path)


@pytest.mark.slow
def test_reckon_2000_ticks(tmp_path):
    cfg = preset("reckon")
    rep = check(cfg, make_stimulus(cfg, 2000, seed=1, rate=0.05, weight_scale=1.0), tmp_path)
    assert rep["spikes"] > 0


# -- learning on: weights compared every 50 ticks and at the end ------------------------------------


def check_learning(cfg, st, tmp_path):
    result = run_lockstep(cfg, st.weights, st.x, st.targets, st.valid, out_dir=tmp_path, learn=True)
    rep = result.report
    assert rep["mismatches"] == 0, f"{rep['first_mismatch']} (waveform: {result.waveform})"
    assert rep["weight_checks"] >= len(st.x) // 50
    return rep


@pytest.mark.parametrize(
    "rule, pd, wout_bits, banks, pipelined, multipliers",
    [
        ("eprop_random", "boxcar", None, 1, False, "dsp"),
        ("erbp", "boxcar", None, 1, False, "dsp"),
        ("eprop_symmetric", "piecewise_linear", 12, 1, False, "dsp"),
        ("eprop_random", "piecewise_linear", None, 4, True, "factored"),
    ],
)
def test_small_learning(rule, pd, wout_bits, banks, pipelined, multipliers, tmp_path):
    # ("eprop_random", "boxcar") is the small preset itself: it reuses the inference test's build.
    # The symmetric case also has a 12-bit readout (wider than the 8-bit Win/Wrec), which B =
    # Wout^T then carries into the feedback path. The last case learns with four weight banks
    # and the two-stage passes and updaters (``pipelined``), whose products are factored
    # (``learn_multipliers``: V * (h * e_bar)).
    cfg = preset("small").replace(
        rule=rule,
        pseudo_derivative=pd,
        wout_bits=wout_bits,
        weight_banks=banks,
        pipelined=pipelined,
        learn_multipliers=multipliers,
    )
    rep = check_learning(cfg, make_stimulus(cfg, 300, seed=4, rate=0.1, weight_scale=1.0), tmp_path)
    assert rep["learn_cycles_per_tick"]["max"] > 0


@pytest.mark.parametrize(
    "rule, connectivity, rewire, banks, pipelined",
    [
        ("eprop_random", 0.25, True, 1, False),
        ("erbp", 0.5, False, 4, True),
    ],
)
def test_small_synapse_table_learning(rule, connectivity, rewire, banks, pipelined, tmp_path):
    """The sparse synapse table on Verilator: 2 (resp. 4) slot words of 8 per row; with DEEP R
    rewiring (slots pruned and re-targeted, every slot's column and weight compared), and
    with four weight banks and the pipelined updaters. Cycle counts are checked every tick."""
    cfg = preset("small").replace(
        rule=rule, connectivity=connectivity, rewire=rewire, weight_banks=banks, pipelined=pipelined
    )
    rep = check_learning(cfg, make_stimulus(cfg, 200, seed=4, rate=0.1, weight_scale=1.0), tmp_path)
    assert rep["learn_cycles_per_tick"]["max"] > 0
    if rewire:
        assert rep["rewired"] > 0  # the rewiring ran, and its wiring matched golden's


def test_small_learning_bounded_error_and_step(tmp_path):
    """cue-reckon's two built mechanisms together: the error clamp (its 2,000) and the one-sided
    "step" pseudo-derivative (a window of 819, not a power of two). Golden's own run shows that
    both act: readouts past the clamp on valid ticks, and neurons far above their threshold
    whose h is h_max (0 under the windowed shapes)."""
    cfg = preset("small").replace(pseudo_derivative="step", pd_window=819, error_clamp=2000)
    st = make_stimulus(cfg, 300, seed=4, rate=0.1, weight_scale=1.0)
    fx = FixedNumerics()
    w = Weights(*(np.asarray(getattr(st.weights, k), dtype=np.int64) for k in ("w_in", "w_rec", "w_out", "b_fb")))
    s, ls = init_state(cfg, fx, 1), init_learning(cfg, fx, 1)
    clamped = far_above = 0
    for t in range(len(st.x)):
        prev = s
        w, s, ls, out = learning_tick(cfg, fx, w, s, ls, st.x[t][None], st.targets[t][None], st.valid[t : t + 1])
        clamped += int(st.valid[t]) * int((np.abs(s.y) > cfg.error_clamp).sum())
        far_above += int(((s.u - out.threshold >= cfg.pd_window) & (prev.ref == 0)).sum())
    assert clamped > 10 and far_above > 10, (clamped, far_above)
    rep = check_learning(cfg, st, tmp_path)
    assert rep["learn_cycles_per_tick"]["max"] > 0


@pytest.mark.parametrize("multipliers", ["dsp", "factored"])
def test_small_learning_rate_regularization(multipliers, tmp_path):
    """Firing-rate regularization (``rate_target`` 16 trace LSBs, one spike's worth, and
    ``rate_reg_shift`` 2) with the "step" pseudo-derivative as in cue-reckon, g formed as V'*h
    and as its factors. Golden's own run shows that it acts: on valid ticks, neurons whose
    z_bar(t-1) is above the target and whose h is nonzero learn with V' != V."""
    from plasticore.golden.learning import pseudo_derivative, regularized_signal

    cfg = preset("small").replace(
        pseudo_derivative="step", pd_window=819, rate_target=16, rate_reg_shift=2, learn_multipliers=multipliers
    )
    st = make_stimulus(cfg, 300, seed=4, rate=0.1, weight_scale=1.0)
    fx = FixedNumerics()
    w = Weights(*(np.asarray(getattr(st.weights, k), dtype=np.int64) for k in ("w_in", "w_rec", "w_out", "b_fb")))
    s, ls = init_state(cfg, fx, 1), init_learning(cfg, fx, 1)
    acts = 0
    for t in range(len(st.x)):
        prev, z_bar_prev = s, ls.traces.z_bar
        w, s, ls, out = learning_tick(cfg, fx, w, s, ls, st.x[t][None], st.targets[t][None], st.valid[t : t + 1])
        h = pseudo_derivative(cfg, fx, s.u, out.threshold, prev.ref == 0)
        changed = regularized_signal(cfg, fx, s.v, z_bar_prev) != s.v
        acts += int(st.valid[t]) * int((changed & (h > 0)).sum())
    assert acts > 50, acts
    rep = check_learning(cfg, st, tmp_path)
    assert rep["learn_cycles_per_tick"]["max"] > 0


def test_small_learning_readout_trace_with_cue_reckons_mechanisms(tmp_path):
    """The readout's own trace z~ (``tau_readout_trace`` 4, the traces' 20) together with the
    error clamp, the step pseudo-derivative and rate regularization, as cue-reckon has them:
    z~ is compared every tick beside z_bar, the weights every 50 ticks."""
    cfg = preset("small").replace(
        tau_readout_trace=4.0,
        pseudo_derivative="step",
        pd_window=819,
        error_clamp=2000,
        rate_target=16,
        rate_reg_shift=2,
    )
    st = make_stimulus(cfg, 300, seed=4, rate=0.1, weight_scale=1.0)
    rep = check_learning(cfg, st, tmp_path)
    assert rep["learn_cycles_per_tick"]["max"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20))
def test_random_configs_learning_full(seed, tmp_path):
    cfg = random_config(seed)
    check_learning(cfg, make_stimulus(cfg, 1000, seed=seed), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "rule, pd, banks",
    [("eprop_random", "piecewise_linear", 1), ("erbp", "boxcar", 1), ("eprop_random", "piecewise_linear", 4)],
)
def test_reckon_learning_2000_ticks(rule, pd, banks, tmp_path):
    cfg = preset("reckon").replace(rule=rule, pseudo_derivative=pd, weight_banks=banks)
    check_learning(cfg, make_stimulus(cfg, 2000, seed=1, rate=0.05, weight_scale=1.0), tmp_path)


# -- run-time learning registers written between ticks (plasticore.golden.registers) ----------------


def check_registers(cfg, st, registers, tmp_path):
    result = run_lockstep(
        cfg, st.weights, st.x, st.targets, st.valid, out_dir=tmp_path, learn=True, registers=registers
    )
    rep = result.report
    assert rep["mismatches"] == 0, f"{rep['first_mismatch']} (waveform: {result.waveform})"
    return rep


def test_small_learning_registers_changed_mid_run(tmp_path):
    """Learning-rate shifts, learning enables and the threshold rewritten at random ticks: spikes, states,
    traces, weights, cycle counts and the registers read back all stay equal to golden's."""
    cfg = preset("small")
    ticks = 300
    registers = random_register_schedule(cfg, ticks, changes=12, seed=6)
    # the schedule reaches both shift extremes and turns every matrix's learning off at least once
    shifts = {r.lr_shift for r in registers.values()} | {r.out_lr_shift for r in registers.values()}
    assert {0, 32} <= shifts
    for enable in ("learn_input", "learn_recurrent", "learn_readout"):
        assert not all(getattr(r, enable) for r in registers.values()), enable
    rep = check_registers(cfg, make_stimulus(cfg, ticks, seed=4, rate=0.1, weight_scale=1.0), registers, tmp_path)
    assert rep["learn_cycles_per_tick"]["max"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_random_configs_learning_registers_full(seed, tmp_path):
    cfg = random_config(seed)
    ticks = 600
    registers = random_register_schedule(cfg, ticks, changes=20, seed=seed)
    check_registers(cfg, make_stimulus(cfg, ticks, seed=seed), registers, tmp_path)


def test_constant_registers_learning_bit_exact(tmp_path):
    """``ice40`` builds its learning parameters as constants (``runtime_registers`` false): the
    same learning, bit for bit, and its registers read back as the config's values."""
    cfg = preset("ice40")
    assert not cfg.runtime_registers
    st = make_stimulus(cfg, 200, seed=3, rate=0.1, weight_scale=1.0)
    registers = {0: LearningRegisters.of(cfg)}  # written (a no-op) and read back at tick 0
    rep = check_registers(cfg, st, registers, tmp_path)
    assert rep["learn_cycles_per_tick"]["max"] > 0
