"""CartPole (Gymnasium) and the one-hot bucket encoding of Ponghiran et al. (2019).

The environment is Gymnasium's ``CartPole-v1`` (500-step limit; solved when the mean return
over 100 consecutive episodes reaches 475) or ``CartPole-v0`` (200 steps, 195), the version
the official lsm-rl code trains on. Its dynamics and seeding are Gymnasium's: the first
``reset`` gets the seed, later resets continue its generator.

The encoding (run_cartpole.py's ``pre_process``): each of the four observations (cart
position, velocity, pole angle, angular velocity) is mapped onto 10 buckets between fixed
bounds, ``round(9 * (x + bound) / (2 bound))`` clipped to 0..9 (Python's round: halves to even,
as ``np.rint``), and the bucket's input is 1, the other nine 0: 40 inputs, four of them on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CARTPOLE_VERSIONS", "BUCKETS", "BOUNDS", "encode_buckets", "make_cartpole"]

BUCKETS = 10
#: |bound| of cart position, cart velocity, pole angle (rad), pole angular velocity
BOUNDS = np.array([2.5, 0.5, 0.28, 0.88])


@dataclass(frozen=True)
class CartPoleVersion:
    """A CartPole version's rules.

    Parameters
    ----------
    gym_id : str
        Gymnasium's environment id.
    max_steps : int
        Episode length limit (truncation).
    solved_mean : float
        The mean return over 100 consecutive episodes that counts as solved.
    """

    gym_id: str
    max_steps: int
    solved_mean: float


CARTPOLE_VERSIONS = {
    "v0": CartPoleVersion("CartPole-v0", 200, 195.0),
    "v1": CartPoleVersion("CartPole-v1", 500, 475.0),
}


def encode_buckets(obs: np.ndarray) -> np.ndarray:
    """The 40 one-hot inputs (4 variables x 10 buckets, variable-major) of one observation."""
    obs = np.asarray(obs, dtype=float)
    if obs.shape != (4,):
        raise ValueError(f"obs: shape {obs.shape} is not (4,)")
    ratio = (obs + BOUNDS) / (2 * BOUNDS)
    bucket = np.clip(np.rint((BUCKETS - 1) * ratio), 0, BUCKETS - 1).astype(int)
    x = np.zeros((4, BUCKETS))
    x[np.arange(4), bucket] = 1.0
    return x.reshape(-1)


def make_cartpole(version: str = "v1"):
    """A Gymnasium CartPole environment of ``version`` ('v0' or 'v1'), not yet reset."""
    if version not in CARTPOLE_VERSIONS:
        raise ValueError(f"version: {version!r} is not one of {', '.join(CARTPOLE_VERSIONS)}")
    import warnings

    import gymnasium

    with warnings.catch_warnings():  # v0 is "out of date" for Gymnasium, but it is the anchor's
        warnings.simplefilter("ignore")
        return gymnasium.make(CARTPOLE_VERSIONS[version].gym_id)
