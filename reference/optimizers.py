"""Gradient descent, Adam and RMSprop on a dict of weight arrays: the one optimizer of every float trainer.

Adam comes in the two forms found in the literature, selected by ``epsilon_on``:

* ``"v_hat"`` (Kingma & Ba 2015, Algorithm 1; :mod:`plasticore.training.bptt_train`)::

      m_hat = m / (1 - b1**t),  v_hat = v / (1 - b2**t),  w -= lr * m_hat / (sqrt(v_hat) + eps)

* ``"v"`` (Kingma & Ba section 2's epsilon-hat form, as TensorFlow and NEST's e-prop models
  compute it; :mod:`plasticore.reference.eprop`)::

      alpha_t = lr * sqrt(1 - b2**t) / (1 - b1**t),  w -= alpha_t * m / (sqrt(v) + eps)

The two agree up to where epsilon enters, but not bit for bit; each form here evaluates its
expressions in the order written above, so both reproduce the trainers they came from exactly.
Clipping and masking (e.g. NEST's ``[Wmin, Wmax]``, a zero diagonal) belong to the caller.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["EPSILON_FORMS", "Optimizer", "GradientDescent", "Adam", "RMSprop"]

#: where Adam adds epsilon: to ``sqrt(v_hat)`` (textbook) or to ``sqrt(v)`` (TensorFlow / NEST)
EPSILON_FORMS = ("v_hat", "v")

Arrays = dict[str, NDArray[Any]]


class Optimizer:
    """A first-order optimizer over named weight arrays.

    Parameters
    ----------
    lr : float
        Learning rate (step size); may be changed between steps (annealing).

    Attributes
    ----------
    lr : float
        The learning rate of the next step.
    t : int
        Steps taken so far.
    """

    def __init__(self, lr: float) -> None:
        self.lr = lr
        self.t = 0

    def step(self, params: Arrays, grads: Arrays) -> Arrays:
        """One update: the new value of every array named in ``grads`` (``params`` itself is
        not changed; names absent from ``grads`` are not returned)."""
        self.t += 1
        return {name: self._update(name, params[name], g) for name, g in grads.items()}

    def _update(self, name: str, w: NDArray[Any], g: NDArray[Any]) -> NDArray[Any]:
        raise NotImplementedError


class GradientDescent(Optimizer):
    """Plain gradient descent: ``w -= lr * g``.

    Parameters
    ----------
    lr : float
        Learning rate.
    """

    def _update(self, name: str, w: NDArray[Any], g: NDArray[Any]) -> NDArray[Any]:
        new: NDArray[Any] = w - self.lr * g
        return new


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), one moment pair per weight array.

    Parameters
    ----------
    lr : float
        Step size (``alpha`` in Kingma & Ba, ``eta`` in NEST).
    beta1, beta2 : float
        Decay rates of the first and second moment estimates.
    eps : float
        Added to the square root of the second moment (see ``epsilon_on``).
    epsilon_on : {"v_hat", "v"}
        ``"v_hat"``: the textbook form, ``lr * m_hat / (sqrt(v_hat) + eps)``; ``"v"``: the
        TensorFlow / NEST form, ``alpha_t * m / (sqrt(v) + eps)`` (module docstring).

    Attributes
    ----------
    m, v : dict of str to ndarray
        First and second moment estimates by weight name.
    """

    def __init__(
        self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, epsilon_on: str = "v_hat"
    ) -> None:
        super().__init__(lr)
        if epsilon_on not in EPSILON_FORMS:
            raise ValueError(f"epsilon_on: {epsilon_on!r} is not one of {', '.join(EPSILON_FORMS)}")
        self.b1, self.b2, self.eps, self.epsilon_on = beta1, beta2, eps, epsilon_on
        self.m: Arrays = {}
        self.v: Arrays = {}
        self._alpha_t = 0.0

    def step(self, params: Arrays, grads: Arrays) -> Arrays:
        if self.epsilon_on == "v":  # the step size of this step, shared by every array
            t = self.t + 1
            self._alpha_t = self.lr * math.sqrt(1.0 - self.b2**t) / (1.0 - self.b1**t)
        return super().step(params, grads)

    def _update(self, name: str, w: NDArray[Any], g: NDArray[Any]) -> NDArray[Any]:
        b1, b2 = self.b1, self.b2
        m = self.m[name] = b1 * self.m.get(name, 0.0) + (1.0 - b1) * g
        v = self.v[name] = b2 * self.v.get(name, 0.0) + (1.0 - b2) * g * g
        new: NDArray[Any]
        if self.epsilon_on == "v":
            new = w - self._alpha_t * m / (np.sqrt(v) + self.eps)
        else:
            m_hat = m / (1.0 - b1**self.t)
            v_hat = v / (1.0 - b2**self.t)
            new = w - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return new


class RMSprop(Optimizer):
    """RMSprop as ``torch.optim.RMSprop`` computes it (no momentum, not centered)::

        v = alpha * v + (1 - alpha) * g**2,   w -= lr * g / (sqrt(v) + eps)

    Parameters
    ----------
    lr : float
        Step size.
    alpha : float
        Decay rate of the mean square (torch's default 0.99).
    eps : float
        Added to ``sqrt(v)`` (torch's default 1e-8; lsm-rl passes 1e-6).

    Attributes
    ----------
    v : dict of str to ndarray
        Running mean square of the gradient by weight name (starts at 0, as torch's).
    """

    def __init__(self, lr: float, alpha: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.alpha, self.eps = alpha, eps
        self.v: Arrays = {}

    def _update(self, name: str, w: NDArray[Any], g: NDArray[Any]) -> NDArray[Any]:
        v = self.v[name] = self.alpha * self.v.get(name, 0.0) + (1.0 - self.alpha) * g * g
        new: NDArray[Any] = w - self.lr * g / (np.sqrt(v) + self.eps)
        return new
