"""The silicon anchor's learning mechanisms in golden (issue 20 item 3): the bounded output error
(``error_clamp``), the one-sided "step" pseudo-derivative and firing-rate regularization
(``rate_target``, ``rate_reg_shift``), each hand-computed in fixed point and in the float twin,
validated, and built by the RTL (tests/test_hdl_blocks.py and tests/test_cosim.py prove the
three bit-exact), which still refuses the other cue-reckon mechanisms beside them."""

import numpy as np
import pytest

# the one-synapse helpers of the hand-computed learning tests (tests/ is on sys.path under pytest)
from test_learning import arr, crafted_tick, one_synapse, weights

from plasticore.golden import Config, ConfigError, FixedNumerics, FloatNumerics
from plasticore.golden.learning import LearnState, Traces, learn, pseudo_derivative, regularized_signal
from plasticore.golden.lfsr import lane_seeds, step
from plasticore.golden.network import init_state, tick

FIX, FLT = FixedNumerics(), FloatNumerics()


@pytest.mark.parametrize("num", [FIX, FLT])
@pytest.mark.parametrize("y, target, expected", [(900, 500, 200), (-900, -500, -200), (300, 500, -200), (-90, 0, -90)])
def test_error_clamp_bounds_the_readout_before_the_error(num, y, target, expected):
    # a readout past its target on the right side (|Y| > 700 beyond a target of +-500) makes only
    # the clamp's error; inside the clamp the error is Y - y* as without it
    cfg = one_synapse(error_clamp=700, out_shift=0, tau_out=1e6, decay_bits=16)
    s = init_state(cfg, num)
    s = type(s)(**{**s.__dict__, "y": arr(y, dtype=num.dtype)})
    _, out = tick(cfg, num, weights(cfg, dtype=num.dtype), s, arr(0), target=arr(target), valid=np.array([True]))
    unclamped = round(y * cfg.kappa_q / 65536) if num is FIX else y * cfg.kappa_q / 65536
    assert out.e.tolist() == [[pytest.approx(min(max(unclamped, -700), 700) - target)]]
    assert abs(out.e[0, 0] - expected) <= 1


def test_error_clamp_off_is_the_old_error():
    cfg = one_synapse()
    s = init_state(cfg, FIX)
    s = type(s)(**{**s.__dict__, "y": arr(5000)})
    _, out = tick(cfg, FIX, weights(cfg), s, arr(0), target=arr(100), valid=np.array([True]))
    assert out.e.tolist() == [[(5000 * cfg.kappa_q + 128 >> 8) - 100]]


@pytest.mark.parametrize("num", [FIX, FLT])
def test_step_pseudo_derivative_is_one_sided(num):
    # threshold 100, pd_window 64: h = 15 from U > 36 up, also far above the threshold
    cfg = one_synapse(pseudo_derivative="step")
    u = np.array([[-500, 0, 36, 37, 99, 100, 5000]], dtype=num.dtype)
    h = pseudo_derivative(cfg, num, u, np.full_like(u, 100), np.ones_like(u, dtype=bool))
    assert h.tolist() == [[0, 0, 0, 15, 15, 15, 15]]
    # refractory neurons have none
    assert pseudo_derivative(cfg, num, u, np.full_like(u, 100), np.zeros_like(u, dtype=bool)).tolist() == [[0] * 7]


def test_rate_regularization_adds_the_excess_rate_to_the_learning_signal():
    cfg = one_synapse(rate_target=25, rate_reg_shift=1)
    # z_bar 30 is 5 above the target: V = -7 + rshift(5, 1) = -7 + 3 = -4; below it: V unchanged
    assert regularized_signal(cfg, FIX, arr(-7), arr(30)).tolist() == [[-4]]
    assert regularized_signal(cfg, FIX, arr(-7), arr(20)).tolist() == [[-7]]
    assert regularized_signal(cfg, FLT, arr(-7.0), arr(30.0)).tolist() == [[-4.5]]
    # it saturates at v_bits like V
    wide = one_synapse(rate_target=0, v_bits=8)
    assert regularized_signal(wide, FIX, arr(100), arr(1000)).tolist() == [[127]]
    assert regularized_signal(one_synapse(), FIX, arr(-7), arr(30)).tolist() == [[-7]]


def test_rate_regularization_in_the_weight_update_hand_computed():
    # test_learning's e-prop synapse (h = 14, x_bar 29 after this tick's decay and spike, z_bar
    # 30) with rate_target 10: g = (V + rshift(30 - 10, 2)) * h = (-7 + 5) * 14 = -28
    cfg = one_synapse(rate_target=10, rate_reg_shift=2)
    prev, new, out = crafted_tick(cfg, FIX)
    ls = LearnState(Traces(arr(20), arr(30)), lane_seeds(cfg.lfsr_seed, 1))
    w, _, h = learn(cfg, FIX, weights(cfg), prev, new, out, arr(1), np.array([True]), ls)
    assert h.tolist() == [[14]]
    r1, r2 = (lambda s: [s := step(s) for _ in range(2)])(int(lane_seeds(cfg.lfsr_seed, 1)[0]))
    assert w.w_in.tolist() == [[10 + ((28 * 29 + (r1 & 255)) >> 8)]]
    assert w.w_rec.tolist() == [[-20 + ((28 * 30 + (r2 & 255)) >> 8)]]
    # the float twin: the same update, exact (h = (64 - 10) / 4 = 13.5 unrounded: g = -27)
    prev, new, out = crafted_tick(cfg, FLT)
    lsf = LearnState(Traces(arr(20.0), arr(30.0)), ls.lfsr)
    wf, _, _ = learn(cfg, FLT, weights(cfg, dtype=np.float64), prev, new, out, arr(1), np.array([True]), lsf)
    x_bar = 20 * cfg.trace_q / 256 + 10
    assert wf.w_in[0, 0] == pytest.approx(10 + 27 * x_bar / 256)
    assert wf.w_rec[0, 0] == pytest.approx(-20 + 27 * 30 / 256)


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"error_clamp": 0}, "error_clamp: 0 is outside the allowed range 1.."),
        ({"error_clamp": 40000}, "error_clamp: 40000 is outside the allowed range 1..32767 (y_bits=16)"),
        ({"rate_target": 300}, "rate_target: 300 is outside the allowed range 0..255 (trace_bits=8)"),
        ({"rate_reg_shift": 33}, "rate_reg_shift: 33 is outside the allowed range 0..32"),
        ({"pseudo_derivative": "sigmoid"}, "pseudo_derivative: 'sigmoid' is not allowed; choose one of"),
    ],
)
def test_new_fields_are_validated(changes, fragment):
    with pytest.raises(ConfigError) as err:
        Config(**changes)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    "changes, fragment",
    [
        # the built ones do not hide an unbuilt one beside them
        (
            {"trace_bits": 20, "trace_inc": 4096, "tau_readout_trace": 18.0, "rate_target": 100, "error_clamp": 1000},
            "trace_bits: 20 (above 16) is not built by the RTL yet",
        ),
    ],
)
def test_the_rtl_refuses_what_it_does_not_build(changes, fragment):
    from plasticore.hdl.core import Core

    with pytest.raises(ConfigError) as err:
        Core(Config(**changes))
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    "changes",
    [
        {"error_clamp": 1000},
        {"pseudo_derivative": "step", "pd_window": 819},
        {"rate_target": 100, "rate_reg_shift": 3},
        {"rate_target": 100, "error_clamp": 1000, "pseudo_derivative": "step", "pd_window": 819},
        {"tau_readout_trace": 18.0},
        {"tau_readout_trace": 18.0, "rate_target": 100, "error_clamp": 1000, "pseudo_derivative": "step"},
    ],
)
def test_the_rtl_builds_the_error_clamp_the_step_rate_regularization_and_readout_trace(changes):
    from plasticore.hdl.core import Core

    cfg = Config(**changes)
    assert cfg.unbuilt_learning_features() == []
    Core(cfg)


def test_cue_reckon_still_needs_one_unbuilt_feature():
    # what stands between the task's spec and the chip (bench/chip_loop.py and compare narrow it)
    from plasticore.training.train import task_config

    cfg = task_config("cue-reckon", "eprop", 40)
    assert cfg.error_clamp == 250 and cfg.pseudo_derivative == "step" and cfg.rate_target == 655360
    assert cfg.unbuilt_learning_features() == ["trace_bits: 22 (above 16)"]


def test_the_chip_loop_bench_and_compare_run_cue_reckon_with_everything_the_rtl_builds():
    # bench/chip_loop.py and plasticore compare: the traces narrow to 16 bits, the rest stays
    from plasticore.bench.chip_loop import buildable_spec
    from plasticore.compare import COMPARE_SPECS, DEFAULT_RULES
    from plasticore.training.train import TASK_SPECS, task_config

    spec = buildable_spec(TASK_SPECS["cue-reckon"])
    assert spec.config == COMPARE_SPECS["cue-reckon"].config and DEFAULT_RULES["cue-reckon"] == "eprop-symmetric"
    cfg = task_config("cue-reckon", "eprop-symmetric", 40, spec=spec)
    assert cfg.unbuilt_learning_features() == []
    assert cfg.error_clamp == 250 and cfg.pseudo_derivative == "step" and cfg.tau_readout_trace == 1928.0
    assert (cfg.trace_bits, cfg.trace_inc, cfg.rate_target) == (16, 1 << 9, 655360 >> 6)
