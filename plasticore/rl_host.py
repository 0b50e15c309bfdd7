"""The RL agents' chip behind the host driver: the RTL in simulation or a board.

:class:`HostChip` is :class:`plasticore.training.rl_chip.ChipBackend` over a
:class:`plasticore.host.Host`, so ``run_chip_lsm_q(..., chip_factory=HostChip.factory(...))``
runs the same closed loop as on golden fixed point, with every tick on the chip. A window
whose last ticks learn is two RUNs: the ticks before them with learning off, then the host
reads the readout Y of the last of them, computes the targets from it and runs the learning
ticks with their targets valid. A fresh chip's LFSRs start where golden's do, so the actions and
weights of a run are golden's bit for bit (``tests/test_rl_rtl.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from plasticore.golden.config import Config
from plasticore.golden.network import Weights
from plasticore.golden.registers import LearningRegisters
from plasticore.training.rl_chip import TargetRule

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

    def present(self, spikes: np.ndarray, targets: TargetRule | None = None, learn_ticks: int = 1) -> np.ndarray:
        spikes = np.asarray(spikes)
        ticks = len(spikes)
        free = ticks - learn_ticks if targets is not None else ticks
        if free:
            y = self.host.run_sequence(spikes[:free], what=("y",)).y[-1]
        else:  # a one-tick window: the readout the chip holds from before
            y = np.asarray(self.host.read_state()["y"], dtype=np.int64).reshape(-1)
        if targets is None:
            return y
        target = np.asarray(targets(y), dtype=np.int64)
        learning = np.repeat(target[None, :], learn_ticks, axis=0)
        return self.host.run_sequence(
            spikes[free:], learning, np.ones(learn_ticks, dtype=bool), learn=True, what=("y",)
        ).y[-1]

    def read_weights(self) -> Weights:
        return self.host.read_weights()

    def write_learning_registers(self, regs: LearningRegisters) -> None:
        self.host.write_learning_registers(regs)
