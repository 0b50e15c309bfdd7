"""plasticore's golden model: the chip's bit-level model, numpy only; it defines every bit the hardware computes.

It is the configuration (``config``), the arithmetic (``numerics``, ``lfsr``), the inference
tick (``network``), the on-chip learning tick (``learning``, with one file per learning rule in
``rules``) and the float twin's error bounds (``twin``). It is not the host/RTL contract
(``plasticore.contract``), the published float algorithms (``plasticore.reference``), the tasks
(``plasticore.tasks``) or the training loops (``plasticore.training``): nothing in here imports
from the rest of plasticore, and every other room may import from here.
"""

from .config import PRESETS, Config, ConfigError, load_config, preset
from .network import Recording, State, TickOut, Weights, init_state, init_weights, poisson_inputs, run, tick
from .numerics import FixedNumerics, FloatNumerics, numerics
from .rules import RULES, LearningRule

__all__ = [
    "Config",
    "ConfigError",
    "PRESETS",
    "load_config",
    "preset",
    "Recording",
    "State",
    "TickOut",
    "Weights",
    "init_state",
    "init_weights",
    "poisson_inputs",
    "run",
    "tick",
    "FixedNumerics",
    "FloatNumerics",
    "numerics",
    "RULES",
    "LearningRule",
]
