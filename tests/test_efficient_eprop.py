"""Sample-efficient e-prop fields (issue 20 item 3): the readout's own trace, learning enables
per matrix, the float twin's rails, and the RTL's refusal of what it does not build yet."""

import numpy as np
import pytest

# the one-synapse helpers of the hand-computed learning tests (tests/ is on sys.path under pytest)
from test_learning import arr, crafted_tick, one_synapse
from test_learning import weights as learning_weights

from plasticore.golden import Config, ConfigError, FixedNumerics, FloatNumerics
from plasticore.golden.learning import LearnState, Traces, init_learning, init_traces, learn, update_traces
from plasticore.golden.lfsr import lane_seeds, step
from plasticore.golden.network import init_state, init_weights, poisson_inputs, tick

FIX, FLT = FixedNumerics(), FloatNumerics()


def crafted(cfg, num, v=-7, e=5):
    """test_learning's crafted tick: z(t-1) = 1, U = 90 against threshold 100, V and e given."""
    return crafted_tick(cfg, num, v=v, e=e)


def weights(cfg, dtype=np.int64, w_out=30):
    return learning_weights(cfg, w_out=w_out, dtype=dtype)


def test_readout_learns_from_its_own_trace_hand_computed():
    # tau_readout_trace 5: q = round(exp(-1/5) * 256) = 210; the readout's z~ = (40*210) >> 8 =
    # 32 (no spike this tick), while z_bar = (30*244) >> 8 = 28 drives nothing of the readout
    cfg = one_synapse(tau_readout_trace=5.0)
    assert cfg.readout_trace_q == 210
    prev, new, out = crafted(cfg, FIX)
    ls = LearnState(Traces(arr(20), arr(30), arr(40)), lane_seeds(cfg.lfsr_seed, 1))
    w, ls2, _ = learn(cfg, FIX, weights(cfg), prev, new, out, arr(1), np.array([True]), ls)
    assert ls2.traces.z_bar.tolist() == [[28]] and ls2.traces.zo_bar.tolist() == [[32]]
    _, _, r3 = (lambda s: [s := step(s) for _ in range(3)])(int(lane_seeds(cfg.lfsr_seed, 1)[0]))
    assert w.w_out.tolist() == [[30 + ((-5 * 32 + (r3 & 7)) >> 3)]]
    # the float twin: the same update without rounding
    wf, lsf, _ = learn(
        cfg,
        FLT,
        weights(cfg, np.float64),
        *crafted(cfg, FLT),
        arr(1),
        np.array([True]),
        LearnState(Traces(arr(20.0), arr(30.0), arr(40.0)), ls.lfsr),
    )
    assert wf.w_out[0, 0] == pytest.approx(30 - 5 * 40 * 210 / 256 / 8)


def test_readout_trace_is_kept_only_when_configured():
    assert init_traces(Config(), FIX).zo_bar is None
    tr = init_traces(Config(tau_readout_trace=18.0), FIX, batch=3)
    assert tr.zo_bar is not None and tr.zo_bar.shape == (3, 32)
    # it decays with its own factor and saturates at trace_bits like the others
    cfg = one_synapse(tau_readout_trace=2.0, trace_bits=6, trace_inc=40)
    tr = Traces(arr(0), arr(0), arr(0))
    for _ in range(2):
        tr = update_traces(cfg, FIX, tr, arr(1), arr(1))
    assert tr.zo_bar.tolist() == [[63]] and tr.z_bar.tolist() == [[63]]
    tr = update_traces(cfg, FIX, tr, arr(0), arr(0))
    assert tr.zo_bar.tolist() == [[(63 * cfg.readout_trace_q) >> 8]] and tr.z_bar.tolist() == [[(63 * 244) >> 8]]


@pytest.mark.parametrize("enable", ["learn_input", "learn_recurrent"])
def test_a_disabled_matrix_keeps_its_weights_and_draws_nothing(enable):
    cfg = one_synapse(**{enable: False})
    prev, new, out = crafted(cfg, FIX)
    ls = LearnState(Traces(arr(20), arr(30)), lane_seeds(cfg.lfsr_seed, 1))
    w, ls2, _ = learn(cfg, FIX, weights(cfg), prev, new, out, arr(1), np.array([True]), ls)
    r1, r2 = (lambda s: [s := step(s) for _ in range(2)])(int(lane_seeds(cfg.lfsr_seed, 1)[0]))
    frozen, learned = ("w_in", "w_rec") if enable == "learn_input" else ("w_rec", "w_in")
    assert getattr(w, frozen).tolist() == getattr(weights(cfg), frozen).tolist()
    # one row skipped: the other hidden row takes draw 1, the readout draw 2
    pre = 29 if learned == "w_in" else 30
    start = 10 if learned == "w_in" else -20
    assert getattr(w, learned).tolist() == [[start + ((98 * pre + (r1 & 255)) >> 8)]]
    assert ls2.lfsr.tolist() == [r2]


def test_default_fields_keep_every_bit():
    """The new fields at their defaults learn exactly as before (no readout trace, both
    matrices learning, ideal twin): a short random run is the same with the fields spelled out."""
    base = Config(n_in=8, n_rec=12, n_out=3, lanes=4, lr_shift=6, out_lr_shift=6, pseudo_derivative="piecewise_linear")
    spelled = base.replace(tau_readout_trace=None, learn_input=True, learn_recurrent=True, twin_saturates=False)
    assert spelled == base
    assert init_traces(base, FIX).zo_bar is None


def test_twin_with_rails_saturates_weights_and_error():
    cfg = one_synapse(w_bits=8, lr_shift=0, out_lr_shift=0, e_bits=8, twin_saturates=True)
    prev, new, out = crafted(cfg, FLT, v=-2000, e=-3000)
    ls = LearnState(Traces(arr(20.0), arr(30.0)), lane_seeds(cfg.lfsr_seed, 1))
    w, _, _ = learn(cfg, FLT, weights(cfg, np.float64, w_out=100), prev, new, out, arr(1), np.array([True]), ls)
    assert w.w_in.tolist() == [[127.0]] and w.w_rec.tolist() == [[127.0]] and w.w_out.tolist() == [[127.0]]
    ideal = cfg.replace(twin_saturates=False)
    w, _, _ = learn(ideal, FLT, weights(cfg, np.float64, w_out=100), prev, new, out, arr(1), np.array([True]), ls)
    assert w.w_in[0, 0] > 127 and w.w_out[0, 0] > 127
    # the error saturates at e_bits in the tick, as sat_s does in fixed point
    wts = weights(cfg, np.float64)
    s = init_state(cfg, FLT)
    for twin, expected in ((cfg, -128.0), (ideal, -1000.0)):
        _, o = tick(twin, FLT, wts, s, arr(0), target=arr(1000.0), valid=np.array([True]))
        assert o.e.tolist() == [[expected]]


def test_twin_with_rails_holds_the_membrane_on_its_rail_as_fixed_point_does():
    """A membrane driven past its u_bits rail: fixed point and the twin with rails clamp it
    (and stay within the twin bound of each other); the ideal twin runs past the rail."""
    cfg = Config(
        n_in=6, n_rec=8, n_out=2, lanes=2, u_bits=12, a_bits=8, threshold=2000, w_shift=4, refractory=15
    ).replace(twin_saturates=True)
    w = init_weights(cfg, in_scale=2.0)
    x = poisson_inputs(cfg, 60, 0.8)
    rail = (1 << 11) - 1
    sf, sr, si = init_state(cfg, FIX), init_state(cfg, FLT), init_state(cfg, FLT)
    ideal = cfg.replace(twin_saturates=False)
    peaks = []
    for t in range(60):
        sf, _ = tick(cfg, FIX, w, sf, x[t])
        sr, _ = tick(cfg, FLT, w.astype(np.float64), sr, x[t], force_z=sf.z)
        si, _ = tick(ideal, FLT, w.astype(np.float64), si, x[t], force_z=sf.z)
        peaks.append((sf.u.max(), sr.u.max(), si.u.max(), np.abs(sr.u - sf.u).max()))
    fixed_peak, twin_peak, ideal_peak, dev = (max(p[k] for p in peaks) for k in range(4))
    assert fixed_peak == rail and twin_peak == rail and ideal_peak > rail
    assert dev <= 0.5 / (1 - cfg.alpha_q / 256)


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"tau_readout_trace": 0.1}, "tau_readout_trace: 0.1 is outside the allowed range 0.5..1000000.0"),
        ({"learn_input": 0}, "learn_input: 0 is not a boolean"),
        ({"learn_recurrent": "no"}, "learn_recurrent: 'no' is not a boolean"),
        ({"twin_saturates": 1}, "twin_saturates: 1 is not a boolean"),
        ({"trace_bits": 25}, "trace_bits: 25 is outside the allowed range 2..24"),
    ],
)
def test_new_fields_are_validated(changes, fragment):
    with pytest.raises(ConfigError) as err:
        Config(**changes)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"trace_bits": 20, "trace_inc": 4096}, "trace_bits: 20 (above 16) is not built by the RTL yet"),
    ],
)
def test_the_rtl_refuses_what_it_does_not_build(changes, fragment):
    from plasticore.hdl.core import Core

    with pytest.raises(ConfigError) as err:
        Core(Config(**changes))
    assert fragment in str(err.value)
    Core(Config(twin_saturates=True))  # the twin's rails change nothing in fixed point


@pytest.mark.parametrize("enable", ["learn_input", "learn_recurrent"])
def test_the_rtl_builds_the_learning_enables_as_registers(enable):
    """A matrix's learning off is the reset value of its run-time register (its bit-exactness
    with the enables switched between ticks: tests/test_cosim.py, ``*registers*``)."""
    from plasticore.hdl.core import Core
    from plasticore.hdl.learning_registers import LearningRegisterFile

    cfg = Config(**{enable: False})
    Core(cfg)
    assert getattr(LearningRegisterFile(cfg), enable).init == 0


def test_trained_network_learns_with_the_new_fields_in_both_numerics():
    cfg = Config(
        n_in=8, n_rec=16, n_out=2, lanes=4, lr_shift=10, out_lr_shift=8, tau_readout_trace=10.0, learn_recurrent=False
    )
    for num in (FIX, FLT):
        w = init_weights(cfg).astype(num.dtype)
        w_rec0 = w.w_rec.copy()
        ls = init_learning(cfg, num)
        s = init_state(cfg, num)
        x = poisson_inputs(cfg, 50, 0.3)
        for t in range(50):
            new, out = tick(cfg, num, w, s, x[t], np.full((1, 2), 500), np.array([True]))
            w, ls, _ = learn(cfg, num, w, s, new, out, x[t], np.array([True]), ls)
            s = new
        assert np.array_equal(w.w_rec, w_rec0) and ls.traces.zo_bar is not None and ls.traces.zo_bar.any()


def test_cue_reckon_task_and_network_have_the_anchor_shape():
    from plasticore.tasks import make_task
    from plasticore.training.train import TASK_SPECS, task_config

    task = make_task("cue-reckon", 1, n_train=2, n_test=2)
    assert (task.name, task.n_in, task.n_out, task.train.ticks) == ("cue-reckon", 40, 2, 2250)
    assert task.train.valid[0].sum() == 150 and task.train.valid[0, -150:].all()
    assert len(make_task("cue-reckon", 1).train) == 50 and len(make_task("cue-reckon", 1).test) == 50
    cfg = task_config("cue-reckon", "eprop", task.n_in)
    assert (cfg.n_rec, cfg.n_alif, cfg.w_bits, TASK_SPECS["cue-reckon"].epochs) == (100, 0, 8, 10)
    # the anchor's membrane leak: alpha = 0x7FEF / 2**15 exactly; the readout leaks with it too
    # (the spec's one departure from the anchor, whose kappa is 0x79 / 2**7)
    assert cfg.alpha_q == 0x7FEF << 1 and cfg.kappa_q == cfg.alpha_q
