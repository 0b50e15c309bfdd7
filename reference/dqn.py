"""The DQN readout of Ponghiran et al. (2019) as their run_cartpole.py trains it, in numpy.

A two-layer perceptron ``features -> ReLU(32) -> Q per action`` (120-32-2 for CartPole:
3,938 trainable parameters) learns by Q-learning from a replay buffer (Mnih et al. 2015), with
the official code's choices:

* initialisation as ``torch.nn.Linear``'s default: weights and biases ``U(-1/sqrt(fan_in),
  1/sqrt(fan_in))``;
* Huber loss (``SmoothL1Loss``, beta 1, mean over the batch) between ``Q(s, a)`` and the target
  ``r + gamma max_a' Q_target(s', a')`` (0 after a terminal step: the official code stores
  ``None`` as the next state whenever the episode ended, the 200-step time limit included);
* each gradient element clamped to [-1, 1], then RMSprop (lr 2e-4, alpha 0.99, eps 1e-6);
* the target network is a copy of the policy network, refreshed every 10,000 steps;
* epsilon-greedy exploration, epsilon linear from 1 to 0.001 over the first 20 % of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .optimizers import RMSprop

__all__ = ["mlp_init", "mlp_forward", "huber", "q_loss_and_grads", "ReplayBuffer", "LinearSchedule", "DQN"]

Params = dict[str, np.ndarray]


def mlp_init(n_in: int, n_hidden: int, n_out: int, rng: np.random.Generator) -> Params:
    """Weights ``W1`` (n_in, n_hidden), ``b1``, ``W2`` (n_hidden, n_out), ``b2``, drawn as
    ``torch.nn.Linear`` draws them."""
    b_in, b_hid = 1.0 / np.sqrt(n_in), 1.0 / np.sqrt(n_hidden)
    return {
        "W1": rng.uniform(-b_in, b_in, (n_in, n_hidden)),
        "b1": rng.uniform(-b_in, b_in, n_hidden),
        "W2": rng.uniform(-b_hid, b_hid, (n_hidden, n_out)),
        "b2": rng.uniform(-b_hid, b_hid, n_out),
    }


def mlp_forward(params: Params, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q values (batch, n_out) and the hidden pre-activations (batch, n_hidden) of inputs x."""
    pre = x @ params["W1"] + params["b1"]
    return np.maximum(pre, 0.0) @ params["W2"] + params["b2"], pre


def huber(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Huber loss (beta 1) of the differences ``d`` elementwise, and its derivative."""
    small = np.abs(d) < 1.0
    return np.where(small, 0.5 * d * d, np.abs(d) - 0.5), np.where(small, d, np.sign(d))


def q_loss_and_grads(params: Params, x: np.ndarray, actions: np.ndarray, targets: np.ndarray) -> tuple[float, Params]:
    """Mean Huber loss of ``Q(x, a) - target`` over the batch and its exact gradient.

    Parameters
    ----------
    params : dict
        The policy network.
    x : ndarray, shape (batch, n_in)
        States.
    actions : ndarray of int, shape (batch,)
        Actions taken.
    targets : ndarray, shape (batch,)
        Bootstrapped targets (held constant: no gradient flows into them).
    """
    q, pre = mlp_forward(params, x)
    rows = np.arange(len(x))
    loss, dloss = huber(q[rows, actions] - targets)
    dq = np.zeros_like(q)
    dq[rows, actions] = dloss / len(x)
    hidden = np.maximum(pre, 0.0)
    dpre = (dq @ params["W2"].T) * (pre > 0)
    grads = {"W2": hidden.T @ dq, "b2": dq.sum(axis=0), "W1": x.T @ dpre, "b1": dpre.sum(axis=0)}
    return float(loss.mean()), grads


class ReplayBuffer:
    """A ring buffer of transitions ``(s, a, r, s', terminal)`` sampled uniformly with replacement.

    Parameters
    ----------
    size : int
        Capacity; the oldest transitions are overwritten.
    n_features : int
        Length of a state.
    """

    def __init__(self, size: int, n_features: int) -> None:
        self.s = np.zeros((size, n_features))
        self.s_next = np.zeros((size, n_features))
        self.a = np.zeros(size, dtype=np.int64)
        self.r = np.zeros(size)
        self.terminal = np.zeros(size, dtype=bool)
        self.size, self.count, self.next = size, 0, 0

    def __len__(self) -> int:
        return self.count

    def add(self, s: np.ndarray, a: int, r: float, s_next: np.ndarray | None) -> None:
        """Store one transition; ``s_next`` None marks a terminal one."""
        i = self.next
        self.s[i], self.a[i], self.r[i] = s, a, r
        self.terminal[i] = s_next is None
        self.s_next[i] = 0.0 if s_next is None else s_next
        self.next = (i + 1) % self.size
        self.count = min(self.count + 1, self.size)

    def sample(self, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """``batch`` transitions drawn uniformly with replacement: s, a, r, s', terminal."""
        idx = rng.integers(0, self.count, batch)
        return self.s[idx], self.a[idx], self.r[idx], self.s_next[idx], self.terminal[idx]


@dataclass(frozen=True)
class LinearSchedule:
    """``initial`` to ``final`` linearly over ``steps``, then ``final`` (OpenAI baselines').

    Parameters
    ----------
    steps : int
        Length of the ramp.
    final, initial : float
        End and start values.
    """

    steps: int
    final: float
    initial: float = 1.0

    def value(self, t: int) -> float:
        """The value at step t."""
        return self.initial + min(t / self.steps, 1.0) * (self.final - self.initial)


class DQN:
    """Policy and target networks, their optimizer and one Q-learning step.

    Parameters
    ----------
    n_in, n_hidden, n_actions : int
        Layer sizes (120, 32, 2 for CartPole).
    rng : numpy.random.Generator
        Initialisation and exploration.
    lr, gamma, grad_clip, rms_eps : float
        RMSprop step size, discount, gradient clamp and RMSprop epsilon (run_cartpole.py's).

    Members
    -------
    policy, target : dict of str to ndarray
        The two networks' parameters.
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_actions: int,
        rng: np.random.Generator,
        lr: float = 2e-4,
        gamma: float = 0.95,
        grad_clip: float = 1.0,
        rms_eps: float = 1e-6,
    ) -> None:
        self.n_actions, self.gamma, self.grad_clip, self.rng = n_actions, gamma, grad_clip, rng
        self.policy = mlp_init(n_in, n_hidden, n_actions, rng)
        self.target = {k: v.copy() for k, v in self.policy.items()}
        self.optimizer = RMSprop(lr, eps=rms_eps)

    def q(self, s: np.ndarray) -> np.ndarray:
        """Q values of one state."""
        return mlp_forward(self.policy, s[None, :])[0][0]

    def act(self, s: np.ndarray, epsilon: float) -> int:
        """Epsilon-greedy: a random action with probability epsilon, else the argmax of Q."""
        if self.rng.random() < epsilon:
            return int(self.rng.integers(self.n_actions))
        return int(np.argmax(self.q(s)))

    def train(self, s: np.ndarray, a: np.ndarray, r: np.ndarray, s_next: np.ndarray, terminal: np.ndarray) -> float:
        """One RMSprop step on the Huber loss of a batch; returns the loss before the step."""
        q_next = mlp_forward(self.target, s_next)[0].max(axis=1)
        targets = r + self.gamma * np.where(terminal, 0.0, q_next)
        loss, grads = q_loss_and_grads(self.policy, s, a, targets)
        grads = {k: np.clip(g, -self.grad_clip, self.grad_clip) for k, g in grads.items()}
        self.policy = self.optimizer.step(self.policy, grads)
        return loss

    def update_target(self) -> None:
        """Copy the policy network into the target network."""
        self.target = {k: v.copy() for k, v in self.policy.items()}
