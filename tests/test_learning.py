"""Hardware-form learning (golden/learning.py): hand-computed updates, LFSR draw order, rails."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticore.golden import Config, ConfigError, FixedNumerics, FloatNumerics, Weights, init_state
from plasticore.golden.learning import (
    LearnState,
    Traces,
    init_learning,
    learn,
    learning_tick,
    pseudo_derivative,
    sround,
    update_traces,
)
from plasticore.golden.lfsr import lane_seeds, step
from plasticore.golden.network import State, TickOut

FIX, FLT = FixedNumerics(), FloatNumerics()


def one_synapse(**overrides) -> Config:
    """1 input, 1 neuron, 1 output, one lane: every update is one number to compute by hand."""
    base = dict(
        n_in=1,
        n_rec=1,
        n_out=1,
        lanes=1,
        threshold=100,
        pd_window=64,
        h_bits=4,
        trace_inc=10,
        tau_m=20.0,
        decay_bits=8,
        lr_shift=8,
        out_lr_shift=3,
        w_bits=12,
        w_shift=0,
        out_shift=0,
        pseudo_derivative="piecewise_linear",
        rule="eprop_random",
        lfsr_seed=1,
    )
    base.update(overrides)
    return Config(**base)


def arr(*v, dtype=np.int64):
    return np.array([list(v)], dtype=dtype)


def crafted_tick(cfg, num, z_prev=1, ref_prev=0, u=90, v=-7, e=5, z_now=0):
    """A tick's before/after state as the learning unit sees it (one batch element)."""
    prev = State(u=arr(0), a=arr(0), ref=arr(ref_prev), z=arr(z_prev), y=arr(0), v=arr(0), e=arr(0))
    new = State(
        u=arr(u, dtype=num.dtype),
        a=arr(0),
        ref=arr(0),
        z=arr(z_now),
        y=arr(0),
        v=arr(v, dtype=num.dtype),
        e=arr(e, dtype=num.dtype),
    )
    out = TickOut(z=arr(z_now), e=arr(e, dtype=num.dtype), threshold=arr(cfg.threshold))
    return prev, new, out


def weights(cfg, w_in=10, w_rec=-20, w_out=30, dtype=np.int64):
    return Weights(
        np.full((cfg.n_rec, cfg.n_in), w_in, dtype=dtype),
        np.full((cfg.n_rec, cfg.n_rec), w_rec, dtype=dtype),
        np.full((cfg.n_out, cfg.n_rec), w_out, dtype=dtype),
        np.zeros((cfg.n_rec, cfg.n_out), dtype=dtype),
    )


def lfsr_values(seed, n):
    out, s = [], seed
    for _ in range(n):
        s = step(s)
        out.append(s)
    return out


def test_eprop_one_synapse_hand_computed():
    cfg = one_synapse()
    assert cfg.trace_q == 244 and cfg.pd_shift == 2
    prev, new, out = crafted_tick(cfg, FIX)
    ls = LearnState(Traces(arr(20), arr(30)), lane_seeds(cfg.lfsr_seed, 1))
    w, ls2, h = learn(cfg, FIX, weights(cfg), prev, new, out, arr(1), np.array([True]), ls)
    # h: |U - A| = 10; rshift(64 - 10, 2) = (54 + 2) >> 2 = 14
    assert h.tolist() == [[14]]
    # g = V * h = -7 * 14 = -98
    # traces: x_bar(t) = (20*244) >> 8 + 10 = 19 + 10 = 29; z_bar(t) = (30*244) >> 8 + 0 = 28
    assert ls2.traces.x_bar.tolist() == [[29]] and ls2.traces.z_bar.tolist() == [[28]]
    # e-prop: input row uses x_bar(t) = 29, recurrent row uses z_bar(t-1) = 30; one word each,
    # so draws 1 and 2 of the lane; the readout row (z_bar(t) = 28) takes draw 3
    r1, r2, r3 = lfsr_values(int(lane_seeds(cfg.lfsr_seed, 1)[0]), 3)
    d_in = (98 * 29 + (r1 & 255)) >> 8  # 2842 / 256 = 11.1 -> 11 or 12
    d_rec = (98 * 30 + (r2 & 255)) >> 8  # 2940 / 256 = 11.5
    d_out = (-5 * 28 + (r3 & 7)) >> 3  # -140 / 8 = -17.5 -> -18 or -17
    assert d_in in (11, 12) and d_rec in (11, 12) and d_out in (-18, -17)
    assert w.w_in.tolist() == [[10 + d_in]]
    assert w.w_rec.tolist() == [[-20 + d_rec]]
    assert w.w_out.tolist() == [[30 + d_out]]
    assert ls2.lfsr.tolist() == [r3]


def test_erbp_one_synapse_hand_computed():
    cfg = one_synapse(rule="erbp", pseudo_derivative="boxcar")
    prev, new, out = crafted_tick(cfg, FIX)
    ls = LearnState(Traces(arr(20), arr(30)), lane_seeds(cfg.lfsr_seed, 1))
    w, ls2, h = learn(cfg, FIX, weights(cfg), prev, new, out, arr(1), np.array([True]), ls)
    assert h.tolist() == [[15]]  # boxcar: 36 < 90 < 164, so h = 2**4 - 1
    # e_bar = trace_inc * spike = 10 for the input (x=1) and the recurrent row (z(t-1)=1)
    # g = -7 * 15 = -105; p = 1050 = 4.1 * 256
    r1, r2, r3 = lfsr_values(int(lane_seeds(cfg.lfsr_seed, 1)[0]), 3)
    assert w.w_in.tolist() == [[10 + ((1050 + (r1 & 255)) >> 8)]]
    assert w.w_rec.tolist() == [[-20 + ((1050 + (r2 & 255)) >> 8)]]
    assert w.w_out.tolist() == [[30 + ((-5 * 28 + (r3 & 7)) >> 3)]]  # readout: z_bar(t), as e-prop


def test_erbp_without_presynaptic_spike_does_not_touch_the_row_or_draw():
    cfg = one_synapse(rule="erbp", pseudo_derivative="boxcar", learn_readout=False)
    prev, new, out = crafted_tick(cfg, FIX, z_prev=0)
    ls = LearnState(Traces(arr(20), arr(30)), lane_seeds(cfg.lfsr_seed, 1))
    w, ls2, _ = learn(cfg, FIX, weights(cfg), prev, new, out, arr(0), np.array([True]), ls)
    assert w.w_in.tolist() == [[10]] and w.w_rec.tolist() == [[-20]]
    assert ls2.lfsr.tolist() == ls.lfsr.tolist()


@pytest.mark.parametrize(
    "u, ref, expected_box, expected_pwl",
    [
        (100, 0, 15, 15),  # at threshold: pwl (64 + 2) >> 2 = 16 saturates to 15
        (36, 0, 0, 0),  # U = A - window: outside the open boxcar, pwl 0
        (37, 0, 15, 0),  # (64 - 63 + 2) >> 2 = 0
        (50, 0, 15, 4),  # |d| = 50: (14 + 2) >> 2 = 4
        (163, 0, 15, 0),
        (164, 0, 0, 0),
        (100, 1, 0, 0),  # refractory: no pseudo-derivative
    ],
)
def test_pseudo_derivative_window_edges(u, ref, expected_box, expected_pwl):
    box = one_synapse(pseudo_derivative="boxcar")
    pwl = one_synapse()
    thr = arr(100)
    assert pseudo_derivative(box, FIX, arr(u), thr, arr(ref) == 0).tolist() == [[expected_box]]
    assert pseudo_derivative(pwl, FIX, arr(u), thr, arr(ref) == 0).tolist() == [[expected_pwl]]


def test_traces_decay_to_exactly_zero_and_saturate():
    cfg = one_synapse(trace_bits=6, trace_inc=40)
    tr = Traces(arr(0), arr(0))
    tr = update_traces(cfg, FIX, tr, arr(1), arr(1))
    tr = update_traces(cfg, FIX, tr, arr(1), arr(1))
    assert tr.x_bar.tolist() == [[63]]  # 40 -> (40*244 >> 8) + 40 = 78 -> rail 63
    for _ in range(200):
        tr = update_traces(cfg, FIX, tr, arr(0), arr(0))
    assert tr.x_bar.tolist() == [[0]] and tr.z_bar.tolist() == [[0]]


def slow_reference_update(cfg, w_in, w_rec, w_out, g, e_bar, e, z_bar, seeds):
    """Scalar loop in the hardware's visiting order, written independently of plasticore.golden.learning."""
    P, K = cfg.lanes, cfg.weight_banks
    lanes = [int(s) for s in seeds]
    assert len(lanes) == cfg.lfsr_lanes
    pre = [list(col) for col in np.concatenate([w_in, w_rec], axis=1).T.tolist()]  # pre-major rows
    lo, hi = -(1 << (cfg.w_bits - 1)), (1 << (cfg.w_bits - 1)) - 1
    draws_per_lane = 0
    for i in range(cfg.n_in + cfg.n_rec):
        if e_bar[i] == 0:
            continue
        bank = (i % K) * P  # row i is learned by bank i mod K, on that bank's lanes
        for word in range(math.ceil(cfg.n_rec / P)):
            for lane in range(P):
                lanes[bank + lane] = step(lanes[bank + lane])
                j = word * P + lane
                if j < cfg.n_rec:
                    p = -int(g[j]) * int(e_bar[i])
                    d = (p + (lanes[bank + lane] & ((1 << cfg.lr_shift) - 1))) >> cfg.lr_shift
                    pre[i][j] = min(max(pre[i][j] + d, lo), hi)
            draws_per_lane += 1
    out = [list(col) for col in w_out.T.tolist()]
    for j in range(cfg.n_rec):
        if z_bar[j] == 0:
            continue
        first = 0 if K == 1 else K * P  # the readout's lanes: after the hidden rows, or its own
        for word in range(math.ceil(cfg.n_out / P)):
            for lane in range(P):
                lanes[first + lane] = step(lanes[first + lane])
                k = word * P + lane
                if k < cfg.n_out:
                    p = -int(e[k]) * int(z_bar[j])
                    d = (p + (lanes[first + lane] & ((1 << cfg.out_lr_shift) - 1))) >> cfg.out_lr_shift
                    out[j][k] = min(max(out[j][k] + d, lo), hi)
            draws_per_lane += 1
    pre = np.array(pre).T
    return pre[:, : cfg.n_in], pre[:, cfg.n_in :], np.array(out).T, lanes, draws_per_lane


@pytest.mark.parametrize("rule, banks", [("eprop_random", 1), ("erbp", 1), ("eprop_random", 2), ("erbp", 4)])
def test_lfsr_draw_order_matches_a_slow_reference_loop(rule, banks):
    # 3 inputs, 5 neurons, 3 outputs, P = 2: rows split into 3 words (the last lane of the last
    # word is past n_rec and draws unused); the readout is 2 words of 2 lanes per z_bar row.
    # With K learning banks (P = 4, so that a row is 2 words, a power of two), row i draws
    # from bank i mod K's lanes and the readout from lanes of its own.
    P = 2 if banks == 1 else 4
    cfg = Config(
        n_in=3,
        n_rec=5,
        n_out=3,
        lanes=P,
        weight_banks=banks,
        rule=rule,
        lr_shift=5,
        out_lr_shift=6,
        w_bits=8,
        pseudo_derivative="boxcar",
        pd_window=4096,
        threshold=1000,
        lfsr_seed=12345,
    )
    rng = np.random.default_rng(7)
    w = Weights(
        rng.integers(-128, 128, (5, 3)),
        rng.integers(-128, 128, (5, 5)),
        rng.integers(-128, 128, (3, 5)),
        rng.integers(-128, 128, (5, 3)),
    )
    x = np.array([[1, 0, 1]])
    z_prev = np.array([[0, 1, 0, 0, 1]])
    prev = State(
        u=np.zeros((1, 5), np.int64),
        a=np.zeros((1, 5), np.int64),
        ref=np.array([[0, 0, 0, 1, 0]]),
        z=z_prev,
        y=np.zeros((1, 3), np.int64),
        v=np.zeros((1, 5), np.int64),
        e=np.zeros((1, 3), np.int64),
    )
    new = State(
        u=np.array([[900, -3000, 1100, 950, 200]]),
        a=np.zeros((1, 5), np.int64),
        ref=np.zeros((1, 5), np.int64),
        z=np.array([[0, 0, 1, 0, 0]]),
        y=np.zeros((1, 3), np.int64),
        v=np.array([[-300, 1200, 77, -5, 40]]),
        e=np.array([[-900, 0, 2500]]),
    )
    out = TickOut(z=new.z, e=np.array([[-900, 0, 2500]]), threshold=np.full((1, 5), 1000))
    # x_bar: input 1 is zero before and gets no spike -> its row is skipped (e-prop);
    # z_bar(t-1): neuron 0 and 3 are zero -> skipped (e-prop); eRBP skips by spikes instead
    ls = LearnState(
        Traces(np.array([[5, 0, 0]]), np.array([[0, 9, 3, 0, 100]])), lane_seeds(cfg.lfsr_seed, cfg.lfsr_lanes)
    )
    w2, ls2, h = learn(cfg, FIX, w, prev, new, out, x, np.array([True]), ls)

    from plasticore.golden.learning import presynaptic_factors

    e_in, e_rec = presynaptic_factors(cfg, ls.traces, ls2.traces, x, z_prev)
    e_bar = np.concatenate([e_in[0], e_rec[0]])
    skipped = int((e_bar == 0).sum())
    assert skipped >= 2  # the case really exercises row skipping
    g = new.v[0] * h[0]
    ref_in, ref_rec, ref_out, ref_lanes, n_draws = slow_reference_update(
        cfg, w.w_in, w.w_rec, w.w_out, g, e_bar, out.e[0], ls2.traces.z_bar[0], ls.lfsr
    )
    visited_rows = 8 - skipped
    assert n_draws == visited_rows * math.ceil(5 / P) + int((ls2.traces.z_bar[0] != 0).sum()) * math.ceil(3 / P)
    assert w2.w_in.tolist() == ref_in.tolist()
    assert w2.w_rec.tolist() == ref_rec.tolist()
    assert w2.w_out.tolist() == ref_out.tolist()
    assert ls2.lfsr.tolist() == ref_lanes


def test_weights_saturate_at_the_rails():
    cfg = one_synapse(w_bits=8, lr_shift=0, out_lr_shift=0)
    prev, new, out = crafted_tick(cfg, FIX, v=-2000, e=-3000)  # g = -28000: large positive dW
    ls = LearnState(Traces(arr(20), arr(30)), lane_seeds(cfg.lfsr_seed, 1))
    w, _, _ = learn(
        cfg, FIX, weights(cfg, w_in=120, w_rec=-128, w_out=100), prev, new, out, arr(1), np.array([True]), ls
    )
    assert w.w_in.tolist() == [[127]] and w.w_rec.tolist() == [[127]] and w.w_out.tolist() == [[127]]
    prev, new, out = crafted_tick(cfg, FIX, v=2000, e=3000)
    w, _, _ = learn(
        cfg, FIX, weights(cfg, w_in=-120, w_rec=127, w_out=-100), prev, new, out, arr(1), np.array([True]), ls
    )
    assert w.w_in.tolist() == [[-128]] and w.w_rec.tolist() == [[-128]] and w.w_out.tolist() == [[-128]]


def test_a_wider_readout_saturates_at_its_own_rails():
    """wout_bits 12: Wout saturates at +-2047 while Win/Wrec keep their 8-bit rails."""
    cfg = one_synapse(w_bits=8, wout_bits=12, lr_shift=0, out_lr_shift=0)
    prev, new, out = crafted_tick(cfg, FIX, v=-2000, e=-3000)
    ls = LearnState(Traces(arr(20), arr(30)), lane_seeds(cfg.lfsr_seed, 1))
    w, _, _ = learn(
        cfg, FIX, weights(cfg, w_in=120, w_rec=-128, w_out=1000), prev, new, out, arr(1), np.array([True]), ls
    )
    assert w.w_in.tolist() == [[127]] and w.w_rec.tolist() == [[127]] and w.w_out.tolist() == [[2047]]
    # a readout step that stays inside 12 bits is not clipped at the 8-bit rail: -e * z_bar(t) =
    # 5 * 28 = 140, exactly (shift 0, no rounding)
    prev, new, out = crafted_tick(cfg, FIX, v=0, e=-5)
    w, _, _ = learn(cfg, FIX, weights(cfg, w_out=1000), prev, new, out, arr(1), np.array([True]), ls)
    assert w.w_out.tolist() == [[1140]]


@pytest.mark.parametrize("num", [FIX, FLT], ids=["fixed", "float"])
def test_no_learning_when_the_target_is_invalid(num):
    cfg = Config(n_in=8, n_rec=12, n_out=3, lanes=4, threshold=200, lr_shift=2, out_lr_shift=2)
    rng = np.random.default_rng(3)
    w = Weights(
        rng.integers(-60, 60, (12, 8)),
        rng.integers(-60, 60, (12, 12)),
        rng.integers(-60, 60, (3, 12)),
        rng.integers(-60, 60, (12, 3)),
    ).astype(num.dtype)
    s, ls = init_state(cfg, num, 2), init_learning(cfg, num, 2)
    target = np.full((2, 3), 500)
    changed = []
    for t in range(30):
        x = rng.integers(0, 2, (2, 8))
        valid = np.array([t >= 20, False])
        w2, s, ls2, _ = learning_tick(cfg, num, w, s, ls, x, target, valid)
        changed.append(not all(np.array_equal(getattr(w, f), getattr(w2, f)) for f in ("w_in", "w_rec", "w_out")))
        if t < 20:
            assert ls2.lfsr.tolist() == ls.lfsr.tolist()  # no draws either
        w, ls = w2, ls2
    assert not any(changed[:20]) and any(changed[20:])
    assert ls.traces.x_bar.max() > 0  # traces run on every tick


def test_learning_tick_without_target_only_advances_traces():
    cfg = Config(n_in=4, n_rec=6, n_out=2)
    w = Weights(np.full((6, 4), 50), np.zeros((6, 6), np.int64), np.ones((2, 6), np.int64), np.ones((6, 2), np.int64))
    s, ls = init_state(cfg, FIX), init_learning(cfg, FIX)
    w2, s, ls, _ = learning_tick(cfg, FIX, w, s, ls, np.ones((1, 4), np.int64))
    assert w2 is w and ls.traces.x_bar.tolist() == [[cfg.trace_inc] * 4]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(-3000, 3000),
    st.integers(-4000, 4000),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(-5000, 5000),
    st.sampled_from(["eprop_random", "erbp"]),
    st.sampled_from(["boxcar", "piecewise_linear"]),
    st.integers(0, 1),
    st.integers(0, 1),
)
def test_fixed_and_float_learning_steps_agree_within_the_bound(u, v, xb, zb, e, rule, pd, x, zp):
    """Same tick values in both numerics: the update differs by less than

    1 (stochastic rounding) + |V| * (h * |de_bar| + |dh| * max(e_bar_float, 2**trace_bits - 1)) / 2**lr_shift
    with |dh| <= 1 (h's rounding and its saturation at 2**h_bits - 1) and |de_bar| < 1 (the
    truncating trace decay) unless the fixed trace saturated at 2**trace_bits - 1 (the float
    twin does not saturate), for Win/Wrec; and 1 + |e| * |dz_bar| / 2**out_lr_shift for Wout.
    """
    cfg = one_synapse(
        rule=rule,
        pseudo_derivative=pd,
        threshold=1000,
        pd_window=1024,
        lr_shift=10,
        out_lr_shift=8,
        w_bits=16,
        trace_bits=8,
        trace_inc=30,
    )
    outs = {}
    for num in (FIX, FLT):
        prev, new, out = crafted_tick(cfg, num, z_prev=zp, u=u, v=v, e=e)
        ls = LearnState(Traces(arr(xb, dtype=num.dtype), arr(zb, dtype=num.dtype)), lane_seeds(cfg.lfsr_seed, 1))
        w, ls2, h = learn(
            cfg, num, weights(cfg, 0, 0, 0, dtype=num.dtype), prev, new, out, arr(x), np.array([True]), ls
        )
        outs[num.name] = (w, h, ls2.traces)
    (wf, hf, tf), (wr, hr, tr) = outs["fixed"], outs["float"]
    dh = abs(float(hf[0, 0]) - float(hr[0, 0]))
    assert dh <= 1.0
    trace_max = (1 << cfg.trace_bits) - 1
    for weight, name in (("w_in", "x_bar"), ("w_rec", "z_bar")):
        fixed_bar, float_bar = float(getattr(tf, name)[0, 0]), float(getattr(tr, name)[0, 0])
        de = abs(fixed_bar - float_bar)
        assert de < 1 or fixed_bar == trace_max, (name, fixed_bar, float_bar)
        slack = abs(v) * (float(hf[0, 0]) * de + dh * max(float_bar, trace_max)) / (1 << cfg.lr_shift)
        assert abs(float(getattr(wf, weight)[0, 0]) - float(getattr(wr, weight)[0, 0])) < 1 + slack, weight
    assert abs(float(wf.w_out[0, 0]) - float(wr.w_out[0, 0])) < 1 + abs(e) * 1.0 / (1 << cfg.out_lr_shift)


def test_stochastic_rounding_is_unbiased_and_within_one():
    p = np.full(1 << 12, -1234567, dtype=np.int64)
    r = np.arange(1 << 12, dtype=np.uint32) * 977  # low 12 bits cover every value once
    out = sround(FIX, p, 12, r)
    exact = -1234567 / 4096
    assert np.all(np.abs(out - exact) < 1)
    assert out.mean() == pytest.approx(exact, abs=1e-9)


def test_same_seed_same_bits():
    cfg = Config(n_in=8, n_rec=12, n_out=3, lanes=4, threshold=200, lr_shift=6, out_lr_shift=8)
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(11)
        w = Weights(
            rng.integers(-60, 60, (12, 8)),
            rng.integers(-60, 60, (12, 12)),
            rng.integers(-60, 60, (3, 12)),
            rng.integers(-60, 60, (12, 3)),
        )
        s, ls = init_state(cfg, FIX), init_learning(cfg, FIX)
        for _ in range(40):
            w, s, ls, _ = learning_tick(cfg, FIX, w, s, ls, rng.integers(0, 2, (1, 8)), np.full((1, 3), 300))
        runs.append((w, ls.lfsr))
    (wa, la), (wb, lb) = runs
    assert all(np.array_equal(getattr(wa, f), getattr(wb, f)) for f in ("w_in", "w_rec", "w_out"))
    assert la.tolist() == lb.tolist()


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"pseudo_derivative": "piecewise_linear", "pd_window": 500}, "pd_window: 500 must be a power of two"),
        ({"pseudo_derivative": "piecewise_linear", "pd_window": 8, "h_bits": 4}, ">= 2**h_bits = 16"),
        ({"lr_shift": 33}, "lr_shift: 33 is outside the allowed range 0..32"),
        ({"out_lr_shift": 40}, "out_lr_shift: 40 is outside the allowed range 0..32"),
        ({"trace_inc": 256}, "trace_inc: 256 is outside the allowed range 1..255 (trace_bits=8)"),
        ({"h_bits": 0}, "h_bits: 0 is outside the allowed range 1..16"),
        ({"learn_readout": "yes"}, "learn_readout: 'yes' is not a boolean"),
    ],
)
def test_learning_fields_are_validated(changes, fragment):
    with pytest.raises(ConfigError) as err:
        Config(**changes)
    assert fragment in str(err.value)
