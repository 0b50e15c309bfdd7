"""Training loops and ``plasticore train``: a short smoke run by default, the targets when slow."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from plasticore.cli import main
from plasticore.golden.network import init_weights
from plasticore.tasks import make_task
from plasticore.training.train import TASK_SPECS, TRAIN_RULES, task_config, train

KEYS = {
    "task",
    "rule",
    "numerics",
    "metric",
    "value",
    "curve",
    "seconds",
    "connectivity",
    "rewire",
    "active_synapses",
    "rewired",
    "hidden_layers",
}


def tiny(name="xor"):
    return make_task(name, 1, n_train=6, n_test=8)


#: the xor network, shrunk and with a fast hidden learning rate, so a few samples move every weight
SMOKE = dataclasses.replace(
    TASK_SPECS["xor"], config=dict(TASK_SPECS["xor"].config, n_rec=32, n_alif=16, lr_shift=14, out_lr_shift=14)
)


@pytest.mark.parametrize("numerics", ["fixed", "float"])
@pytest.mark.parametrize("rule", ["eprop", "eprop-symmetric", "erbp"])
def test_smoke_training_runs_and_changes_the_weights(rule, numerics):
    task = tiny()
    res = train(task, rule, numerics, epochs=2, seed=1, spec=SMOKE)
    assert res.as_json().keys() == KEYS
    assert res.metric == "accuracy" and len(res.curve) == 2 and 0.0 <= res.value <= 1.0
    assert res.value == res.curve[-1]
    w0 = init_weights(res.config, 1, **SMOKE.init)
    assert not np.array_equal(w0.w_out, res.weights.w_out)  # the readout learned
    assert not (np.array_equal(w0.w_in, res.weights.w_in) and np.array_equal(w0.w_rec, res.weights.w_rec))


def test_fixed_training_is_bit_reproducible_and_stays_integer():
    task = tiny()
    a = train(task, "eprop", "fixed", epochs=1, seed=3, spec=SMOKE)
    b = train(task, "eprop", "fixed", epochs=1, seed=3, spec=SMOKE)
    for f in ("w_in", "w_rec", "w_out"):
        wa, wb = getattr(a.weights, f), getattr(b.weights, f)
        assert wa.dtype == np.int64 and np.array_equal(wa, wb)
        assert wa.min() >= -128 and wa.max() <= 127


def test_pattern_is_scored_by_nmse():
    task = make_task("pattern", 1, n_train=2, n_test=2, ticks=40, n_in=10)
    res = train(task, "eprop", "float", epochs=1, seed=1)
    assert res.metric == "nmse" and res.value > 0


def test_bad_requests_are_clear_errors():
    task = tiny()
    with pytest.raises(ValueError, match="fixed-point rules train batch 1"):
        train(task, "eprop", "fixed", epochs=1, batch=4)
    with pytest.raises(ValueError, match="rule: 'hebb' is not one of"):
        train(task, "hebb", "fixed", epochs=1)
    with pytest.raises(ValueError, match="batch: 0 is not allowed"):
        train(task, "bptt", "fixed", epochs=1, batch=0)


def test_every_task_has_a_valid_default_network_for_every_rule():
    for name in TASK_SPECS:
        for rule in TRAIN_RULES:
            cfg = task_config(name, rule, 40)
            # the rule's published shape, unless the task's spec names its own (cue-reckon: "step")
            published = "boxcar" if rule == "erbp" else "piecewise_linear"
            assert cfg.pseudo_derivative == TASK_SPECS[name].config.get("pseudo_derivative", published)


def test_cli_train_writes_the_json_contract(tmp_path, capsys):
    path = tmp_path / "r.json"
    code = main(
        [
            "train",
            "--task",
            "store-recall",
            "--rule",
            "erbp",
            "--numerics",
            "fixed",
            "--seed",
            "2",
            "--epochs",
            "1",
            "--train-samples",
            "4",
            "--test-samples",
            "4",
            "--quiet",
            "--json",
            str(path),
        ]
    )
    assert code == 0
    obj = json.loads(path.read_text())
    assert obj.keys() == KEYS
    assert (obj["task"], obj["rule"], obj["numerics"], obj["metric"]) == ("store-recall", "erbp", "fixed", "accuracy")
    assert json.loads(capsys.readouterr().out) == obj


def test_cli_train_refuses_bad_input_without_traceback():
    out = subprocess.run(
        [sys.executable, "-m", "plasticore", "train", "--task", "cue", "--train-samples", "0"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "--train-samples: 0 is outside" in out.stderr and "Traceback" not in out.stderr


# -- the targets (long runs) ---------------------------------------------------------------------

#: store-recall's target is met by BPTT (offline; fixed point quantization-aware); the online
#: hardware rule's store-recall run stays in the list as a measured miss
TARGETS = [
    ("cue", "eprop", ">=", 0.90),
    ("digits", "erbp", ">=", 0.90),
    ("xor", "eprop", ">=", 0.95),
    ("store-recall", "bptt", ">=", 0.95),
    ("store-recall", "eprop", ">=", 0.95),
    ("pattern", "eprop", "<=", 0.10),
]


#: measured misses (docs/results.md, seed 1): kept as expected failures, not loosened targets
MISSES = {
    ("store-recall", "eprop", "fixed"): "measured 0.791 < 0.95",
    ("store-recall", "eprop", "float"): "measured 0.803 < 0.95",
}


@pytest.mark.slow
@pytest.mark.parametrize("numerics", ["fixed", "float"])
@pytest.mark.parametrize("name, rule, op, goal", TARGETS)
def test_training_reaches_the_target(name, rule, op, goal, numerics, request):
    if (name, rule, numerics) in MISSES:
        request.applymarker(pytest.mark.xfail(reason=MISSES[(name, rule, numerics)], strict=False))
    kw = {}
    if name == "digits":
        from plasticore.tasks.datasets import load_digits_arrays

        kw["digits_data"] = load_digits_arrays()
    task = make_task(name, 1, **TASK_SPECS[name].task_kw, **kw)
    res = train(task, rule, numerics, seed=1)
    assert res.value >= goal if op == ">=" else res.value <= goal, res.as_json()
