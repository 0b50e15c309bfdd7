"""Layers from wiring (golden/layers.py): feedforward hidden layers inside the recurrent pool as
masks on the dense table. Off by default (today's bits); the masked synapses stay exactly 0
under learning while the others learn the dense table's bits; the RTL refuses it."""

import json

import numpy as np
import pytest

from plasticore.golden import Config, ConfigError, init_state, init_weights, poisson_inputs, tick
from plasticore.golden.layers import layer_masks, layer_of, mask_weights
from plasticore.golden.learning import init_learning, learn
from plasticore.golden.numerics import FixedNumerics, FloatNumerics

FIX, FLT = FixedNumerics(), FloatNumerics()


def layered_config(hidden_layers: int, **changes) -> Config:
    fields = dict(n_in=6, n_rec=12, n_out=3, lanes=4, rule="erbp", threshold=300, lr_shift=6, out_lr_shift=9)
    fields.update(changes)
    return Config(hidden_layers=hidden_layers, **fields)


def test_the_masks_wire_inputs_to_layer_0_each_layer_to_the_next_and_the_last_to_the_readout():
    cfg = layered_config(3)  # 12 neurons: layers 0-3, 4-7, 8-11
    assert layer_of(cfg).tolist() == [0] * 4 + [1] * 4 + [2] * 4
    m_in, m_rec, m_out = layer_masks(cfg)
    assert m_in[:4].all() and not m_in[4:].any()
    assert m_out[:, 8:].all() and not m_out[:, :8].any()
    expected = np.zeros((12, 12), bool)
    expected[4:8, 0:4] = True  # post x pre: layer 0 -> layer 1
    expected[8:12, 4:8] = True  # layer 1 -> layer 2
    assert (m_rec == expected).all()


def test_hidden_layers_0_is_the_all_to_all_pool_with_no_mask():
    cfg = layered_config(0)
    assert Config().hidden_layers == 0
    assert all(m.all() for m in layer_masks(cfg))
    w = init_weights(cfg)
    assert mask_weights(cfg, w) is w


@pytest.mark.parametrize("num", [FIX, FLT], ids=["fixed", "float"])
@pytest.mark.parametrize("hidden_layers", [1, 2, 3])
def test_masked_synapses_stay_zero_and_the_others_learn_the_dense_bits(num, hidden_layers):
    """From the same state, one learning tick of the layered config writes, at every synapse the
    masks keep, exactly what the all-to-all config writes, and the same LFSR states: the masks
    gate the writes, not the draws."""
    layered = layered_config(hidden_layers)
    dense = layered.replace(hidden_layers=0)
    m_in, m_rec, m_out = layer_masks(layered)
    w = mask_weights(layered, init_weights(layered, in_scale=1.0, rec_scale=1.0)).astype(num.dtype)
    ticks, batch = 40, 2
    x = poisson_inputs(layered, ticks, 0.3, batch=batch, seed=3)
    targets = np.random.default_rng(3).integers(-3000, 3000, size=(ticks, batch, layered.n_out))
    s, ls = init_state(layered, num, batch), init_learning(layered, num, batch)
    valid = np.ones(batch, bool)
    changed = 0
    for t in range(ticks):
        new, out = tick(layered, num, w, s, x[t], targets[t], valid)
        w_l, ls_l, _ = learn(layered, num, w, s, new, out, x[t], valid, ls)
        w_d, ls_d, _ = learn(dense, num, w, s, new, out, x[t], valid, ls)
        for got, full, mask in (
            (w_l.w_in, w_d.w_in, m_in),
            (w_l.w_rec, w_d.w_rec, m_rec),
            (w_l.w_out, w_d.w_out, m_out),
        ):
            assert (got[~mask] == 0).all()
            assert (got[mask] == full[mask]).all()
        assert (ls_l.lfsr == ls_d.lfsr).all()
        changed += int((w_l.w_in != w.w_in).sum() + (w_l.w_rec != w.w_rec).sum() + (w_l.w_out != w.w_out).sum())
        w, ls, s = w_l, ls_l, new
    assert changed > 0  # the run did learn


def test_config_validates_hidden_layers_and_the_rtl_refuses_them():
    with pytest.raises(ConfigError, match="hidden_layers: 5 is outside the allowed range 0 or a divisor of n_rec=12"):
        layered_config(5)
    with pytest.raises(ConfigError, match="hidden_layers: 2 .* sparse synapse table"):
        layered_config(2, connectivity=0.5)
    with pytest.raises(ConfigError, match="hidden_layers: -1 is outside the allowed range 0..64"):
        layered_config(-1)
    assert "hidden_layers: 2" in layered_config(2).unbuilt_learning_features()
    from plasticore.hdl.core import Core

    with pytest.raises(ConfigError, match="hidden_layers: 2 is not built by the RTL"):
        Core(layered_config(2))


def test_cli_train_with_two_hidden_layers(tmp_path, capsys):
    from plasticore.cli import main

    path = tmp_path / "r.json"
    args = ["train", "--task", "digits", "--rule", "erbp", "--epochs", "1", "--train-samples", "6"]
    args += ["--test-samples", "4", "--hidden-layers", "2", "--quiet", "--json", str(path)]
    assert main(args) == 0
    obj = json.loads(path.read_text())
    assert json.loads(capsys.readouterr().out) == obj
    assert obj["hidden_layers"] == 2
    assert obj["active_synapses"] == 64 * 100 + 100 * 100  # digits: 64 in, 200 LIF as 100 + 100


def test_the_layers_study_tabulates_its_results(tmp_path):
    from plasticore.experiments.layers_study import table

    for k, value in ((1, 0.8), (2, 0.7)):
        obj = dict(hidden_layers=k, numerics="fixed", seed=1, train_samples=500, curve=[value], value=value)
        obj.update(active_synapses=12800 if k == 1 else 16400, seconds=10.0)
        (tmp_path / f"digits-erbp-fixed-layers{k}-seed1.json").write_text(json.dumps(obj))
    rows = table(tmp_path).splitlines()
    assert rows[2] == "| 1 | 64-200-10 | fixed | 1 | 500 x 1 | **0.800** | 12,800 | 10 |"
    assert rows[3] == "| 2 | 64-100-100-10 | fixed | 1 | 500 x 1 | **0.700** | 16,400 | 10 |"
