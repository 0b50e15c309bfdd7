"""The chip's learning rules, one file each, by ``Config.rule`` name.

:mod:`plasticore.golden.learning` holds what every rule shares (traces, pseudo-derivative,
stochastic rounding, banked row updates in hardware visit order, readout update) and asks
``RULES[cfg.rule]`` where rules differ (:class:`~plasticore.golden.rules.base.LearningRule`).
``Config`` takes the allowed values of ``rule`` from :data:`RULES`.

A new rule is one new file here (a :class:`LearningRule` subclass and its instance) plus one
line in :data:`RULES` (and, for the chip, the RTL's learning unit: ``hdl/core.py``).
"""

from __future__ import annotations

from .base import LearningRule
from .eprop import EPROP_RANDOM, EPROP_SYMMETRIC, Eprop
from .erbp import ERBP, Erbp

__all__ = ["RULES", "LearningRule", "Eprop", "Erbp"]

#: ``Config.rule`` name -> rule; the first is the default rule
RULES: dict[str, LearningRule] = {
    rule.name: rule
    for rule in (
        EPROP_RANDOM,
        EPROP_SYMMETRIC,
        ERBP,
    )
}
