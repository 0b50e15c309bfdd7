"""Learning-to-learn (plasticore.training.l2l, plasticore.tasks.l2l_regression, ``plasticore l2l``).

* The task family: same seed, same bits; the episode's layout (the previous target arrives
  during the next example, nothing before the first; answers on the last ticks); each
  function spans [-1, 1].
* The outer loop lowers the held-out error (float and quantization-aware fixed point, whose
  weights are the chip's integers).
* The inner loop on the RTL (the ``small`` preset's model, shared with tests/test_host_sim.py):
  an episode runs bit for bit as golden fixed point, and the weights read back are unchanged.
* ``plasticore l2l`` keeps its JSON contract, reuses saved weights, writes the report.
"""

import dataclasses
import json

import numpy as np
import pytest

from plasticore.cli import main
from plasticore.golden.network import init_weights
from plasticore.tasks.l2l_regression import l2l_regression
from plasticore.training import l2l

SHORT = dataclasses.replace(
    l2l.L2L_SPEC, task_kw=dict(examples=4, example_ticks=8, answer_ticks=4), batch=8, heldout=32
)


def test_same_seed_same_episodes():
    a, b = l2l_regression(3, 4), l2l_regression(3, 4)
    assert np.array_equal(a.split.x, b.split.x) and np.array_equal(a.ys, b.ys)
    assert not np.array_equal(a.split.x, l2l_regression(4, 4).split.x)


def test_episode_layout():
    ep = l2l_regression(0, 6, examples=5, example_ticks=10, answer_ticks=3, n_pop=8)
    assert ep.split.x.shape == (6, 50, 16) and ep.split.target.shape == (6, 50, 1)
    assert ep.split.x[:, :10, 8:].sum() == 0  # no previous target during the first example
    assert ep.split.x[:, 10:, 8:].sum() > 0
    per_example = ep.split.valid.reshape(6, 5, 10)
    assert per_example[:, :, 7:].all() and not per_example[:, :, :7].any()
    assert np.array_equal(ep.split.target[:, ::10, 0], ep.ys)
    assert np.abs(ep.ys).max() <= 1.0 and (ep.task_mse_of_mean > 0).all()
    # the previous target's code follows the previous example's value: its population's
    # spikes centre where the value is
    centres = np.linspace(-1, 1, 8)
    counts = ep.split.x[:, 10:, 8:].reshape(6, 4, 10, 8).sum(axis=2)
    decoded = (counts * centres).sum(-1) / np.maximum(counts.sum(-1), 1)
    assert np.corrcoef(decoded.ravel(), ep.ys[:, :-1].ravel())[0, 1] > 0.8


def test_bad_episode_shapes_are_refused():
    with pytest.raises(ValueError, match="answer_ticks"):
        l2l_regression(0, 2, example_ticks=4, answer_ticks=5)
    with pytest.raises(ValueError, match="examples"):
        l2l_regression(0, 2, examples=1)
    with pytest.raises(ValueError, match="neurons"):
        l2l.l2l_config("alif")


def heldout_mse(cfg, w, numerics):
    ep = l2l.heldout_episodes(cfg, SHORT)
    y = l2l.run_golden(cfg, w, ep, numerics)
    return float(l2l.mse_by_example(l2l.predictions(y, SHORT.target_scale), ep).mean())


def test_outer_loop_lowers_the_heldout_error_float_then_fixed():
    cfg = l2l.l2l_config("lsnn")
    start = l2l.meta_train(cfg, SHORT, seed=0, numerics="float", steps=0)
    trained = l2l.meta_train(cfg, SHORT, seed=0, numerics="float", steps=30)
    before, after = heldout_mse(cfg, start.weights, "float"), heldout_mse(cfg, trained.weights, "float")
    assert after < 0.7 * before, (before, after)
    fixed = l2l.meta_train(cfg, SHORT, seed=0, numerics="fixed", start=trained.shadow, steps=5)
    for name in ("w_in", "w_rec", "w_out"):
        m = getattr(fixed.weights, name)
        assert m.dtype == np.int64 and -128 <= m.min() and m.max() <= 127, name
    assert heldout_mse(cfg, fixed.weights, "fixed") < 0.7 * before


@pytest.fixture
def saved_weights(tmp_path):
    """Weights in the CLI's place as if meta-trained (the initial draw: the CLI's plumbing is
    under test here, not training)."""
    cfg = l2l.l2l_config("lsnn")
    w = init_weights(cfg, 1)
    shadow = {k: np.asarray(getattr(w, k), dtype=np.float64) for k in ("w_in", "w_rec", "w_out")}
    for phase in l2l.NUMERICS:
        l2l.save_weights(tmp_path / f"{cfg.name}-seed1-{phase}.npz", cfg, shadow, phase, [])
    return tmp_path


def test_cli_json_contract_and_report(saved_weights, tmp_path, capsys):
    out, report = tmp_path / "l2l.json", tmp_path / "report"
    argv = ["l2l", "--family", "regression", "--numerics", "fixed", "--episodes", "8", "--quiet"]
    argv += ["--weights-dir", str(saved_weights), "--json", str(out), "--report", str(report)]
    assert main(argv) == 0
    obj = json.loads(out.read_text())
    assert (obj["family"], obj["neurons"], obj["numerics"], obj["backend"]) == ("regression", "lsnn", "fixed", "golden")
    assert len(obj["mse_by_example"]) == l2l.L2L_SPEC.task_kw.get("examples", 16)
    assert obj["mse_mean_predictor"] > 0 and obj["seconds"] > 0
    assert "reused" in capsys.readouterr().err
    assert (report / "mse.png").stat().st_size > 0 and (report / "episode.png").stat().st_size > 0


def test_cli_refuses_rtl_in_float():
    assert main(["l2l", "--numerics", "float", "--backend", "rtl"]) == 2


def test_episode_on_the_rtl_is_golden_fixed_with_frozen_weights():
    from plasticore.cosim.host_transport import TEST_PARAMS
    from plasticore.host import Host
    from plasticore.l2l_chip import run_episodes_on_chip

    cfg = l2l.l2l_config("lsnn")
    w = init_weights(cfg, 3)
    w = dataclasses.replace(w, b_fb=np.zeros_like(w.b_fb))
    spec = dataclasses.replace(SHORT, task_kw=dict(examples=3, example_ticks=8, answer_ticks=4))
    ep = l2l.heldout_episodes(cfg, spec, 1)
    with Host.simulated(cfg, TEST_PARAMS) as chip:
        result = run_episodes_on_chip(chip, w, ep)
    assert result.equal_to_golden == {"readout on every tick": True, "spikes on every tick": True}
    assert all(result.weights_unchanged.values()), result.weights_unchanged
    assert np.abs(result.y).max() > 0  # the network was driven
