"""The seed tasks: shapes, seeded reproducibility, held-out splits, labels that match the inputs."""

import numpy as np
import pytest

from plasticore.tasks import TASKS, make_task

SMALL = {"n_train": 24, "n_test": 12}


def small_task(name, seed=1):
    if name == "digits":
        rng = np.random.default_rng(0)
        images = rng.integers(0, 17, size=(60, 64)).astype(float)
        labels = np.arange(60) % 10
        return make_task(name, seed, digits_data=(images, labels), ticks=10)
    return make_task(name, seed, **SMALL)


@pytest.mark.parametrize("name", list(TASKS))
def test_task_shapes_and_reproducibility(name):
    a, b, c = small_task(name), small_task(name), small_task(name, seed=2)
    for split in (a.train, a.test):
        n, ticks, n_in = split.x.shape
        assert n_in == a.n_in and split.target.shape == (n, ticks, a.n_out) and split.valid.shape == (n, ticks)
        assert set(np.unique(split.x)) <= {0, 1} and split.valid.any()
        if a.metric == "accuracy":
            assert split.labels.shape == (n,) and split.labels.max() < a.n_out
            # one-hot target on exactly the valid ticks
            assert np.array_equal(split.target.sum(axis=2), split.valid.astype(float))
    assert np.array_equal(a.train.x, b.train.x) and np.array_equal(a.test.x, b.test.x)
    assert not np.array_equal(a.train.x, c.train.x)
    assert not np.array_equal(a.test.x, a.train.x[: len(a.test)])  # the held-out split is other samples


def test_cue_label_is_the_side_with_more_cue_spikes_on_average():
    t = make_task("cue", 3, n_train=200, n_test=10)
    g = 10
    left = t.train.x[:, :, :g].sum(axis=(1, 2))
    right = t.train.x[:, :, g : 2 * g].sum(axis=(1, 2))
    # labels are defined by cue counts; spike counts agree with them in the large majority
    agree = ((right > left).astype(int) == t.train.labels).mean()
    assert agree > 0.8
    assert set(np.unique(t.train.labels)) == {0, 1}


def _cue_sides(split, cue_ticks=100, gap_ticks=50, g=10):
    """Per sample and cue, 1 where the cue's window holds right-channel spikes (-1: neither side)."""
    x = split.x
    starts = [gap_ticks + c * (cue_ticks + gap_ticks) for c in range(7)]
    left = np.stack([x[:, t : t + cue_ticks, :g].sum(axis=(1, 2)) for t in starts], axis=1)
    right = np.stack([x[:, t : t + cue_ticks, g : 2 * g].sum(axis=(1, 2)) for t in starts], axis=1)
    return np.where(right > 0, 1, np.where(left > 0, 0, -1)), left, right


def test_cue_reckon_draws_cues_as_bellec_et_al_and_reckons_data_set():
    # Bellec et al.'s generator (p_group 0.3), which ReckOn's data set follows: each cue after its
    # 50-tick silence, one channel per window, label the side with more cues; splits 7-0 / 6-1 /
    # 5-2 / 4-3 expected 8.3 / 25.1 / 34.3 / 32.4 % (fair coins: 1.6 / 10.9 / 32.8 / 54.7 %)
    t = make_task("cue-reckon", 7, n_train=400, n_test=2)
    sides, left, right = _cue_sides(t.train)
    assert (sides >= 0).all() and not ((left > 0) & (right > 0)).any()
    assert not t.train.x[:, :50, : 2 * 10].any()  # the first cue follows its silence
    n_right = sides.sum(axis=1)
    assert np.array_equal((n_right > 3).astype(int), t.train.labels)
    split = np.bincount(np.maximum(n_right, 7 - n_right), minlength=8)[4:] / len(n_right)
    expected = np.array([0.3241, 0.3427, 0.2506, 0.0826])
    assert np.abs(split - expected).max() < 0.07, split
    assert split[0] < 0.45  # fair coins would give ~55 % of 4-3 splits
    with pytest.raises(ValueError, match="p_group"):
        make_task("cue-reckon", 1, p_group=0.7)


def test_xor_label_is_xor_of_the_two_pulse_signs():
    t = make_task("xor", 5, n_train=100, n_test=10)
    g = 10
    first = t.train.x[:, :10, : 2 * g]  # pulse 1: ticks 0..9
    second = t.train.x[:, 30:40, : 2 * g]  # pulse 2 after the 20-tick delay
    s1 = first[:, :, g:].sum(axis=(1, 2)) > first[:, :, :g].sum(axis=(1, 2))
    s2 = second[:, :, g:].sum(axis=(1, 2)) > second[:, :, :g].sum(axis=(1, 2))
    assert ((s1 != s2).astype(int) == t.train.labels).mean() > 0.95


def test_store_recall_label_is_the_bit_shown_with_the_store_cue():
    t = make_task("store-recall", 4, n_train=100, n_test=10)
    g, span = 10, 15
    ok = 0
    for n in range(100):
        store_counts = [t.train.x[n, p * span : p * span + 10, 2 * g : 3 * g].sum() for p in range(3)]
        p = int(np.argmax(store_counts))
        seg = t.train.x[n, p * span : p * span + 10]
        bit = int(seg[:, g : 2 * g].sum() > seg[:, :g].sum())
        ok += bit == t.train.labels[n]
    assert ok >= 95


def test_pattern_targets_are_regression_on_every_tick():
    t = small_task("pattern")
    assert t.metric == "nmse" and t.train.labels is None and t.train.valid.all()
    assert np.abs(t.train.target).max() == pytest.approx(1.0)
    assert np.array_equal(t.train.target[0], t.test.target[0])  # same pattern, fresh input spikes


def test_digits_split_is_disjoint_and_rate_follows_pixels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 17, size=(100, 64)).astype(float)
    images[:, 0] = 0
    images[:, 1] = 16
    labels = np.arange(100) % 10
    t = make_task("digits", 1, digits_data=(images, labels), ticks=50, test_fraction=0.25)
    assert len(t.train) == 75 and len(t.test) == 25
    assert t.train.x[:, :, 0].sum() == 0
    assert t.train.x[:, :, 1].mean() == pytest.approx(0.5, abs=0.03)


def test_bad_task_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="task: 'nope' is not one of"):
        make_task("nope", 1)
    with pytest.raises(ValueError, match="n_train: 0 is outside the allowed range"):
        make_task("cue", 1, n_train=0)
    with pytest.raises(ValueError, match="digits_data"):
        make_task("digits", 1)
    with pytest.raises(ValueError, match="cues: 6 must be odd"):
        make_task("cue", 1, cues=6)
