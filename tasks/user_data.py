"""A user's own data set from a ``.npz`` file, checked and turned into a :class:`Task`.

Keys (``np.savez(path, x=..., window=..., labels=...)``):

* ``x`` ``(samples, ticks, inputs)``: input spikes, 0 or 1 (bool, integer or float type);
* ``window`` ``(samples, ticks)``: the ticks where the output is scored and learned (bool, or
  0/1); every sample needs at least one;
* either ``labels`` ``(samples,)``: integer classes 0, 1, ... (classification, metric
  ``accuracy``; the targets are one-hot over the window, as the built-in tasks' are)
* or ``targets`` ``(samples, ticks, outputs)``: finite real values (regression, metric ``nmse``);
* optionally the held-out set: ``x_test``, ``window_test`` and ``labels_test`` or
  ``targets_test``, with the same inputs and outputs. Without them :data:`HELD_OUT_FRACTION`
  of the samples, drawn from the seed, are held out.

A key that is missing, has the wrong shape, type or values is refused with a ``ValueError``
that names the key and what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .base import Split, Task, _one_hot_targets

__all__ = ["HELD_OUT_FRACTION", "KEYS", "load_user_data", "user_data_task"]

#: the fraction of the samples held out when the file has no ``x_test``
HELD_OUT_FRACTION = 0.2

#: every key a data file may hold
KEYS = ("x", "window", "labels", "targets", "x_test", "window_test", "labels_test", "targets_test")


def load_user_data(path: str | Path, seed: int, held_out_fraction: float = HELD_OUT_FRACTION) -> Task:
    """The task of the ``.npz`` file ``path`` (named after the file, without ``.npz``)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data: {str(path)!r} not found")
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # not a numpy file, a truncated zip, pickled objects, ...
        raise ValueError(f"data: {str(path)!r} is not a .npz file of arrays (np.savez): {exc}") from None
    if not hasattr(loaded, "files"):
        raise ValueError(f"data: {str(path)!r} holds one array, not a .npz file of named arrays (np.savez)")
    with loaded:
        try:
            arrays = {key: loaded[key] for key in loaded.files}
        except ValueError as exc:  # object arrays need pickle, which stays off
            raise ValueError(f"data: {str(path)!r} holds an array that is not numeric: {exc}") from None
    name = path.name.removesuffix(".npz")
    return user_data_task(arrays, seed, name=name, source=path.name, held_out_fraction=held_out_fraction)


def user_data_task(
    arrays: Mapping[str, np.ndarray],
    seed: int,
    name: str = "data",
    source: str | None = None,
    held_out_fraction: float = HELD_OUT_FRACTION,
) -> Task:
    """The task of the arrays of a data file (the keys of the module's docstring).

    ``seed`` draws the held-out samples when there is no ``x_test``; ``name`` becomes the
    task's name, ``source`` is shown in its description.
    """
    unknown = sorted(set(arrays) - set(KEYS))
    if unknown:
        raise ValueError(
            f"{unknown[0]}: unknown key; a data file holds x, window, labels or targets, and "
            "optionally x_test, window_test, labels_test or targets_test"
        )
    if not 0 < held_out_fraction < 1:
        raise ValueError(f"held_out_fraction: {held_out_fraction!r} is outside the allowed range 0..1 (exclusive)")
    have = ", ".join(sorted(arrays)) or "nothing"
    for key in ("x", "window"):
        if key not in arrays:
            raise ValueError(f"{key}: missing (the file has {have})")
    if ("labels" in arrays) == ("targets" in arrays):
        if "labels" in arrays:
            raise ValueError(
                "labels, targets: give one of them (labels: classification, targets: regression), not both"
            )
        raise ValueError(
            f"labels or targets: missing, give one of them (labels: classification, targets: "
            f"regression; the file has {have})"
        )
    kind = "labels" if "labels" in arrays else "targets"
    other = "targets" if kind == "labels" else "labels"
    test_keys = [k for k in arrays if k.endswith("_test")]
    if f"{other}_test" in arrays:
        raise ValueError(f"{other}_test: the training set has {kind}, so the held-out set needs {kind}_test")
    if test_keys:
        for key in ("x_test", "window_test", f"{kind}_test"):
            if key not in arrays:
                raise ValueError(
                    f"{key}: missing (the file has {', '.join(sorted(test_keys))}: a held-out set "
                    f"needs x_test, window_test and {kind}_test)"
                )

    train = _split(arrays, "", kind)
    test = _split(arrays, "_test", kind) if test_keys else None
    n_in = train.x.shape[2]
    if test is not None and test.x.shape[2] != n_in:
        raise ValueError(f"x_test: {test.x.shape[2]} inputs, x has {n_in}")
    if kind == "labels":
        labels = [train.labels] + ([] if test is None else [test.labels])
        n_out = int(max(int(v.max()) for v in labels)) + 1
        if n_out < 2:
            raise ValueError("labels: classification needs at least 2 classes, found only class 0")
        train = _one_hot(train, n_out)
        test = None if test is None else _one_hot(test, n_out)
    else:
        n_out = train.target.shape[2]
        if test is not None and test.target.shape[2] != n_out:
            raise ValueError(f"targets_test: {test.target.shape[2]} outputs, targets has {n_out}")
    if test is None:
        train, test = _held_out(train, seed, held_out_fraction)
        where = f"{held_out_fraction:.0%} held out (drawn from seed {seed})"
    else:
        where = "its own held-out set"
    if kind == "targets":
        for split, key in ((train, "targets"), (test, "targets_test" if test_keys else "targets")):
            if not split.target[split.valid].var() > 0:
                raise ValueError(
                    f"{key}: constant over the window ticks (nmse divides by the targets' variance: they must vary)"
                )
    metric = "accuracy" if kind == "labels" else "nmse"
    what = f"{n_out} classes" if kind == "labels" else f"{n_out} outputs (regression)"
    return Task(
        name,
        n_in,
        n_out,
        metric,
        train,
        test,
        f"your data {source or name}: {len(train)} training, {len(test)} held-out samples "
        f"({where}) of {train.ticks} ticks, {n_in} inputs, {what}",
    )


def _split(arrays: Mapping[str, np.ndarray], suffix: str, kind: str) -> Split:
    """One set, checked: x, window and labels or targets with ``suffix`` ("" or "_test")."""
    xk, wk, tk = f"x{suffix}", f"window{suffix}", f"{kind}{suffix}"
    x = np.asarray(arrays[xk])
    _numeric(xk, x)
    if x.ndim != 3:
        raise ValueError(f"{xk}: shape {x.shape} must be (samples, ticks, inputs): 3 dimensions, found {x.ndim}")
    if 0 in x.shape:
        raise ValueError(f"{xk}: shape {x.shape} has an empty dimension")
    _zero_one(xk, x)
    n, ticks = x.shape[:2]
    window = np.asarray(arrays[wk])
    _numeric(wk, window)
    if window.shape != (n, ticks):
        raise ValueError(f"{wk}: shape {window.shape} must be (samples, ticks) = {(n, ticks)} as {xk}'s")
    _zero_one(wk, window, "True/False (or 0/1)")
    window = window.astype(bool)
    empty = np.flatnonzero(~window.any(axis=1))
    if empty.size:
        raise ValueError(f"{wk}: sample {empty[0]} has no scored tick (every sample needs at least one True)")
    t = np.asarray(arrays[tk])
    if kind == "labels":
        if t.dtype.kind not in "iu":
            raise ValueError(f"{tk}: dtype {t.dtype} is not an integer type (classes are 0, 1, ...)")
        if t.shape != (n,):
            raise ValueError(f"{tk}: shape {t.shape} must be (samples,) = {(n,)} as {xk}'s")
        _first_bad(tk, t, t < 0, "be >= 0")
        return Split(x.astype(np.uint8), np.zeros((n, ticks, 0)), window, t.astype(np.int64))
    _numeric(tk, t)
    if t.ndim != 3 or t.shape[:2] != (n, ticks) or t.shape[2] == 0:
        raise ValueError(
            f"{tk}: shape {t.shape} must be (samples, ticks, outputs) with (samples, ticks) = {(n, ticks)} as {xk}'s"
        )
    t = t.astype(np.float64)
    _first_bad(tk, t, ~np.isfinite(t), "be finite")
    return Split(x.astype(np.uint8), t, window)


def _one_hot(split: Split, n_out: int) -> Split:
    assert split.labels is not None
    return Split(split.x, _one_hot_targets(split.labels, split.valid, n_out), split.valid, split.labels)


def _numeric(key: str, a: np.ndarray) -> None:
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{key}: dtype {a.dtype} is not a number type (use bool, an integer or a float type)")


def _zero_one(key: str, a: np.ndarray, what: str = "0 or 1") -> None:
    if a.dtype.kind != "b":
        _first_bad(key, a, (a != 0) & (a != 1), f"be {what}")


def _first_bad(key: str, a: np.ndarray, bad: np.ndarray, must: str) -> None:
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{key}: values must {must}, found {a[index].item()} at index {index}")


def _held_out(split: Split, seed: int, fraction: float) -> tuple[Split, Split]:
    """A seeded shuffle of ``split``: the first ``round(fraction * n)`` (at least 1) held out."""
    n = len(split)
    if n < 2:
        raise ValueError(
            f"x: {n} sample cannot be split into training and held-out samples (give at least 2, "
            "or a held-out set: x_test, window_test and labels_test or targets_test)"
        )
    order = np.random.default_rng(seed).permutation(n)
    n_test = min(n - 1, max(1, int(round(n * fraction))))

    def take(idx: np.ndarray) -> Split:
        return Split(
            split.x[idx], split.target[idx], split.valid[idx], None if split.labels is None else split.labels[idx]
        )

    return take(order[n_test:]), take(order[:n_test])
