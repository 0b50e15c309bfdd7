"""The one optimizer implementation (reference/optimizers.py): both Adam forms, bit for bit."""

import math

import numpy as np
import pytest

from plasticore.reference.optimizers import Adam, GradientDescent


def _grads(rng, steps):
    return [{"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)} for _ in range(steps)]


def test_adam_textbook_form_is_kingma_and_ba_algorithm_1_exactly():
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    opt = Adam(0.1)
    ref = {k: v.copy() for k, v in params.items()}
    m = {k: 0.0 for k in ref}
    v = {k: 0.0 for k in ref}
    for t, g in enumerate(_grads(rng, 5), start=1):
        params = opt.step(params, g)
        for k in ref:
            m[k] = 0.9 * m[k] + (1 - 0.9) * g[k]
            v[k] = 0.999 * v[k] + (1 - 0.999) * g[k] * g[k]
            m_hat, v_hat = m[k] / (1 - 0.9**t), v[k] / (1 - 0.999**t)
            ref[k] = ref[k] - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)
            assert np.array_equal(params[k], ref[k])


def test_adam_epsilon_hat_form_is_the_tensorflow_nest_form_exactly():
    rng = np.random.default_rng(1)
    params = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    opt = Adam(0.1, eps=1e-3, epsilon_on="v")
    ref = {k: v.copy() for k, v in params.items()}
    m = {k: 0.0 for k in ref}
    v = {k: 0.0 for k in ref}
    for t, g in enumerate(_grads(rng, 5), start=1):
        params = opt.step(params, g)
        alpha = 0.1 * math.sqrt(1.0 - 0.999**t) / (1.0 - 0.9**t)
        for k in ref:
            m[k] = 0.9 * m[k] + (1.0 - 0.9) * g[k]
            v[k] = 0.999 * v[k] + (1.0 - 0.999) * g[k] * g[k]
            ref[k] = ref[k] - alpha * m[k] / (np.sqrt(v[k]) + 1e-3)
            assert np.array_equal(params[k], ref[k])


def test_gradient_descent_and_bad_epsilon_form():
    out = GradientDescent(0.5).step({"w": np.ones(2)}, {"w": np.array([1.0, -2.0])})
    assert np.array_equal(out["w"], [0.5, 2.0])
    with pytest.raises(ValueError, match="epsilon_on"):
        Adam(0.1, epsilon_on="sqrt")
