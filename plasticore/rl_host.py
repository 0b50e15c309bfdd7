"""The RL agents' chip behind the host driver: the RTL in simulation or a board.

:class:`HostChip` is :class:`plasticore.training.rl_chip.ChipBackend` over a
:class:`plasticore.host.Host`, so ``run_chip_lsm_q(..., chip_factory=HostChip.factory(...))``
runs the same closed loop as on golden fixed point, with every tick on the chip. A window
whose last tick learns is two RUNs: the ticks before it with learning off, then the host reads
the readout Y of the last of them (the targets of the outputs not taken) and runs the learning
tick with its target valid. A fresh chip's LFSRs start where golden's do, so the actions and
weights of a run are golden's bit for bit (``tests/test_rl_rtl.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from plasticore.golden.config import Config
from plasticore.golden.network import Weights

from .host import Host

__all__ = ["HostChip"]


class HostChip:
    """:class:`~plasticore.training.rl_chip.ChipBackend` on a chip behind the host driver.

    Parameters
    ----------
    host : Host
        A fresh chip of the run's config (its learning LFSRs not drawn yet); the caller closes it.
    weights : Weights
        Initial weights, loaded here; the running state is reset.

    Members
    -------
    host : Host
        The chip.
    """

    def __init__(self, host: Host, weights: Weights) -> None:
        self.host = host
        host.load_weights(weights)
        host.reset_state()

    @staticmethod
    def factory(host: Host) -> Callable[[Config, Weights], HostChip]:
        """A ``chip_factory`` for the RL runs that puts the run's network on ``host``."""

        def make(cfg: Config, weights: Weights) -> HostChip:
            if cfg != host.cfg:
                raise ValueError(f"config: the run needs {cfg.name}, the host drives {host.cfg.name}")
            return HostChip(host, weights)

        return make

    def present(self, spikes: np.ndarray, target: tuple[int, int] | None = None) -> np.ndarray:
        spikes = np.asarray(spikes)
        ticks = len(spikes)
        free = ticks - 1 if target is not None else ticks
        if free:
            y = self.host.run_sequence(spikes[:free], what=("y",)).y[-1]
        else:  # a one-tick window: the readout the chip holds from before
            y = np.asarray(self.host.read_state()["y"], dtype=np.int64).reshape(-1)
        if target is None:
            return y
        targets = y.copy()
        targets[target[0]] = target[1]
        self.host.load_window(spikes[-1:], targets[None, :], np.ones(1, dtype=bool))
        self.host.run(1, learn=True)
        return self.host.read_outputs(1, what=("y",)).y[-1]

    def read_weights(self) -> Weights:
        return self.host.read_weights()
