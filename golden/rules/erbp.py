"""Event-driven random backpropagation (eRBP, Neftci et al. 2017) in hardware form.

The presynaptic factor is the presynaptic spike itself, scaled by ``trace_inc`` so that it has
the units of a trace: ``trace_inc * x(t)`` for inputs, ``trace_inc * z(t-1)`` for recurrent
rows. No trace enters the update (the traces still advance; the readout learns from
``z_bar``). Errors reach the dendrites through the fixed random B; the published rule uses a
boxcar derivative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from numpy.typing import NDArray

from .base import LearningRule

if TYPE_CHECKING:
    from ..config import Config
    from ..learning import Traces

__all__ = ["Erbp", "ERBP"]


@dataclass(frozen=True)
class Erbp(LearningRule):
    """eRBP: e_bar is ``trace_inc`` on a presynaptic spike, 0 otherwise.

    Parameters
    ----------
    name : str
        ``Config.rule`` value.
    symmetric_feedback : bool
        False: the stored random B.
    pseudo_derivative : str
        ``"boxcar"``, eRBP's window.
    """

    def presynaptic_factors(
        self, cfg: Config, tr_prev: Traces, tr_new: Traces, x: NDArray[Any], z_prev: NDArray[Any]
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        dtype = tr_new.x_bar.dtype
        return (cfg.trace_inc * x).astype(dtype), (cfg.trace_inc * z_prev).astype(dtype)


ERBP = Erbp("erbp", pseudo_derivative="boxcar")
