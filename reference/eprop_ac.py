"""Reward-based e-prop (Bellec et al. 2020, Nat. Commun. 11:3625): an actor-critic LSNN.

The official code (IGITUGraz/eligibility_propagation, ``Figure_4_and_5_ATARI``) trains an LSNN
of LIF and ALIF neurons (``alif_eligibility_propagation.CustomALIF``) with a policy readout and
a value readout, by autodiff with the recurrent spikes' gradients stopped (e-prop). The paper's
Methods state the same gradient online; this module is that online form, in numpy:

* **Neurons** (``CustomALIF``), per tick: ``b <- rho b + z(t-1)``,
  ``v <- alpha v + W_in x(t) + W_rec z(t-1) - thr z(t-1)``, spike where
  ``v > thr + beta b`` unless refractory (``n_refractory`` ticks after a spike); ``beta`` is 0
  for the LIF neurons. Pseudo-derivative ``psi = 0.3 max(0, 1 - |v - A| / thr) / thr``, 0 while
  refractory. No self-connections.
* **Readouts**: ``y = kappa y + W_pi z`` (policy logits) and ``V = kappa V + w_V z`` (value),
  ``kappa = exp(-1 / tau_readout)``, plus biases; read on the last tick of each agent step
  (``ticks_per_step`` network ticks per agent step; the network's state carries over).
* **Eligibility** (e-prop for ALIF): ``eps_v_i <- alpha eps_v_i + pre_i`` (pre: x(t) for inputs,
  z(t-1) for recurrent), ``eps_a_ji <- psi_j(t-1) eps_v_i(t-1) + (rho - psi_j(t-1) beta_j)
  eps_a_ji``, ``e_ji = psi_j (eps_v_i - beta_j eps_a_ji)``, and its readout-filtered
  ``e_bar_ji = kappa e_bar_ji + e_ji`` (the readouts low-pass their input with ``kappa``).
* **Learning signal** of agent step k: ``L_j = sum_a B_ja (pi_a - 1[a = a_k]) - c_V B^V_j``
  (the derivative of the step's policy-gradient and value losses by the readouts, per unit of
  advantage), with ``B = W_pi`` and ``B^V = w_V`` (the official code's autodiff through the
  readout: symmetric feedback) or fixed random matrices (``feedback="random"``).
* **The extra filter** F_gamma: ``E_ji <- gamma E_ji + L_j e_bar_ji`` once per agent step, and
  likewise for the readouts (``(pi - onehot) z_bar`` and ``-c_V z_bar``). The TD error
  ``delta_k = r_k + gamma V_{k+1} - V_k`` (``r_k - V_k`` at a failure) makes the step's
  gradient ``delta_k E``: summed over an episode, ``sum_k delta_k F_gamma(x)_k =
  sum_k x_k (G_k - V_k)``, the actor-critic gradient with Monte-Carlo advantages, obtained
  online. The entropy bonus (``c_H``) adds its gradient on every step, without delta.
* **Optimizer**: Adam (lr 1e-3, the official code's), one step per agent step.

What is not reproduced: the convolutional torso (CartPole has four numbers, encoded as input
spikes by the caller), the 32 parallel episodes and 100-step unrolls (one episode, online),
the firing-rate and voltage regularizers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .optimizers import Adam

__all__ = ["EpropACSpec", "EpropAC"]


@dataclass(frozen=True)
class EpropACSpec:
    """The agent's constants (defaults: the official Atari code's, sizes for CartPole).

    Parameters
    ----------
    n_in, n_rec, n_actions : int
        Input channels, LSNN neurons, actions.
    fraction_adaptive : float
        Share of ALIF neurons (the last ones).
    tau, tau_adaptation, tau_readout : float
        Membrane, threshold-adaptation and readout time constants (ticks).
    thr, beta : float
        Threshold and adaptation strength.
    n_refractory : int
        Refractory ticks after a spike.
    dampening : float
        Pseudo-derivative scale.
    ticks_per_step : int
        Network ticks per agent step.
    gamma, entropy_cost, value_cost : float
        Discount, entropy bonus ``c_H``, value-loss weight ``c_V``.
    lr : float
        Adam step size.
    feedback : str
        ``"symmetric"`` (B = readout weights, the official code) or ``"random"``.
    w_scale : float
        Initial input and recurrent weights ``w_scale * N(0, 1) / sqrt(fan-in)``.
    eligibility_filter : float or None
        F_gamma's factor (None: gamma, as published; 0: no extra filter, as on the chip).
    alif_eligibility : bool
        Whether the eligibility has its ALIF part ``eps_a`` (False: as on the chip).
    """

    n_in: int = 40
    n_rec: int = 100
    n_actions: int = 2
    fraction_adaptive: float = 0.4
    tau: float = 15.0
    tau_adaptation: float = 70.0
    tau_readout: float = 2.0
    thr: float = 1.0
    beta: float = 0.1
    n_refractory: int = 5
    dampening: float = 0.3
    ticks_per_step: int = 5
    gamma: float = 0.99
    entropy_cost: float = 0.0025
    value_cost: float = 1.0
    lr: float = 1e-3
    feedback: str = "symmetric"
    w_scale: float = 1.0
    eligibility_filter: float | None = None
    alif_eligibility: bool = True

    def __post_init__(self) -> None:
        if self.feedback not in ("symmetric", "random"):
            raise ValueError(f"feedback: {self.feedback!r} is not one of symmetric, random")
        if not 0.0 <= self.fraction_adaptive <= 1.0:
            raise ValueError(f"fraction_adaptive: {self.fraction_adaptive} is outside the allowed range 0..1")
        for name in ("n_in", "n_rec", "n_actions", "ticks_per_step"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: {getattr(self, name)} is outside the allowed range 1..")


def softmax(y: np.ndarray) -> np.ndarray:
    """Softmax of a vector of logits."""
    p = np.exp(y - y.max())
    return p / p.sum()


class EpropAC:
    """The LSNN actor-critic with reward-based e-prop (module docstring).

    Parameters
    ----------
    spec : EpropACSpec
        Constants.
    rng : numpy.random.Generator
        Initial weights (and random feedback).

    Members
    -------
    params : dict of str to ndarray
        ``w_in`` (n_in, n_rec), ``w_rec`` (n_rec, n_rec), ``w_pi`` (n_rec, n_actions),
        ``w_v`` (n_rec, 1), ``b_pi`` (n_actions,), ``b_v`` (1,).
    """

    def __init__(self, spec: EpropACSpec, rng: np.random.Generator) -> None:
        s = self.spec = spec
        n, a = s.n_rec, s.n_actions
        w_rec = s.w_scale * rng.standard_normal((n, n)) / np.sqrt(n)
        np.fill_diagonal(w_rec, 0.0)
        self.params = {
            "w_in": s.w_scale * rng.standard_normal((s.n_in, n)) / np.sqrt(s.n_in),
            "w_rec": w_rec,
            "w_pi": rng.standard_normal((n, a)) / np.sqrt(n),
            "w_v": rng.standard_normal((n, 1)) / np.sqrt(n),
            "b_pi": np.zeros(a),
            "b_v": np.zeros(1),
        }
        self.b_random = (rng.standard_normal((n, a)), rng.standard_normal(n)) if s.feedback == "random" else None
        self.alpha, self.rho = np.exp(-1.0 / s.tau), np.exp(-1.0 / s.tau_adaptation)
        self.kappa = np.exp(-1.0 / s.tau_readout)
        self.beta = np.where(np.arange(n) >= n - int(round(s.fraction_adaptive * n)), s.beta, 0.0)
        self.optimizer = Adam(s.lr)
        self.reset()

    def reset(self) -> None:
        """A new episode: the network's state, the eligibility traces and F_gamma start at 0."""
        s, n, n_pre = self.spec, self.spec.n_rec, self.spec.n_in + self.spec.n_rec
        self.v, self.b, self.z = np.zeros(n), np.zeros(n), np.zeros(n)
        self.ref, self.psi = np.zeros(n), np.zeros(n)
        self.y, self.value = np.zeros(s.n_actions), 0.0
        self.z_bar = np.zeros(n)
        self.eps_v = np.zeros(n_pre)
        self.eps_a = np.zeros((n_pre, n))
        self.e_bar = np.zeros((n_pre, n))
        self.filtered = {k: np.zeros_like(v) for k, v in self.params.items()}  # F_gamma(x)
        self.entropy_grads: dict[str, np.ndarray] | None = None

    def tick(self, x: np.ndarray) -> None:
        """One network tick on input spikes ``x`` (n_in,): state, readouts and eligibility."""
        s, p = self.spec, self.params
        pre = np.concatenate([x, self.z])
        # eps_a uses psi(t-1) and eps_v(t-1): update it before both change
        self.eps_a = self.psi[None, :] * self.eps_v[:, None] + (self.rho - self.psi * self.beta)[None, :] * self.eps_a
        self.eps_v = self.alpha * self.eps_v + pre
        self.b = self.rho * self.b + self.z
        self.v = self.alpha * self.v + x @ p["w_in"] + self.z @ p["w_rec"] - s.thr * self.z
        threshold = s.thr + self.beta * self.b
        refractory = self.ref > 0.1
        z = np.where(refractory, 0.0, (self.v > threshold).astype(float))
        self.psi = np.where(refractory, 0.0, s.dampening * np.maximum(0.0, 1.0 - np.abs(self.v - threshold) / s.thr))
        self.psi /= s.thr
        self.ref = np.clip(self.ref + s.n_refractory * z - 1.0, 0.0, float(s.n_refractory))
        self.z = z
        if s.alif_eligibility:
            e = self.psi[None, :] * (self.eps_v[:, None] - self.beta[None, :] * self.eps_a)
        else:
            e = self.psi[None, :] * self.eps_v[:, None]
        self.e_bar = self.kappa * self.e_bar + e
        self.z_bar = self.kappa * self.z_bar + z
        self.y = self.kappa * self.y + z @ p["w_pi"]
        self.value = self.kappa * self.value + float(z @ p["w_v"][:, 0])

    def observe(self, spikes: np.ndarray) -> tuple[np.ndarray, float]:
        """Run one agent step's ticks (``spikes``: ticks x n_in); returns (pi, V)."""
        for x in spikes:
            self.tick(x)
        p = self.params
        return softmax(self.y + p["b_pi"]), self.value + float(p["b_v"][0])

    def _feedback(self) -> tuple[np.ndarray, np.ndarray]:
        if self.b_random is not None:
            return self.b_random
        return self.params["w_pi"], self.params["w_v"][:, 0]

    def _readout_terms(self, g_pi: np.ndarray, g_v: float) -> dict[str, np.ndarray]:
        """Per-weight loss derivatives for readout errors ``g_pi`` (n_actions,) and ``g_v``."""
        b_pi, b_v = self._feedback()
        signal = b_pi @ g_pi + b_v * g_v
        n_in = self.spec.n_in
        return {
            "w_in": self.e_bar[:n_in] * signal[None, :],
            "w_rec": self.e_bar[n_in:] * signal[None, :],
            "w_pi": self.z_bar[:, None] * g_pi[None, :],
            "w_v": self.z_bar[:, None] * g_v,
            "b_pi": g_pi.copy(),
            "b_v": np.array([g_v]),
        }

    def choose(self, action: int, pi: np.ndarray) -> None:
        """The agent took ``action`` with policy ``pi``: F_gamma takes this step's terms."""
        s = self.spec
        g_pi = pi.copy()
        g_pi[action] -= 1.0  # d(-log pi_a) / dy
        terms = self._readout_terms(g_pi, -s.value_cost)  # d(-V) / dV per unit of advantage
        factor = s.gamma if s.eligibility_filter is None else s.eligibility_filter
        for k, term in terms.items():
            self.filtered[k] = factor * self.filtered[k] + term
        log_pi = np.log(np.maximum(pi, 1e-30))
        entropy = -float(pi @ log_pi)
        g_ent = s.entropy_cost * pi * (log_pi + entropy)  # d(-c_H H) / dy
        self.entropy_grads = self._readout_terms(g_ent, 0.0)

    def learn(self, delta: float) -> None:
        """The TD error of the last chosen step is known: one Adam step on ``delta E`` plus the
        entropy gradient of that step."""
        grads = {k: delta * f for k, f in self.filtered.items()}
        if self.entropy_grads is not None:
            grads = {k: g + self.entropy_grads[k] for k, g in grads.items()}
        self.params = self.optimizer.step(self.params, grads)
        np.fill_diagonal(self.params["w_rec"], 0.0)
