"""Your own data: ``plasticore train --data`` / ``compare --data`` on a ``.npz`` file (README, "Your own data")."""

import json

import numpy as np
import pytest

from plasticore.cli import main
from plasticore.tasks import load_user_data, user_data_task
from plasticore.tasks.user_data import HELD_OUT_FRACTION
from plasticore.training.train import TASK_SPECS, data_spec, train

#: the keys of ``plasticore train --json`` for a built-in task (TrainResult.as_json)
TRAIN_KEYS = {
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


def classification(n=30, ticks=12, n_in=6, classes=3, seed=0):
    """Class k: inputs 2k and 2k+1 fire often; the window is the last two thirds of the ticks."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    rates = np.full((n, ticks, n_in), 0.02)
    for i, k in enumerate(labels):
        rates[i, :, 2 * k : 2 * k + 2] = 0.6
    x = (rng.random(rates.shape) < rates).astype(np.uint8)
    window = np.zeros((n, ticks), dtype=bool)
    window[:, ticks // 3 :] = True
    return {"x": x, "window": window, "labels": labels}


def regression(n=20, ticks=16, n_in=6, n_out=2, seed=0):
    d = classification(n, ticks, n_in, seed=seed)
    t = np.arange(ticks) / ticks
    targets = np.stack([np.sin(2 * np.pi * t), 0.5 * np.cos(2 * np.pi * t)], axis=1)[:, :n_out]
    return {
        "x": d["x"],
        "window": np.ones((n, ticks), dtype=bool),
        "targets": np.broadcast_to(targets, (n, ticks, n_out)),
    }


def save(tmp_path, arrays, name="mine.npz"):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def tiny_config(tmp_path, n_out):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"base": "small", "name": "tiny", "n_rec": 8, "n_alif": 0, "n_out": n_out}))
    return str(path)


def train_cli(tmp_path, capsys, *args):
    out = tmp_path / "result.json"
    code = main(["train", *args, "--numerics", "fixed", "--epochs", "2", "--quiet", "--json", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    result = json.loads(out.read_text())
    assert json.loads(printed.out) == result
    return result


def test_classification_round_trip(tmp_path, capsys):
    data = save(tmp_path, classification())
    result = train_cli(tmp_path, capsys, "--data", data, "--config", tiny_config(tmp_path, 3))
    assert result.keys() == TRAIN_KEYS
    assert result["task"] == "mine" and result["metric"] == "accuracy" and result["rule"] == "eprop"
    assert len(result["curve"]) == 2 and 0.0 <= result["value"] <= 1.0
    # the same rules and numerics as the library's train() on the loaded task: the same bits
    again = train_cli(tmp_path, capsys, "--data", data, "--config", tiny_config(tmp_path, 3))
    assert again["curve"] == result["curve"]


def test_classification_with_the_default_network_learns(tmp_path, capsys):
    data = save(tmp_path, classification(n=40))
    result = train_cli(tmp_path, capsys, "--data", data, "--rule", "erbp")
    assert result.keys() == TRAIN_KEYS
    assert result["value"] > 0.6  # three classes: chance is 1/3


def test_regression_round_trip(tmp_path, capsys):
    data = save(tmp_path, regression(), name="waves.npz")
    result = train_cli(tmp_path, capsys, "--data", data, "--config", tiny_config(tmp_path, 2))
    assert result.keys() == TRAIN_KEYS
    assert result["task"] == "waves" and result["metric"] == "nmse" and result["value"] > 0
    # the default network (pattern's)
    result = train_cli(tmp_path, capsys, "--data", data)
    assert result["metric"] == "nmse" and np.isfinite(result["value"])


def test_held_out_split_from_the_seed_or_the_file(tmp_path):
    arrays = classification(n=30)
    task = load_user_data(save(tmp_path, arrays), seed=3)
    n_test = round(30 * HELD_OUT_FRACTION)
    assert (len(task.train), len(task.test)) == (30 - n_test, n_test) and HELD_OUT_FRACTION == 0.2
    same = load_user_data(save(tmp_path, arrays), seed=3)
    other = load_user_data(save(tmp_path, arrays), seed=4)
    assert np.array_equal(task.test.x, same.test.x) and not np.array_equal(task.test.labels, other.test.labels)
    # the held-out and training samples are the file's, one-hot targets over the window
    rows = {arr.tobytes() for arr in arrays["x"]}
    assert all(s.tobytes() in rows for s in np.concatenate([task.train.x, task.test.x]))
    assert task.n_in == 6 and task.n_out == 3 and task.train.x.dtype == np.uint8
    assert np.array_equal(task.train.target.argmax(axis=2)[:, -1], task.train.labels)
    assert not task.train.target[~task.train.valid].any()
    test = classification(n=5, seed=9)
    both = {**arrays, **{f"{k}_test": v for k, v in test.items()}}
    task = load_user_data(save(tmp_path, both), seed=3)
    assert len(task.train) == 30 and np.array_equal(task.test.labels, test["labels"])


def test_the_default_spec_follows_the_builtin_tasks(tmp_path):
    cls = user_data_task(classification(), seed=1)
    spec = data_spec(cls, TASK_SPECS["digits"])
    assert spec.target_scale == TASK_SPECS["digits"].target_scale and spec.config["n_out"] == 3
    reg = user_data_task(regression(), seed=1)
    spec = data_spec(reg, TASK_SPECS["pattern"])
    assert spec.target_scale == TASK_SPECS["pattern"].target_scale  # peak |target| 1.0, as pattern's
    doubled = user_data_task({**regression(), "targets": 2 * regression()["targets"]}, seed=1)
    assert data_spec(doubled, TASK_SPECS["pattern"]).target_scale == TASK_SPECS["pattern"].target_scale // 2


def _set(key, value):
    return lambda d: {**d, key: value}


def _at(key, index, value):
    def change(d):
        a = np.array(d[key])
        a[index] = value
        return {**d, key: a}

    return change


def _drop(*keys):
    return lambda d: {k: v for k, v in d.items() if k not in keys}


CASES = [
    (_at("x", (0, 3, 1), 2), "x: values must be 0 or 1, found 2 at index (0, 3, 1)"),
    (lambda d: {**d, "x": d["x"].astype(float) * 0.5}, "x: values must be 0 or 1, found 0.5 at index"),
    (
        lambda d: {**d, "x": d["x"][:, :, 0]},
        "x: shape (30, 12) must be (samples, ticks, inputs): 3 dimensions, found 2",
    ),
    (lambda d: {**d, "x": d["x"].astype(str)}, "x: dtype <U3 is not a number type"),
    (lambda d: {**d, "window": d["window"][:, :5]}, "window: shape (30, 5) must be (samples, ticks) = (30, 12)"),
    (_at("window", (4, slice(None)), False), "window: sample 4 has no scored tick"),
    (lambda d: {**d, "window": d["window"].astype(int) * 3}, "window: values must be True/False (or 0/1), found 3"),
    (lambda d: {**d, "labels": d["labels"].astype(float)}, "labels: dtype float64 is not an integer type"),
    (_at("labels", 7, -1), "labels: values must be >= 0, found -1 at index (7,)"),
    (lambda d: {**d, "labels": d["labels"][:10]}, "labels: shape (10,) must be (samples,) = (30,)"),
    (lambda d: {**d, "labels": np.zeros(30, dtype=int)}, "labels: classification needs at least 2 classes"),
    (_drop("labels"), "labels or targets: missing, give one of them"),
    (_set("targets", np.zeros((30, 12, 1))), "labels, targets: give one of them"),
    (_drop("x"), "x: missing (the file has labels, window)"),
    (_set("y", np.zeros(3)), "y: unknown key"),
    (_set("x_test", np.zeros((2, 12, 6))), "window_test: missing"),
    (
        _set("targets_test", np.zeros((2, 12, 1))),
        "targets_test: the training set has labels, so the held-out set needs labels_test",
    ),
    (
        lambda d: {**d, "x": d["x"][:1], "window": d["window"][:1], "labels": np.array([1])},
        "x: 1 sample cannot be split into training and held-out samples",
    ),
]
REGRESSION_CASES = [
    (_at("targets", (2, 5, 1), np.nan), "targets: values must be finite, found nan at index (2, 5, 1)"),
    (lambda d: {**d, "targets": np.ones((20, 16, 2))}, "targets: constant over the window ticks"),
    (lambda d: {**d, "targets": np.zeros((20, 15, 2))}, "targets: shape (20, 15, 2) must be (samples, ticks, outputs)"),
]


@pytest.mark.parametrize("change, message", CASES + REGRESSION_CASES)
def test_each_validation_error_names_the_key(tmp_path, capsys, change, message):
    base = regression() if (change, message) in REGRESSION_CASES else classification()
    path = save(tmp_path, change(base))
    assert main(["train", "--data", path, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"plasticore train: error: {message}") and err.count("\n") == 1, err


def test_bad_files(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "none.npz")]) == 2
    assert f"error: data: '{tmp_path / 'none.npz'}' not found" in capsys.readouterr().err
    np.save(tmp_path / "one.npy", np.zeros(3))
    assert main(["train", "--data", str(tmp_path / "one.npy")]) == 2
    assert "holds one array, not a .npz file" in capsys.readouterr().err
    (tmp_path / "text.npz").write_text("hello")
    assert main(["train", "--data", str(tmp_path / "text.npz")]) == 2
    assert "is not a .npz file of arrays" in capsys.readouterr().err


def test_task_or_data_exactly_one(tmp_path, capsys):
    data = save(tmp_path, classification())
    with pytest.raises(SystemExit):
        main(["train"])
    assert "one of the arguments --task --data is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--task", "xor", "--data", data])
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", "--task", "xor", "--data", data])
    assert "not allowed with argument" in capsys.readouterr().err
    # the user's config must have the data's outputs
    assert main(["train", "--data", data, "--config", tiny_config(tmp_path, 2), "--quiet"]) == 2
    assert "error: n_out: config has 2, task mine needs 3" in capsys.readouterr().err


def test_compare_checks_the_data_before_building_the_chip(tmp_path, capsys):
    path = save(tmp_path, _at("x", (0, 3, 1), 2)(classification()))
    assert main(["compare", "--data", path, "--quiet", "--report", str(tmp_path / "r")]) == 2
    assert "plasticore compare: error: x: values must be 0 or 1, found 2 at index (0, 3, 1)" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_library_trains_the_loaded_task_like_the_cli(tmp_path, capsys):
    data = save(tmp_path, classification())
    result = train_cli(tmp_path, capsys, "--data", data, "--rule", "erbp", "--seed", "5")
    task = load_user_data(data, seed=5)
    direct = train(task, "erbp", "fixed", epochs=2, seed=5, spec=data_spec(task, TASK_SPECS["digits"]))
    assert direct.curve == result["curve"]


@pytest.mark.slow  # a Verilator build of the tiny network (~30 s on 2 cores, cached after once)
def test_compare_on_your_data_rtl_equals_fixed(tmp_path, capsys):
    data = save(tmp_path, classification())
    out = tmp_path / "result.json"
    code = main(
        [
            "compare",
            "--data",
            data,
            "--config",
            tiny_config(tmp_path, 3),
            "--train-samples",
            "8",
            "--test-samples",
            "4",
            "--epochs",
            "1",
            "--quiet",
            "--report",
            str(tmp_path / "r"),
            "--json",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    result = json.loads(out.read_text())
    assert result["task"] == "mine" and result["rule"] == "erbp" and result["rtl_equals_fixed"] is True
    assert result["n_train"] == 8 and result["fixed"]["metric"] == "accuracy"
