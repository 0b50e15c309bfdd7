"""Learning-to-learn (plasticore.training.l2l, plasticore.tasks.l2l_regression, ``plasticore l2l``).

* The task family: same seed, same bits; the episode's layout (the previous target arrives
  during the next example, nothing before the first; answers on the last ticks); each
  function spans [-1, 1].
* The outer loop lowers the held-out error (float and quantization-aware fixed point, whose
  weights are the chip's integers).
* The inner loop on the RTL (the ``small`` preset's model, shared with tests/test_host_sim.py;
  ``lsnn64``'s, a build of its own, behind the slow marker): an episode runs bit for bit as
  golden fixed point, and the weights read back are unchanged.
* ``--config`` picks the network (``lsnn64``) and its LIF-only twin, trained the same way.
* ``plasticore l2l`` keeps its JSON contract, reuses saved weights, writes the report.
"""

import dataclasses
import json

import numpy as np
import pytest

from plasticore.cli import main
from plasticore.golden.config import ConfigError
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


def test_networks_by_config_and_their_lif_only_twins():
    small, small_lif = l2l.l2l_config("lsnn"), l2l.l2l_config("lif")
    assert (small.name, small.n_alif, small_lif.name, small_lif.n_alif) == ("small", 8, "small-lif", 0)
    big, big_lif = l2l.l2l_config("lsnn", "lsnn64"), l2l.l2l_config("lif", "lsnn64")
    assert (big.n_rec, big.n_alif, big_lif.n_rec, big_lif.n_alif) == (64, 32, 64, 0)
    assert dataclasses.replace(big_lif, name=big.name, n_alif=big.n_alif) == big  # nothing else differs
    # the twins are trained the same way, on the same family as the small network
    assert l2l.spec_for("lsnn64") is l2l.L2L_SPECS[big.name]
    assert l2l.spec_for("lsnn64").task_kw == l2l.L2L_SPEC.task_kw
    assert l2l.spec_for("small") is l2l.L2L_SPEC
    with pytest.raises(ConfigError, match="nor an L2L network .*lsnn64"):
        l2l.l2l_config("lsnn", "nonsense")


def heldout_mse(cfg, w, numerics):
    ep = l2l.heldout_episodes(cfg, SHORT)
    y = l2l.run_golden(cfg, w, ep, numerics)
    return float(l2l.mse_by_example(l2l.predictions(y, SHORT.target_scale), ep).mean())


@pytest.mark.parametrize("config", ["small", "lsnn64"])
def test_outer_loop_lowers_the_heldout_error_float_then_fixed(config):
    cfg = l2l.l2l_config("lsnn", config)
    start = l2l.meta_train(cfg, SHORT, seed=0, numerics="float", steps=0)
    trained = l2l.meta_train(cfg, SHORT, seed=0, numerics="float", steps=30)
    before, after = heldout_mse(cfg, start.weights, "float"), heldout_mse(cfg, trained.weights, "float")
    assert after < 0.7 * before, (before, after)
    fixed = l2l.meta_train(cfg, SHORT, seed=0, numerics="fixed", start=trained.shadow, steps=5)
    for name in ("w_in", "w_rec", "w_out"):
        m = getattr(fixed.weights, name)
        assert m.dtype == np.int64 and -128 <= m.min() and m.max() <= 127, name
    assert heldout_mse(cfg, fixed.weights, "fixed") < 0.7 * before


def save_initial_weights(folder, cfg):
    """Weights in the CLI's place as if meta-trained (the initial draw: the CLI's plumbing is
    under test here, not training)."""
    w = init_weights(cfg, 1)
    shadow = {k: np.asarray(getattr(w, k), dtype=np.float64) for k in ("w_in", "w_rec", "w_out")}
    for phase in l2l.NUMERICS:
        l2l.save_weights(folder / f"{cfg.name}-seed1-{phase}.npz", cfg, shadow, phase, [])
    return folder


@pytest.fixture
def saved_weights(tmp_path):
    return save_initial_weights(tmp_path, l2l.l2l_config("lsnn"))


def test_cli_json_contract_and_report(saved_weights, tmp_path, capsys):
    out, report = tmp_path / "l2l.json", tmp_path / "report"
    argv = ["l2l", "--family", "regression", "--numerics", "fixed", "--episodes", "8", "--quiet"]
    argv += ["--weights-dir", str(saved_weights), "--json", str(out), "--report", str(report)]
    assert main(argv) == 0
    obj = json.loads(out.read_text())
    assert (obj["family"], obj["neurons"], obj["numerics"], obj["backend"]) == ("regression", "lsnn", "fixed", "golden")
    assert obj["config"] == "small"
    assert len(obj["mse_by_example"]) == l2l.L2L_SPEC.task_kw.get("examples", 16)
    assert obj["mse_mean_predictor"] > 0 and obj["seconds"] > 0
    assert "reused" in capsys.readouterr().err
    assert (report / "mse.png").stat().st_size > 0 and (report / "episode.png").stat().st_size > 0


def test_cli_config_picks_the_network_and_its_weights(tmp_path, capsys, monkeypatch):
    folder = save_initial_weights(tmp_path, l2l.l2l_config("lif", "lsnn64"))
    out = tmp_path / "l2l.json"
    monkeypatch.chdir(tmp_path)  # the default report folder, named after the network
    argv = ["l2l", "--config", "lsnn64", "--neurons", "lif", "--numerics", "float", "--episodes", "4", "--quiet"]
    assert main([*argv, "--weights-dir", str(folder), "--json", str(out)]) == 0
    obj = json.loads(out.read_text())
    assert (obj["config"], obj["neurons"], obj["numerics"]) == ("l2l-lsnn64-lif", "lif", "float")
    assert len(obj["mse_by_example"]) == l2l.spec_for("lsnn64").task_kw["examples"]
    assert "reused" in capsys.readouterr().err  # not meta-trained again
    assert (tmp_path / "reports/l2l-regression-l2l-lsnn64-lif-float-golden-seed1/mse.png").stat().st_size > 0


def test_cli_refuses_rtl_in_float():
    assert main(["l2l", "--numerics", "float", "--backend", "rtl"]) == 2


def check_episode_on_the_rtl(config):
    from plasticore.cosim.host_transport import TEST_PARAMS
    from plasticore.host import Host
    from plasticore.l2l_chip import run_episodes_on_chip

    cfg = l2l.l2l_config("lsnn", config)
    w = init_weights(cfg, 3)
    w = dataclasses.replace(w, b_fb=np.zeros_like(w.b_fb))
    spec = dataclasses.replace(SHORT, task_kw=dict(examples=3, example_ticks=8, answer_ticks=4))
    ep = l2l.heldout_episodes(cfg, spec, 1)
    with Host.simulated(cfg, TEST_PARAMS) as chip:
        result = run_episodes_on_chip(chip, w, ep)
    assert result.equal_to_golden == {"readout on every tick": True, "spikes on every tick": True}
    assert all(result.weights_unchanged.values()), result.weights_unchanged
    assert np.abs(result.y).max() > 0  # the network was driven


def test_episode_on_the_rtl_is_golden_fixed_with_frozen_weights():
    check_episode_on_the_rtl("small")


@pytest.mark.slow
def test_episode_on_the_rtl_of_lsnn64_is_golden_fixed_with_frozen_weights():
    """lsnn64 needs a Verilator model of its own (minutes to build): behind the slow marker."""
    check_episode_on_the_rtl("lsnn64")
