"""e-prop (Bellec et al. 2020) in hardware form: the presynaptic factor is the eligibility trace.

Inputs use ``x_bar(t)`` (the trace updated with this tick's input spikes); recurrent rows use
``z_bar(t-1)``, because Wrec carried z(t-1) this tick. The two variants differ only in the
feedback matrix: a fixed random B (``eprop_random``) or B = Wout^T (``eprop_symmetric``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from numpy.typing import NDArray

from .base import LearningRule

if TYPE_CHECKING:
    from ..config import Config
    from ..learning import Traces

__all__ = ["Eprop", "EPROP_RANDOM", "EPROP_SYMMETRIC"]


@dataclass(frozen=True)
class Eprop(LearningRule):
    """e-prop: e_bar is the presynaptic trace (``x_bar(t)``, ``z_bar(t-1)``).

    Parameters
    ----------
    name : str
        ``Config.rule`` value.
    symmetric_feedback : bool
        B = Wout^T instead of the stored random B.
    pseudo_derivative : str
        ``"piecewise_linear"``, e-prop's triangle.
    """

    def presynaptic_factors(
        self, cfg: Config, tr_prev: Traces, tr_new: Traces, x: NDArray[Any], z_prev: NDArray[Any]
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        return tr_new.x_bar, tr_prev.z_bar


#: random feedback alignment: a fixed random B carries the errors
EPROP_RANDOM = Eprop("eprop_random")
#: symmetric e-prop: B = Wout^T
EPROP_SYMMETRIC = Eprop("eprop_symmetric", symmetric_feedback=True)
