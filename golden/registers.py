"""Run-time learning registers: the learning parameters the host may change between ticks.

The bitstream fixes every width of a :class:`~plasticore.golden.config.Config`; the values
here are held in registers of the core instead (the core region ``params`` of
``plasticore.contract.geometry``, written with the protocol's WRITE_MEM), so that the host can
anneal learning rates between epochs or switch a matrix's learning off without a new
bitstream. Their reset values are the config's.

Golden models them as state: a tick and its learning step under registers ``r`` compute what
they compute under the config :meth:`LearningRegisters.applied` returns, ``cfg`` with the
registers' values in place of its fields. The RTL computes, for every value in range, what the
RTL built from that config computes (cycle counts included), so one model covers both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .config import _SROUND_MAX_SHIFT, Config, ConfigError

__all__ = ["LearningRegisters", "REGISTER_FIELDS", "FLAG_FIELDS", "register_ranges"]

#: the registers in the order of their words in the core region ``params``
REGISTER_FIELDS = ("lr_shift", "out_lr_shift", "learn_input", "learn_recurrent", "learn_readout", "threshold")
#: the registers that hold a boolean (one bit)
FLAG_FIELDS = frozenset({"learn_input", "learn_recurrent", "learn_readout"})


def register_ranges(cfg: Config) -> dict[str, tuple[int, int]]:
    """The values each register accepts under ``cfg`` (inclusive). The shifts stop at 32:
    stochastic rounding adds the low ``shift`` bits of a 32-bit LFSR draw (as in Config); the
    threshold must fit U and leave room for the adaptation above it (``threshold + a`` fits
    ``u_bits`` unsigned bits), as Config requires of its field. A config whose registers are
    bitstream constants (``runtime_registers`` False) accepts only its own values."""
    if not cfg.runtime_registers:
        return {name: (int(getattr(cfg, name)), int(getattr(cfg, name))) for name in REGISTER_FIELDS}
    u_max = (1 << (cfg.u_bits - 1)) - 1
    a_max = (1 << cfg.a_bits) - 1
    return {
        "lr_shift": (0, _SROUND_MAX_SHIFT),
        "out_lr_shift": (0, _SROUND_MAX_SHIFT),
        "learn_input": (0, 1),
        "learn_recurrent": (0, 1),
        "learn_readout": (0, 1),
        "threshold": (1, min(u_max, (1 << cfg.u_bits) - 1 - a_max)),
    }


@dataclass(frozen=True)
class LearningRegisters:
    """The values of the run-time learning registers.

    Parameters
    ----------
    lr_shift : int
        Input and recurrent learning rate ``2**-lr_shift``.
    out_lr_shift : int
        Readout learning rate ``2**-out_lr_shift``.
    learn_input, learn_recurrent, learn_readout : bool
        Whether Win, Wrec and Wout learn on learning ticks.
    threshold : int
        The base firing threshold theta, soma LSBs.
    """

    lr_shift: int
    out_lr_shift: int
    learn_input: bool
    learn_recurrent: bool
    learn_readout: bool
    threshold: int

    @classmethod
    def of(cls, cfg: Config) -> LearningRegisters:
        """The registers' reset values: the config's fields."""
        return cls(**{name: getattr(cfg, name) for name in REGISTER_FIELDS})

    def checked(self, cfg: Config) -> LearningRegisters:
        """``self``, after checking every value against :func:`register_ranges`.

        Raises
        ------
        ConfigError
            Naming the first register out of range, its value and the allowed range.
        """
        for name, (lo, hi) in register_ranges(cfg).items():
            value = getattr(self, name)
            if name in FLAG_FIELDS:
                if not isinstance(value, bool):
                    raise ConfigError(f"register {name}: {value!r} is not a boolean")
                if not lo <= value <= hi:
                    raise ConfigError(f"register {name}: {value!r} is fixed at {bool(lo)} (runtime_registers false)")
            elif isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ConfigError(f"register {name}: {value!r} is outside the allowed range {lo}..{hi}")
        return self

    def replace(self, **changes: Any) -> LearningRegisters:
        """New register values (unknown names refused; ranges are checked against a config by
        :meth:`checked`)."""
        unknown = set(changes) - set(REGISTER_FIELDS)
        if unknown:
            raise ConfigError(
                f"unknown register(s): {', '.join(sorted(unknown))}; registers: {', '.join(REGISTER_FIELDS)}"
            )
        return dataclasses.replace(self, **changes)

    def applied(self, cfg: Config) -> Config:
        """The config a tick and its learning read under these registers."""
        self.checked(cfg)
        return cfg.replace(**{name: getattr(self, name) for name in REGISTER_FIELDS})

    def words(self) -> list[int]:
        """The registers as the words of region ``params``, in :data:`REGISTER_FIELDS` order."""
        return [int(getattr(self, name)) for name in REGISTER_FIELDS]

    @classmethod
    def from_words(cls, cfg: Config, words: Sequence[int]) -> LearningRegisters:
        """Registers from the words of region ``params`` (as read back from a chip)."""
        if len(words) != len(REGISTER_FIELDS):
            raise ValueError(f"words: {len(words)} words, the registers are {len(REGISTER_FIELDS)}")
        values: dict[str, Any] = {}
        for name, word in zip(REGISTER_FIELDS, words, strict=True):
            values[name] = bool(word) if name in FLAG_FIELDS else int(word)
        return cls(**values).checked(cfg)
