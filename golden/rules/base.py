"""The interface every learning rule of :mod:`plasticore.golden.rules` implements.

A rule decides only what differs between rules; the shared machinery (traces, pseudo-derivative,
stochastic rounding, banked row updates in hardware visit order, the readout update) stays in
:mod:`plasticore.golden.learning`, which asks the configured rule (``RULES[cfg.rule]``) at
each point where rules differ.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from numpy.typing import NDArray

if TYPE_CHECKING:  # annotations only: config and learning import this package at run time
    from ..config import Config
    from ..learning import Traces

__all__ = ["LearningRule"]


@dataclass(frozen=True)
class LearningRule(ABC):
    """One learning rule of the chip: where it differs from the shared learning tick.

    The weight update of a learning tick is ``dW[j, i] = sround(-g_j * e_bar_i, lr_shift)``
    with the postsynaptic factor ``g`` (:meth:`postsynaptic_factor`) and the presynaptic
    factor ``e_bar`` (:meth:`presynaptic_factors`); errors reach the dendrites through the
    feedback matrix B (``symmetric_feedback``).

    Parameters
    ----------
    name : str
        The value of ``Config.rule`` that selects this rule (its key in ``RULES``).
    symmetric_feedback : bool
        True: B is ``Wout^T`` (symmetric feedback, B then has Wout's width); False: the stored
        random B (``Weights.b_fb``).
    pseudo_derivative : str
        The pseudo-derivative shape the published rule uses (``"boxcar"`` or
        ``"piecewise_linear"``); the trainers' task configs default to it. ``Config`` itself
        does not tie the two: any rule runs with either shape.

    Attributes
    ----------
    name, symmetric_feedback, pseudo_derivative
        As given.
    """

    name: str
    symmetric_feedback: bool = False
    pseudo_derivative: str = "piecewise_linear"

    @abstractmethod
    def presynaptic_factors(
        self, cfg: Config, tr_prev: Traces, tr_new: Traces, x: NDArray[Any], z_prev: NDArray[Any]
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """e_bar of the input rows and of the recurrent rows, ``(batch, n_in)``, ``(batch, n_rec)``.

        ``tr_prev`` / ``tr_new``: the traces before and after this tick's update; ``x``: this
        tick's input spikes; ``z_prev``: the recurrent spikes Wrec carried this tick (z(t-1)).
        A row whose factor is zero is skipped (no LFSR draw), as in the hardware.
        """

    def postsynaptic_factor(self, cfg: Config, v: NDArray[Any], h: NDArray[Any]) -> NDArray[Any]:
        """g, ``(batch, n_rec)``: the dendrite's learning signal V times the pseudo-derivative h
        (the row updaters' ``g = V * h``; a rule that changes it needs the RTL changed too)."""
        g: NDArray[Any] = v * h
        return g
