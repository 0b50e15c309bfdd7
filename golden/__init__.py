"""plasticore's golden model: numpy only, it defines every bit the hardware computes.

Nothing in here imports from the rest of plasticore; ``hdl/`` imports the configuration and
numerics constants from here, never the other way round.
"""

from .config import Config, ConfigError, PRESETS, load_config, preset
from .network import (Recording, State, TickOut, Weights, init_state, init_weights, poisson_inputs,
                      run, tick)
from .numerics import FixedNumerics, FloatNumerics, numerics

__all__ = [
    "Config", "ConfigError", "PRESETS", "load_config", "preset",
    "Recording", "State", "TickOut", "Weights", "init_state", "init_weights", "poisson_inputs",
    "run", "tick",
    "FixedNumerics", "FloatNumerics", "numerics",
]
