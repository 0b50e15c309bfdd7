"""Huh & Sejnowski trained and deployed to the chip (plasticore.training.huh_sejnowski_train).

* Deployment: every hidden weight lands within half an integer LSB of its float value (in
  units of theta: ``2**w_shift / (2 threshold)``), on the finest grid its width allows; the
  chip network's leak, readout decay and reset are the trained network's.
* With the gate narrowed to nothing, the gated network on the deployed float weights spikes
  exactly as golden's hard-threshold network (float twin) does, tick for tick.
* A short deterministic training run lowers the loss; ``plasticore train --rule huh-sejnowski``
  keeps the JSON contract of the other rules.
"""

import dataclasses
import json

import numpy as np
import pytest

from plasticore.cli import main
from plasticore.golden.network import run
from plasticore.golden.numerics import FloatNumerics
from plasticore.reference import huh_sejnowski as hs
from plasticore.tasks import make_task
from plasticore.tasks.xor import xor_task
from plasticore.training import huh_sejnowski_train as hst
from plasticore.training.train import TASK_SPECS, train

SMALL_XOR = dict(n_train=96, n_test=64, group=4, pulse_ticks=5, delay_ticks=5, go_ticks=5, rate=0.5, noise_rate=0.0)


def small_spec(**kw):
    base = hst.HS_SPECS["xor"]
    return dataclasses.replace(base, config={**base.config, "n_rec": 16}, **kw)


def trained_like_weights(cfg, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "w_in": rng.normal(0, 0.4, (cfg.n_rec, cfg.n_in)),
        "w_rec": rng.normal(0, 0.2, (cfg.n_rec, cfg.n_rec)),
        "w_out": rng.normal(0, 1.0, (cfg.n_out, cfg.n_rec)),
    }


def test_deploy_rounds_each_weight_to_half_an_lsb_on_the_finest_grid():
    task = xor_task(0, **SMALL_XOR)
    cfg = hst.chip_config(task, small_spec(), seed=0)
    w = trained_like_weights(cfg)
    chip, wi = hst.deploy(cfg, w)
    assert (chip.n_alif, chip.refractory, chip.reset) == (0, 0, "zero")
    lsb = (1 << chip.w_shift) / chip.threshold  # one integer weight step, in units of theta
    for name in ("w_in", "w_rec"):
        back = getattr(wi, name) * lsb
        assert np.abs(back - w[name]).max() <= lsb / 2 + 1e-12, name
    peak = max(np.abs(w["w_in"]).max(), np.abs(w["w_rec"]).max())
    w_max = (1 << (chip.w_bits - 1)) - 1
    assert peak * chip.threshold / (1 << chip.w_shift) <= w_max  # the largest weight fits
    assert peak * (chip.threshold + 1) / (1 << chip.w_shift) > w_max  # and a finer grid would not
    out_scale = w_max / np.abs(w["w_out"]).max()
    assert np.abs(wi.w_out / out_scale - w["w_out"]).max() <= 0.5 / out_scale + 1e-12
    # leak, readout decay and reset of the trained network are the chip's (threshold aside)
    p = hst.hs_params(chip, 0.5)
    assert p.alpha == chip.alpha_q / 2**chip.decay_bits and p.kappa_out == chip.kappa_q / 2**chip.decay_bits
    assert p.reset_mode == chip.reset


def test_narrow_gate_on_deployed_float_weights_is_goldens_hard_network():
    task = xor_task(1, **SMALL_XOR)
    cfg = hst.chip_config(task, small_spec(), seed=1)
    w = trained_like_weights(cfg, 1)
    w["w_in"] *= 3.0  # drive far above threshold: spikes on consecutive ticks
    chip, _ = hst.deploy(cfg, w)
    wf = hst.float_weights(chip, w)
    x = task.test.x[:16]
    rec = run(chip, wf, np.swapaxes(x, 0, 1).astype(np.int64), FloatNumerics())
    gated = hs.forward(dataclasses.replace(hst.hs_params(chip, 1e-9)), w, x.astype(np.float64))
    np.testing.assert_array_equal(gated.c, rec.z)
    out_scale = ((1 << (chip.w_bits - 1)) - 1) / np.abs(w["w_out"]).max()
    np.testing.assert_allclose(gated.y * out_scale, rec.y, atol=1e-6)
    assert (rec.z[1:] * rec.z[:-1]).sum() > 50 and rec.z.mean() < 0.9


def test_short_training_run_lowers_the_loss_and_is_deterministic():
    task = xor_task(0, **SMALL_XOR)
    spec = small_spec(epochs=4, batch=16, lr=0.02, stop_error=None)
    cfg = hst.chip_config(task, spec, seed=0)
    w, losses, curve, params = hst.train_float(cfg, spec, task, seed=0)
    print(f"loss per epoch {np.round(losses, 3)}, held-out {curve}")
    assert losses[-1] < 0.5 * losses[0]
    assert params.delta == pytest.approx(spec.delta_end)
    w2, losses2, _, _ = hst.train_float(cfg, spec, task, seed=0)
    assert losses2 == losses and all(np.array_equal(w[k], w2[k]) for k in w)


def test_xor_data_are_the_other_rules():
    assert hst.HS_SPECS["xor"].task_kw == TASK_SPECS["xor"].task_kw


def test_cli_rule_keeps_the_json_contract(tmp_path, capsys):
    path = tmp_path / "hs.json"
    argv = ["train", "--task", "xor", "--rule", "huh-sejnowski", "--seed", "2", "--epochs", "1"]
    code = main([*argv, "--train-samples", "64", "--test-samples", "32", "--quiet", "--json", str(path)])
    assert code == 0
    obj = json.loads(path.read_text())
    assert json.loads(capsys.readouterr().out) == obj
    task = make_task("store-recall", 2, n_train=4, n_test=4)
    assert obj.keys() == train(task, "erbp", "fixed", epochs=1).as_json().keys()
    assert (obj["task"], obj["rule"], obj["numerics"], obj["metric"]) == ("xor", "huh-sejnowski", "fixed", "accuracy")
    assert 0.0 <= obj["value"] <= 1.0 and len(obj["curve"]) == 1


def test_bad_input_is_refused_in_one_line():
    task = xor_task(0, **SMALL_XOR)
    with pytest.raises(ValueError, match="numerics"):
        hst.train_huh_sejnowski(task, 0, "double")
    with pytest.raises(ValueError, match="huh-sejnowski spec"):
        hst.spec_for("digits")
    cfg = hst.chip_config(task, small_spec(), seed=0)
    zero = {k: np.zeros_like(v) for k, v in trained_like_weights(cfg).items()}
    with pytest.raises(ValueError, match="zero"):
        hst.deploy(cfg, zero)
