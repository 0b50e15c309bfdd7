"""golden.free_run: a stretch of ticks without a target, the same bits as learning_tick."""

import numpy as np
import pytest

from plasticore.golden import Config, FixedNumerics, FloatNumerics
from plasticore.golden.free_run import free_run
from plasticore.golden.learning import LearnState, init_learning, learning_tick
from plasticore.golden.network import State, init_state, init_weights, poisson_inputs

CONFIGS = {
    "lif": Config(n_in=10, n_rec=24, n_out=3, lanes=4, tau_m=30.0, threshold=600),
    "alif-zero-reset": Config(n_in=10, n_rec=24, n_alif=12, n_out=2, lanes=4, reset="zero", refractory=3),
    "readout-trace-rails": Config(
        n_in=10,
        n_rec=24,
        n_out=2,
        lanes=4,
        tau_readout_trace=5.0,
        twin_saturates=True,
        u_bits=12,
        a_bits=8,
        threshold=700,
        trace_bits=6,
    ),
}


@pytest.mark.parametrize("num", [FixedNumerics(), FloatNumerics()], ids=["fixed", "float"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_free_run_equals_learning_ticks_without_target(name, num):
    cfg = CONFIGS[name]
    w = init_weights(cfg, in_scale=1.5, rec_scale=0.6).astype(num.dtype)
    x = poisson_inputs(cfg, 80, 0.3, batch=2).astype(np.uint8)  # as the tasks store them
    # a mid-run start: the last tick's error still reaches the dendrite once
    s0 = init_state(cfg, num, 2)
    s0 = State(**{**s0.__dict__, "e": np.full((2, cfg.n_out), 300, dtype=num.dtype)})
    ls0 = init_learning(cfg, num, 2)
    s, ls, ys = s0, ls0, []
    for t in range(80):
        w2, s, ls, _ = learning_tick(cfg, num, w, s, ls, x[t].astype(np.int64))
        assert w2 is w or np.array_equal(w2.w_in, w.w_in)
        ys.append(s.y)
    fs, fls, fys = free_run(cfg, num, w, s0, ls0, x)
    assert s.z.any() and ls.traces.x_bar.any()
    for field in ("u", "a", "ref", "z", "y", "v", "e"):
        assert np.array_equal(getattr(fs, field), getattr(s, field)), field
    for field in ("x_bar", "z_bar", "zo_bar"):
        got, want = getattr(fls.traces, field), getattr(ls.traces, field)
        assert (got is None and want is None) or np.array_equal(got, want), field
    assert np.array_equal(fls.lfsr, ls.lfsr) and np.array_equal(fys, np.stack(ys))


def test_free_run_refuses_bad_inputs():
    cfg = CONFIGS["lif"]
    num = FixedNumerics()
    with pytest.raises(ValueError, match="n_in=10"):
        free_run(cfg, num, init_weights(cfg), init_state(cfg, num), init_learning(cfg, num), np.zeros((3, 1, 9)))
    assert isinstance(init_learning(cfg, num), LearnState)
