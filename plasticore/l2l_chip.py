"""The L2L inner loop on the chip: episodes of new tasks with the weights frozen.

Each episode runs from a reset state (membranes, adaptation, readout, traces zeroed; the
weights stay) with learning off, a window at a time through the host driver. Golden fixed
point runs the same episodes; the chip must equal it on every tick (readouts and spikes), and
the weights read back at the end must be the ones loaded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from plasticore.golden.network import Weights
from plasticore.tasks.l2l_regression import RegressionEpisodes
from plasticore.training.bptt_train import forward_fixed
from plasticore.training.common import Progress, no_progress

from .chip_train import weights_equal
from .host import Host

__all__ = ["ChipEpisodes", "run_episodes_on_chip"]


@dataclass
class ChipEpisodes:
    """What :func:`run_episodes_on_chip` measured.

    Parameters
    ----------
    y : ndarray, shape (episodes, ticks, n_out)
        The chip's readouts.
    equal_to_golden : dict of str to bool
        Readouts and spikes of every tick against golden fixed point's.
    weights_unchanged : dict of str to bool
        Per matrix: the weights read back after the episodes are the ones loaded.
    seconds : float
        Time of the runs on the chip (not the simulator build).
    """

    y: np.ndarray
    equal_to_golden: dict[str, bool]
    weights_unchanged: dict[str, bool]
    seconds: float


def run_episodes_on_chip(
    chip: Host, w: Weights, ep: RegressionEpisodes, progress: Progress = no_progress
) -> ChipEpisodes:
    """Load the integer weights ``w``, run every episode of ``ep`` with learning off, and check
    the chip against golden fixed point tick by tick and the weights against ``w``."""
    cfg = chip.cfg
    n = len(ep.xs)
    ticks = ep.split.ticks
    y = np.zeros((n, ticks, cfg.n_out), dtype=np.int64)
    z = np.zeros((n, ticks, cfg.n_rec), dtype=np.int64)
    start = time.perf_counter()
    chip.load_weights(w)
    for i in progress(range(n), "episodes on the chip", n):
        chip.reset_state()
        out = chip.run_sequence(ep.split.x[i], what=("y", "z"))
        y[i], z[i] = out.y, out.z
    after = chip.read_weights()
    seconds = time.perf_counter() - start
    golden = forward_fixed(cfg, w, np.swapaxes(ep.split.x, 0, 1))
    equal = {
        "readout on every tick": bool(np.array_equal(y, np.swapaxes(golden.y, 0, 1))),
        "spikes on every tick": bool(np.array_equal(z, np.swapaxes(golden.z, 0, 1))),
    }
    return ChipEpisodes(y, equal, weights_equal(cfg, w, after), seconds)
