"""The learning-to-learn regression family (Bellec et al. 2018, LSNN paper): episodes of new tasks.

A task is a function ``f: [-1, 1] -> [-1, 1]`` drawn from a family of random target networks:
one input, ``hidden`` sigmoid units with random weights and biases, one linear output, scaled
so that ``f`` spans exactly ``[-1, 1]`` on the input interval (SEEDS.md marks the paper's exact
draw as unverified; this is the shape it describes). An episode shows ``examples`` points of
one task in a row, ``example_ticks`` ticks each: during example ``n`` the network sees ``x_n``
and the previous example's target ``f(x_{n-1})`` (nothing for ``n = 0``), and must output
``f(x_n)`` on the last ``answer_ticks`` ticks of the example. A network with frozen weights can
only do better on later examples than on the first by inferring ``f`` from the pairs it has
seen, i.e. by learning within the episode.

Both values reach the network as spikes: each through ``n_pop`` input neurons with Gaussian
tuning curves spread over ``[-1, 1]`` (population coding), neuron ``i`` firing with probability
``rate * exp(-(v - c_i)**2 / (2 width**2))`` per tick, ``width`` the spacing of the centres.
The first ``n_pop`` inputs encode ``x_n``, the next ``n_pop`` the previous target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Split

__all__ = ["RegressionEpisodes", "l2l_regression", "target_functions", "population_code"]

#: points of the grid on which each target function is scaled to [-1, 1] and its mean taken
_GRID = 201


@dataclass(frozen=True)
class RegressionEpisodes:
    """A batch of episodes, each a new task of the family.

    Parameters
    ----------
    split : Split
        Spikes ``(episodes, ticks, 2 n_pop)``, targets ``(episodes, ticks, 1)`` (``f(x_n)`` on
        every tick of example ``n``) and the answer ticks as ``valid``.
    xs, ys : ndarray, shape (episodes, examples)
        The inputs ``x_n`` and targets ``f(x_n)`` of each example.
    task_mean : ndarray, shape (episodes,)
        Each task's mean of ``f`` over the input interval: the mean predictor's answer.
    task_mse_of_mean : ndarray, shape (episodes,)
        Each task's variance of ``f`` over the input interval: the mean predictor's MSE.

    Attributes
    ----------
    examples, example_ticks, answer_ticks : int
        The episode's shape.
    """

    split: Split
    xs: np.ndarray
    ys: np.ndarray
    task_mean: np.ndarray
    task_mse_of_mean: np.ndarray
    example_ticks: int
    answer_ticks: int

    @property
    def examples(self) -> int:
        return self.xs.shape[1]

    def example_of_tick(self) -> np.ndarray:
        """The example index of every tick, ``(ticks,)``."""
        return np.repeat(np.arange(self.examples), self.example_ticks)


def target_functions(rng: np.random.Generator, n: int, hidden: int = 10) -> tuple[np.ndarray, ...]:
    """``n`` random target networks ``(w1, b1, w2)``: hidden slopes ``N(0, 3**2)``, biases
    ``U(-3, 3)`` (so that the sigmoids bend inside the input interval), output weights
    ``N(0, 1)``."""
    w1 = rng.normal(0.0, 3.0, (n, hidden))
    b1 = rng.uniform(-3.0, 3.0, (n, hidden))
    w2 = rng.normal(0.0, 1.0, (n, hidden))
    return w1, b1, w2


def _evaluate(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``f(x)`` of each network at its own points ``x`` ``(n, points)``, unscaled."""
    h = 1.0 / (1.0 + np.exp(-(w1[:, None, :] * x[:, :, None] + b1[:, None, :])))
    return np.einsum("nph,nh->np", h, w2)


def population_code(values: np.ndarray, n_pop: int, rate: float, rng: np.random.Generator, ticks: int) -> np.ndarray:
    """Spikes ``(*values.shape, ticks, n_pop)`` of uint8 encoding each value of ``[-1, 1]``
    (see the module docstring)."""
    centres = np.linspace(-1.0, 1.0, n_pop)
    width = 2.0 / (n_pop - 1)
    p = rate * np.exp(-((values[..., None] - centres) ** 2) / (2 * width**2))
    return (rng.random((*values.shape, ticks, n_pop)) < p[..., None, :]).astype(np.uint8)


def l2l_regression(
    seed: int | np.random.Generator,
    episodes: int,
    examples: int = 16,
    example_ticks: int = 12,
    answer_ticks: int = 6,
    n_pop: int = 8,
    rate: float = 0.5,
    hidden: int = 10,
) -> RegressionEpisodes:
    """``episodes`` episodes, each of a new task drawn from ``seed`` (an int or a Generator
    to draw fresh batches from one stream)."""
    for name, value, lo in (
        ("episodes", episodes, 1),
        ("examples", examples, 2),
        ("example_ticks", example_ticks, 1),
        ("n_pop", n_pop, 2),
        ("hidden", hidden, 1),
    ):
        if value < lo:
            raise ValueError(f"{name}: {value!r} is outside the allowed range {lo}..")
    if not 1 <= answer_ticks <= example_ticks:
        raise ValueError(
            f"answer_ticks: {answer_ticks!r} is outside the allowed range 1..example_ticks={example_ticks}"
        )
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"rate: {rate!r} is outside the allowed range (0, 1]")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    w1, b1, w2 = target_functions(rng, episodes, hidden)
    grid = np.broadcast_to(np.linspace(-1.0, 1.0, _GRID), (episodes, _GRID))
    on_grid = _evaluate(w1, b1, w2, grid)
    lo, hi = on_grid.min(axis=1, keepdims=True), on_grid.max(axis=1, keepdims=True)
    span = np.maximum(hi - lo, 1e-9)

    def scaled(f: np.ndarray) -> np.ndarray:
        return 2.0 * (f - lo) / span - 1.0

    xs = rng.uniform(-1.0, 1.0, (episodes, examples))
    ys = scaled(_evaluate(w1, b1, w2, xs))
    grid_values = scaled(on_grid)
    ticks = examples * example_ticks
    x_spikes = population_code(xs, n_pop, rate, rng, example_ticks)
    prev = np.concatenate([np.zeros((episodes, 1)), ys[:, :-1]], axis=1)
    prev_spikes = population_code(prev, n_pop, rate, rng, example_ticks)
    prev_spikes[:, 0] = 0  # the first example has no previous target
    spikes = np.concatenate([x_spikes, prev_spikes], axis=-1).reshape(episodes, ticks, 2 * n_pop)
    target = np.repeat(ys, example_ticks, axis=1)[:, :, None]
    answer = np.zeros(example_ticks, dtype=bool)
    answer[example_ticks - answer_ticks :] = True
    valid = np.broadcast_to(np.tile(answer, examples), (episodes, ticks)).copy()
    return RegressionEpisodes(
        split=Split(spikes, target, valid),
        xs=xs,
        ys=ys,
        task_mean=grid_values.mean(axis=1),
        task_mse_of_mean=grid_values.var(axis=1),
        example_ticks=example_ticks,
        answer_ticks=answer_ticks,
    )
