"""The Python API of training (issue 20 item 6): a user's task object, initial weights, the
pseudo-derivative said explicitly, and per-epoch scores as training goes."""

import dataclasses

import numpy as np
import pytest

from plasticore.golden import Config
from plasticore.golden.network import Weights
from plasticore.golden.numerics import numerics
from plasticore.tasks import make_task
from plasticore.training.train import (
    DATA_BASE_TASKS,
    TASK_SPECS,
    EpochScores,
    initial_weights,
    predict,
    sample_orders,
    spec_for,
    task_config,
    train,
)


def halved(w):
    """Every matrix of ``w`` halved, as float64 (no longer whole numbers)."""
    return Weights(*(getattr(w, k).astype(np.float64) * 0.5 for k in ("w_in", "w_rec", "w_out", "b_fb")))


def user_task():
    """A task object that is not a built-in one: xor's data under a name of the user's."""
    return dataclasses.replace(make_task("xor", 2, n_train=6, n_test=8), name="my-delayed-xor")


def test_a_users_task_trains_with_the_spec_of_its_kind():
    task = user_task()
    spec = spec_for(task)
    assert spec.config["name"] == "my-delayed-xor" and spec.config["n_out"] == 2
    assert spec.epochs == TASK_SPECS[DATA_BASE_TASKS["accuracy"]].epochs
    assert spec_for(make_task("xor", 2, n_train=2, n_test=2)) is TASK_SPECS["xor"]
    small = dataclasses.replace(spec, config={**spec.config, "n_rec": 16})
    res = train(task, "eprop", "fixed", epochs=1, seed=2, spec=small)
    assert res.task == "my-delayed-xor" and len(res.curve) == 1


def small_spec():
    spec = spec_for(user_task())
    return dataclasses.replace(spec, config={**spec.config, "n_rec": 16, "lr_shift": 12, "out_lr_shift": 12})


def test_initial_weights_are_the_users():
    task, spec = user_task(), small_spec()
    default = train(task, "eprop", "fixed", epochs=1, seed=4, spec=spec)
    w0 = initial_weights(default.config, spec, numerics("fixed"))
    same = train(task, "eprop", "fixed", epochs=1, seed=4, spec=spec, weights=w0)
    assert np.array_equal(same.weights.w_out, default.weights.w_out)
    silent = Weights(w0.w_in, w0.w_rec, np.zeros_like(w0.w_out), w0.b_fb)
    other = train(task, "eprop", "fixed", epochs=1, seed=4, spec=spec, weights=silent)
    assert not np.array_equal(other.weights.w_out, default.weights.w_out)
    # float weights train the float twin as given
    twin = train(task, "eprop", "float", epochs=1, seed=4, spec=spec, weights=halved(w0))
    assert twin.weights.w_in.dtype == np.float64


def test_bad_initial_weights_are_refused_with_the_field_named():
    task, spec = user_task(), small_spec()
    cfg = train(task, "eprop", "fixed", epochs=1, seed=4, spec=spec).config
    w0 = initial_weights(cfg, spec, numerics("fixed"))
    with pytest.raises(ValueError, match=r"w_rec: shape \(15, 16\) does not match config \(16, 16\)"):
        train(task, "eprop", "fixed", epochs=1, seed=4, spec=spec, weights=dataclasses.replace(w0, w_rec=w0.w_rec[1:]))
    with pytest.raises(ValueError, match="weights.w_in: fixed point takes whole numbers"):
        train(task, "eprop", "fixed", epochs=1, seed=4, spec=spec, weights=halved(w0))
    with pytest.raises(ValueError, match="w_out: values .* are outside the 8-bit range"):
        train(
            task, "eprop", "fixed", epochs=1, seed=4, spec=spec, weights=dataclasses.replace(w0, w_out=w0.w_out + 500)
        )


def test_the_pseudo_derivative_is_explicit():
    task, spec = user_task(), small_spec()
    users = Config(**{**spec.config, "n_in": task.n_in, "pseudo_derivative": "boxcar"})
    kept = train(task, "eprop", "fixed", cfg=users, epochs=1, spec=spec)
    assert kept.config.pseudo_derivative == "boxcar"  # a user's config keeps its own
    ruled = train(task, "eprop", "fixed", cfg=users, epochs=1, spec=spec, pseudo_derivative="rule")
    assert ruled.config.pseudo_derivative == "piecewise_linear"  # e-prop's published shape
    named = train(task, "erbp", "fixed", epochs=1, spec=spec, pseudo_derivative="step")
    assert named.config.pseudo_derivative == "step"
    # a spec that names a shape keeps it (the task's default network otherwise takes the rule's)
    stepped = dataclasses.replace(spec, config={**spec.config, "pseudo_derivative": "step"})
    assert train(task, "eprop", "fixed", epochs=1, spec=stepped).config.pseudo_derivative == "step"
    assert train(task, "eprop", "fixed", epochs=1, spec=spec).config.pseudo_derivative == "piecewise_linear"


def test_per_epoch_scores_reach_the_caller_as_training_goes():
    task, spec = user_task(), small_spec()
    seen: list[EpochScores] = []
    res = train(task, "eprop", "fixed", epochs=2, seed=5, spec=spec, on_epoch=seen.append, record=True)
    assert [s.epoch for s in seen] == [1, 2] and all(s.epochs == 2 for s in seen)
    assert [s.heldout for s in seen] == res.curve
    # the training score: each sample's readout while it was trained on, in the order seen
    for s, y, order in zip(seen, res.train_y, sample_orders(5, len(task.train), 2), strict=True):
        labels = task.train.labels[order]
        assert s.train == pytest.approx(float((predict(y, task.train.valid[order]) == labels).mean()))
    assert "held-out accuracy" in seen[0].describe() and "training" in seen[0].describe()


def test_input_offsets_raise_only_the_named_inputs_initial_weights_within_the_rails():
    spec = TASK_SPECS["cue-reckon"]
    cfg = task_config("cue-reckon", "eprop-symmetric", 40, spec=spec).replace(seed=5)
    base = initial_weights(cfg, dataclasses.replace(spec, input_offsets=()), numerics("fixed"))
    raised = dataclasses.replace(spec, input_offsets=((20, 30, 100),))
    w = initial_weights(cfg, raised, numerics("fixed"))
    assert np.array_equal(w.w_in[:, :20], base.w_in[:, :20]) and np.array_equal(w.w_in[:, 30:], base.w_in[:, 30:])
    assert np.array_equal(w.w_in[:, 20:30], np.minimum(base.w_in[:, 20:30] + 100, 127))
    assert w.w_in[:, 20:30].max() == 127  # some reach the rail
    assert np.array_equal(w.w_rec, base.w_rec) and np.array_equal(w.w_out, base.w_out)
    with pytest.raises(ValueError, match="inputs 30..40 are not within the 40 inputs"):
        initial_weights(cfg, dataclasses.replace(spec, input_offsets=((30, 41, 1),)), numerics("fixed"))
