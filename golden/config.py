"""The one configuration object of plasticore.

Every size, bit width, fixed-point factor, shift, rule choice and seed that the golden model,
the RTL, the co-simulation and synthesis use comes from a :class:`Config`. Nothing downstream
writes a width or a constant by hand: it reads it (or a derived value such as ``alpha_q``) from
here. ``docs/numerics.md`` says what each field means for the arithmetic.

A :class:`Config` is immutable and validated on construction: a bad value raises
:class:`ConfigError` naming the field, the value and the allowed range, so that a wrong setting
is never silently turned into wrong hardware.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .rules import RULES as _RULE_REGISTRY

__all__ = [
    "Config",
    "ConfigError",
    "PRESETS",
    "RESET_MODES",
    "PSEUDO_DERIVATIVES",
    "RULE_NAMES",
    "preset",
    "load_config",
    "decay_factor",
]

RESET_MODES = ("subtract", "zero")
PSEUDO_DERIVATIVES = ("boxcar", "piecewise_linear", "step")
#: the learning rules' names, from the registry :data:`plasticore.golden.rules.RULES`
RULE_NAMES: tuple[str, ...] = tuple(_RULE_REGISTRY)
MULTIPLIERS = ("dsp", "logic")
#: where the core's per-bank memory copies live (see ``Config.bank_memories``)
BANK_MEMORIES = ("auto", "block")
#: the row updaters' products have one way more: "factored" (see ``Config.learn_multipliers``)
LEARN_MULTIPLIERS = MULTIPLIERS + ("factored",)

#: Largest magnitude an intermediate sum may reach. Golden computes integer sums exactly in
#: int64; the RTL sizes its accumulators from the same bounds (see ``Config.acc_bits``).
_MAX_EXACT_BITS = 62
#: stochastic rounding adds the low ``shift`` bits of a 32-bit LFSR draw, so shifts stop at 32
_SROUND_MAX_SHIFT = 32


#: fields whose None means "off" or "same as another field"
_OPTIONAL_FIELDS = ("tau_trace", "wout_bits", "fb_banks", "tau_readout_trace", "error_clamp", "rate_target")


class ConfigError(ValueError):
    """A configuration value is outside what golden and hardware support."""


def decay_factor(tau: float, decay_bits: int) -> int:
    """The fixed-point decay factor ``round(exp(-1/tau) * 2**decay_bits)`` for one tick.

    Clipped to ``2**decay_bits - 1`` so that every decay is a strict contraction (a state
    that is never driven always returns to zero, and the factor fits ``decay_bits`` bits).
    """
    q = round(math.exp(-1.0 / tau) * (1 << decay_bits))
    return max(0, min(q, (1 << decay_bits) - 1))


def _range(lo: float, hi: float) -> dict[str, tuple[float, float]]:
    return {"range": (lo, hi)}


def _choice(options: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {"choices": options}


def _flag() -> dict[str, bool]:
    return {"bool": True}


@dataclass(frozen=True)
class Config:
    """Sizes, widths, constants, rule and seeds of one plasticore network.

    Units: ``threshold``, ``adapt_inc`` and ``pd_window`` are in soma LSBs (the integer unit
    of ``U``); time constants are in ticks. Weights are signed ``w_bits`` integers; a weight
    adds ``W << w_shift`` soma LSBs to the membrane, ``W << out_shift`` readout LSBs to Y.

    Parameters
    ----------
    name : str
        Label used in reports.
    n_in, n_rec, n_out, n_alif : int
        Sizes; the last ``n_alif`` recurrent neurons are ALIF.
    w_bits, wout_bits, u_bits, a_bits, v_bits, y_bits, e_bits, trace_bits, decay_bits, ref_bits : int
        Bit widths (``wout_bits`` None: same as ``w_bits``).
    tau_m, tau_a, tau_out, tau_v, tau_trace : float
        Time constants in ticks (``tau_trace`` None: same as ``tau_m``).
    threshold, adapt_inc, refractory, reset, w_shift, out_shift, fb_shift
        Neuron dynamics and gains.
    rule, pseudo_derivative, pd_window, lr_shift, out_lr_shift, trace_inc, h_bits, learn_readout
        Learning; ``rule`` is a name of :data:`plasticore.golden.rules.RULES`.
    lanes, weight_banks, learn_multipliers, decay_multipliers, pipelined, fb_banks, bank_memories, runtime_registers
        Hardware shape (only ``lanes`` and ``weight_banks`` change values: the LFSR draw order).
    tau_readout_trace, learn_input, learn_recurrent, twin_saturates, error_clamp, rate_target, rate_reg_shift
        Sample-efficient e-prop: the readout's own trace, learning enables per matrix, the
        float twin's rails, the bounded output error and firing-rate regularization
        (docs/numerics.md).
    connectivity, rewire
        The sparse Win/Wrec synapse table and DEEP R rewiring (``plasticore.golden.synapses``).
    hidden_layers
        Layered feedforward topologies inside the recurrent pool (``plasticore.golden.layers``).
    seed, lfsr_seed : int
        Weight initialization and stochastic-rounding seeds.

    Each field's comment below says what it means and why its range is what it is.

    Attributes
    ----------
    weight_bits : Mapping[str, int]
        Width of each weight matrix by name; the other derived constants (decay factors
        ``alpha_q`` ..., accumulator and product widths, LFSR lanes) are cached properties.

    Raises
    ------
    ConfigError
        On construction, for a value outside what golden and the hardware support.
    """

    name: str = field(default="custom", metadata={"doc": "label used in reports"})

    # sizes ------------------------------------------------------------------------------
    n_in: int = field(default=16, metadata=_range(1, 4096))
    n_rec: int = field(default=32, metadata=_range(1, 4096))
    n_out: int = field(default=2, metadata=_range(1, 256))
    #: the last ``n_alif`` recurrent neurons are adaptive (ALIF); the others are LIF
    n_alif: int = field(default=0, metadata=_range(0, 4096))

    # bit widths (signed two's complement unless noted) ---------------------------------------
    w_bits: int = field(default=8, metadata=_range(2, 16))
    #: readout weights Wout (signed); ``None`` means "same as w_bits". A wider readout lets a
    #: task scale its readout up without saturating Wout, so stochastic rounding's +-1 LSB is a
    #: smaller fraction of each readout update (docs/results.md, cue accumulation)
    wout_bits: int | None = field(default=None, metadata=_range(2, 16))
    u_bits: int = field(default=16, metadata=_range(8, 32))
    #: adaptation state a (unsigned)
    a_bits: int = field(default=14, metadata=_range(2, 24))
    v_bits: int = field(default=16, metadata=_range(8, 32))
    y_bits: int = field(default=16, metadata=_range(8, 32))
    e_bits: int = field(default=16, metadata=_range(4, 32))
    #: presynaptic eligibility traces x-bar and z-bar (unsigned)
    trace_bits: int = field(default=8, metadata=_range(2, 24))
    #: fractional bits of every decay factor
    decay_bits: int = field(default=8, metadata=_range(4, 16))
    #: refractory counter (unsigned); derived minimum is checked against ``refractory``
    ref_bits: int = field(default=4, metadata=_range(1, 8))

    # dynamics ---------------------------------------------------------------------------
    tau_m: float = field(default=20.0, metadata=_range(0.5, 1e6))
    tau_a: float = field(default=200.0, metadata=_range(0.5, 1e6))
    tau_out: float = field(default=20.0, metadata=_range(0.5, 1e6))
    tau_v: float = field(default=20.0, metadata=_range(0.5, 1e6))
    #: tau of the presynaptic traces; e-prop uses tau_m, so ``None`` means "same as tau_m"
    tau_trace: float | None = field(default=None, metadata=_range(0.5, 1e6))
    threshold: int = field(default=1024, metadata=_range(1, (1 << 31) - 1))
    #: ALIF threshold increase per spike, in soma LSBs (beta folded into a; see numerics.md)
    adapt_inc: int = field(default=64, metadata=_range(0, (1 << 24) - 1))
    refractory: int = field(default=2, metadata=_range(0, 255))
    reset: str = field(default="subtract", metadata=_choice(RESET_MODES))
    w_shift: int = field(default=4, metadata=_range(0, 16))
    out_shift: int = field(default=2, metadata=_range(0, 16))
    #: right shift (rounded) applied to the feedback sum B.e before it enters V
    fb_shift: int = field(default=10, metadata=_range(0, 32))

    # learning ---------------------------------------------------------------------------
    rule: str = field(default="eprop_random", metadata=_choice(RULE_NAMES))
    pseudo_derivative: str = field(default="boxcar", metadata=_choice(PSEUDO_DERIVATIVES))
    #: half-width of the pseudo-derivative window around the threshold, soma LSBs ("step": h is
    #: h_max from ``A - pd_window`` up, the silicon anchor's one-sided pseudo-derivative)
    pd_window: int = field(default=512, metadata=_range(1, (1 << 31) - 1))
    #: learning rate eta = 2**-lr_shift (input and recurrent weights)
    lr_shift: int = field(default=12, metadata=_range(0, 40))
    #: readout learning rate eta_out = 2**-out_lr_shift
    out_lr_shift: int = field(default=12, metadata=_range(0, 40))
    #: added to a presynaptic trace per spike (and eRBP's e-bar per spike); < 2**trace_bits
    trace_inc: int = field(default=16, metadata=_range(1, (1 << 16) - 1))
    #: width of the pseudo-derivative h (unsigned); boxcar h is 0 or 2**h_bits - 1
    h_bits: int = field(default=4, metadata=_range(1, 16))
    #: whether the readout weights Wout learn (readout phase of the update)
    learn_readout: bool = field(default=True, metadata=_flag())

    # hardware shape ---------------------------------------------------------------------
    #: P: post-synaptic weights per memory word, i.e. parallel accumulation lanes
    lanes: int = field(default=4, metadata=_range(1, 64))
    #: K: banks of the presynaptic weight table (Win rows, then Wrec rows); row i lives in bank
    #: ``i mod K``. K integrators and K row updaters work on the banks side by side (the sums
    #: are exact, so integration's values do not depend on K). Learning does: bank b's updater
    #: draws from its own P LFSR lanes (``b*P .. b*P+P-1``), and with K > 1 the readout learns
    #: at the same time, from P lanes of its own (``K*P .. K*P+P-1``); with K = 1 it follows
    #: the hidden rows on the same lanes (as a single updater draws). K > 1
    #: needs K and ``ceil(n_rec / lanes)`` to be powers of two (a row's bank and address are bit
    #: fields of its bus address).
    weight_banks: int = field(default=1, metadata=_range(1, 16))
    #: how the row updaters of Win/Wrec build their products ``g * e_bar`` (no effect on any
    #: value): "dsp" writes ``*`` and leaves it to synthesis (hard multipliers where the FPGA
    #: has them), "logic" sums the shifted ``g`` of each set bit of ``e_bar`` with adders, for
    #: boards whose hard multipliers run out before their logic (many learning banks);
    #: "factored" keeps V and h apart and multiplies ``V * (h * e_bar)``: the same integer, but
    #: h (a few bits) times the trace is a small adder tree and V times that fits one 18x18
    #: hard multiplier, where ``g * e_bar`` (``v_bits + h_bits`` by ``trace_bits``) is wider
    #: than the multiplier port and takes more than one (the readout's ``e * z_bar`` is as before).
    learn_multipliers: str = field(default="dsp", metadata=_choice(LEARN_MULTIPLIERS))
    #: how the decays multiply by their constant factors (alpha, rho, gamma, kappa, the traces';
    #: no effect on any value): "dsp" writes ``*`` (synthesis puts each into a hard multiplier),
    #: "logic" adds the shifted operand once per canonical signed digit of the constant (a few
    #: adders), leaving the hard multipliers to the products of two variables.
    decay_multipliers: str = field(default="dsp", metadata=_choice(MULTIPLIERS))
    #: a register in the middle of the lane arithmetic (no effect on any value): the neuron and
    #: output passes compute in two stages instead of one (one more cycle each per tick) and the
    #: row updaters register their products before rounding (one more cycle per learning
    #: phase). It shortens the longest paths (decay multiply to spike to g = V*h; g times trace
    #: to saturated weight), raising Fmax, for a few hundred flip-flops per lane word; one-lane
    #: cores that barely fit (``ice40``) leave it off.
    pipelined: bool = field(default=False, metadata=_flag())
    #: KF: feedback engines (``B . e``) side by side, each with its own accumulator; engine c
    #: takes the errors k with ``k mod KF == c``. ``None`` means ``gcd(weight_banks, lanes)``
    #: (one per weight bank, as far as the lanes allow); fewer save each engine's multipliers
    #: and accumulator copy for a longer feedback pass, which a learning tick mostly hides
    #: behind integration. A power of two dividing ``lanes``. No effect on any value.
    fb_banks: int | None = field(default=None, metadata=_range(1, 64))
    #: where the per-bank copies of the core's accumulators (``acc``, ``fb_acc``) and of the
    #: learning factor g live (no effect on any value): "auto" lets synthesis choose (on the
    #: ECP5, distributed LUT RAM for these ``ceil(n_rec / lanes)``-word memories), "block" asks
    #: for block RAM (yosys attribute ``ram_style``): mostly empty
    #: block RAMs, but logic freed where many banks make the copies the bulk of the LUTs.
    bank_memories: str = field(default="auto", metadata=_choice(BANK_MEMORIES))
    #: the learning-rate shifts, learning enables and threshold are run-time registers the host
    #: writes between ticks (plasticore.golden.registers); False: bitstream constants, their
    #: registers accept only this config's values (no shifter or comparator for a variable
    #: value: what a core that barely fits, ``ice40``, leaves out)
    runtime_registers: bool = field(default=True, metadata=_flag())

    # sparse synapse table and DEEP R rewiring (golden/synapses.py; docs/numerics.md, "Sparse
    # synapse table and rewiring"); the defaults are the dense table, every existing config's bits
    #: fraction of Win/Wrec synapses present: each presynaptic row keeps ``slot_words`` =
    #: ``max(1, floor(connectivity * ceil(n_rec / lanes) + 1/2))`` words of ``lanes`` slots
    #: (1.0: the dense table). The RTL builds only the dense table so far and refuses less
    connectivity: float = field(default=1.0, metadata=_range(0.001, 1.0))
    #: DEEP R on the table: a slot whose update reaches zero or changes sign is re-targeted to a
    #: random free neuron of its lane in the same row visit (the count of synapses stays fixed)
    rewire: bool = field(default=False, metadata=_flag())
    #: layers from wiring (golden/layers.py): 0 keeps the recurrent pool all-to-all; k >= 1
    #: splits the n_rec neurons into k equal consecutive feedforward hidden layers, the
    #: inputs reaching layer 0 only, Wrec carrying layer l to layer l + 1 only and the readout
    #: reading the last layer only (masks that gate the weight writes: those weights stay 0)
    hidden_layers: int = field(default=0, metadata=_range(0, 64))

    # sample-efficient e-prop (docs/numerics.md, "Sample-efficient e-prop"); the defaults keep
    # every existing config's bits. The RTL builds the learning enables (as run-time registers,
    # plasticore.golden.registers), error_clamp, the "step" pseudo-derivative and rate_target; it
    # refuses a config that enables one of the others (hdl/core.py, unbuilt_learning_features)
    #: tau (ticks) of the readout's own presynaptic trace z~_j, the readout update's
    #: ``e_k * z~_j``: e-prop's readout gradient filters z with the readout's leak (tau_out),
    #: while the eligibility traces of Win/Wrec filter with the membrane's (tau_trace). None:
    #: the readout learns from z_bar, one trace per neuron for both
    tau_readout_trace: float | None = field(default=None, metadata=_range(0.5, 1e6))
    #: whether Win learns; False skips its rows in the update (no LFSR draw for them)
    learn_input: bool = field(default=True, metadata=_flag())
    #: whether Wrec learns; False skips its rows in the update (no LFSR draw for them)
    learn_recurrent: bool = field(default=True, metadata=_flag())
    #: the float twin saturates where fixed point does: every sat_s / sat_u of the tick and of
    #: learning (U, a, V, Y, e, traces, h), and the weights at their widths after each update.
    #: False: the ideal twin, unbounded (fixed point is the same either way)
    twin_saturates: bool = field(default=False, metadata=_flag())
    #: the bounded output error: the readout Y enters the error clamped to
    #: ``[-error_clamp, error_clamp]``, ``e = sat_s(clamp(Y) - y*, e_bits)`` (the silicon anchor's
    #: hard-sigmoid output): a readout already past its target on the right side makes no error.
    #: None: Y unclamped
    error_clamp: int | None = field(default=None, metadata=_range(1, (1 << 31) - 1))
    #: firing-rate regularization (Bellec et al. 2020, in e-prop form): on learning ticks a neuron
    #: whose own trace z_bar exceeds ``rate_target`` (trace LSBs) adds
    #: ``rshift(z_bar - rate_target, rate_reg_shift)`` to its learning signal V, so the synapses
    #: that made it fire lose weight. None: off
    rate_target: int | None = field(default=None, metadata=_range(0, (1 << 24) - 1))
    #: right shift of the regularization term (its weight 2**-rate_reg_shift)
    rate_reg_shift: int = field(default=0, metadata=_range(0, 32))

    # seeds ------------------------------------------------------------------------------
    seed: int = field(default=1, metadata=_range(0, (1 << 32) - 1))
    lfsr_seed: int = field(default=0xACE1_2468, metadata=_range(1, (1 << 32) - 1))

    def __post_init__(self) -> None:
        for f in fields(self):
            self._check_field(f, getattr(self, f.name))
        self._check_relations()

    # validation -------------------------------------------------------------------------
    def _check_field(self, f: dataclasses.Field[Any], value: Any) -> None:
        meta = f.metadata
        if f.name == "name":
            if not isinstance(value, str) or not value:
                raise ConfigError(f"name: {value!r} is not a non-empty string")
            return
        if "bool" in meta:
            if not isinstance(value, bool):
                raise ConfigError(f"{f.name}: {value!r} is not a boolean (true or false)")
            return
        if "choices" in meta:
            if value not in meta["choices"]:
                raise ConfigError(f"{f.name}: {value!r} is not allowed; choose one of {', '.join(meta['choices'])}")
            return
        lo, hi = meta["range"]
        if value is None and f.name in _OPTIONAL_FIELDS:
            return
        is_float_field = isinstance(lo, float)
        if isinstance(value, bool) or not isinstance(value, (int, float) if is_float_field else int):
            kind = "a number" if is_float_field else "an integer"
            raise ConfigError(f"{f.name}: {value!r} is not {kind} (allowed range {lo}..{hi})")
        if is_float_field and not math.isfinite(value):
            raise ConfigError(f"{f.name}: {value!r} is not finite (allowed range {lo}..{hi})")
        if not lo <= value <= hi:
            raise ConfigError(f"{f.name}: {value!r} is outside the allowed range {lo}..{hi}")

    def _check_relations(self) -> None:
        def need(cond: bool, fieldname: str, value: Any, allowed: str) -> None:
            if not cond:
                raise ConfigError(f"{fieldname}: {value!r} is outside the allowed range {allowed}")

        need(self.n_alif <= self.n_rec, "n_alif", self.n_alif, f"0..n_rec={self.n_rec}")
        u_max = (1 << (self.u_bits - 1)) - 1
        need(self.threshold <= u_max, "threshold", self.threshold, f"1..{u_max} (u_bits={self.u_bits})")
        a_max = (1 << self.a_bits) - 1
        need(self.adapt_inc <= a_max, "adapt_inc", self.adapt_inc, f"0..{a_max} (a_bits={self.a_bits})")
        need(
            self.threshold + a_max <= (1 << self.u_bits) - 1,
            "a_bits",
            self.a_bits,
            f"2..{(self.u_bits - 1)} so that threshold + a fits u_bits+1 bits",
        )
        r_max = (1 << self.ref_bits) - 1
        need(self.refractory <= r_max, "refractory", self.refractory, f"0..{r_max} (ref_bits={self.ref_bits})")
        need(self.pd_window <= u_max, "pd_window", self.pd_window, f"1..{u_max} (u_bits={self.u_bits})")
        # one weight, shifted, must be representable in the soma / readout width
        w_max = (1 << (self.w_bits - 1)) - 1
        wout_bits = self.weight_bits["w_out"]
        wout_max = (1 << (wout_bits - 1)) - 1
        need(
            (w_max << self.w_shift) <= u_max,
            "w_shift",
            self.w_shift,
            f"0..{self.u_bits - self.w_bits} (w_bits={self.w_bits}, u_bits={self.u_bits})",
        )
        y_max = (1 << (self.y_bits - 1)) - 1
        need(
            (wout_max << self.out_shift) <= y_max,
            "out_shift",
            self.out_shift,
            f"0..{self.y_bits - wout_bits} (readout weights {wout_bits} bits, y_bits={self.y_bits})",
        )
        if self.error_clamp is not None:
            need(self.error_clamp <= y_max, "error_clamp", self.error_clamp, f"1..{y_max} (y_bits={self.y_bits})")
        if self.rate_target is not None:
            tr_rail = (1 << self.trace_bits) - 1
            allowed = f"0..{tr_rail} (trace_bits={self.trace_bits})"
            need(self.rate_target <= tr_rail, "rate_target", self.rate_target, allowed)
        need(
            self.fb_acc_bits <= _MAX_EXACT_BITS,
            "e_bits",
            self.e_bits,
            f"values with e_bits + {self.fb_w_bits}-bit feedback weights + log2(n_out) <= {_MAX_EXACT_BITS}",
        )
        # learning (docs/numerics.md, "Learning")
        tr_max = (1 << self.trace_bits) - 1
        need(self.trace_inc <= tr_max, "trace_inc", self.trace_inc, f"1..{tr_max} (trace_bits={self.trace_bits})")
        for name in ("lr_shift", "out_lr_shift"):
            need(
                getattr(self, name) <= _SROUND_MAX_SHIFT,
                name,
                getattr(self, name),
                f"0..{_SROUND_MAX_SHIFT} (stochastic rounding adds the low bits of a 32-bit LFSR draw)",
            )
        if self.pseudo_derivative == "piecewise_linear":
            w = self.pd_window
            if w & (w - 1) or w < (1 << self.h_bits):
                raise ConfigError(
                    f"pd_window: {w!r} must be a power of two >= 2**h_bits = {1 << self.h_bits} for the "
                    f"piecewise-linear pseudo-derivative (h is a right shift of pd_window - |U - A|)"
                )
        need(
            self.dw_prod_bits <= _MAX_EXACT_BITS,
            "v_bits",
            self.v_bits,
            f"values with v_bits + h_bits + trace_bits <= {_MAX_EXACT_BITS - 1}",
        )
        need(
            self.dwout_prod_bits <= _MAX_EXACT_BITS,
            "e_bits",
            self.e_bits,
            f"values with e_bits + trace_bits <= {_MAX_EXACT_BITS - 1}",
        )
        # learning banks (hdl/core.py): each bank's lanes walk their own stretch of the LFSR
        # sequence (plasticore.golden.lfsr.lane_seeds), and bank and address are bit fields of a row index
        need(
            self.lfsr_lanes <= 256,
            "weight_banks",
            self.weight_banks,
            f"1..{max(1, 256 // self.lanes - 1)} (at most 256 LFSR lanes in all, lanes={self.lanes})",
        )
        if self.weight_banks > 1:
            words = -(-self.n_rec // self.lanes)
            if self.weight_banks & (self.weight_banks - 1) or words & (words - 1):
                raise ConfigError(
                    f"weight_banks: {self.weight_banks!r} > 1 needs a power of two, and ceil(n_rec / lanes)"
                    f" = {words} a power of two (bank and address are bit fields of a weight row's address)"
                )

        if self.hidden_layers:
            need(
                self.n_rec % self.hidden_layers == 0,
                "hidden_layers",
                self.hidden_layers,
                f"0 or a divisor of n_rec={self.n_rec} (the layers are equal)",
            )
            need(
                self.connectivity == 1 and not self.rewire,
                "hidden_layers",
                self.hidden_layers,
                "0 with the sparse synapse table (the layers are masks on the dense table)",
            )

        if self.fb_banks is not None:
            kf = self.fb_banks
            if kf & (kf - 1) or self.lanes % kf:
                raise ConfigError(
                    f"fb_banks: {kf!r} must be a power of two dividing lanes={self.lanes} (B is stored"
                    f" in one bank per lane, and each bank must belong to one feedback engine)"
                )

    # derived constants (the only place they are computed; cached: a Config is immutable and
    # the tick reads them every time)
    @cached_property
    def n_lif(self) -> int:
        return self.n_rec - self.n_alif

    @cached_property
    def alpha_q(self) -> int:
        """Soma decay factor, ``decay_bits`` fractional bits."""
        return decay_factor(self.tau_m, self.decay_bits)

    @cached_property
    def rho_q(self) -> int:
        """ALIF adaptation decay factor."""
        return decay_factor(self.tau_a, self.decay_bits)

    @cached_property
    def kappa_q(self) -> int:
        """Readout decay factor."""
        return decay_factor(self.tau_out, self.decay_bits)

    @cached_property
    def gamma_q(self) -> int:
        """Dendrite (learning signal) decay factor."""
        return decay_factor(self.tau_v, self.decay_bits)

    @cached_property
    def trace_q(self) -> int:
        """Presynaptic trace decay factor (alpha unless ``tau_trace`` is set)."""
        return decay_factor(self.tau_m if self.tau_trace is None else self.tau_trace, self.decay_bits)

    @cached_property
    def readout_trace_q(self) -> int | None:
        """Decay factor of the readout's own trace z~ (``tau_readout_trace``), None without one."""
        tau = self.tau_readout_trace
        return None if tau is None else decay_factor(tau, self.decay_bits)

    @cached_property
    def weight_bits(self) -> Mapping[str, int]:
        """Width of each weight matrix by name (``w_in``, ``w_rec``, ``w_out``, ``b_fb``): the one
        place golden, BPTT, the RTL and reports look a matrix's width up. Wout is ``wout_bits``
        wide (``w_bits`` when unset); B has Wout's width under a rule with symmetric feedback
        (B = Wout^T), else ``w_bits`` (the stored random B)."""
        w_out = self.w_bits if self.wout_bits is None else self.wout_bits
        b_fb = w_out if _RULE_REGISTRY[self.rule].symmetric_feedback else self.w_bits
        return MappingProxyType({"w_in": self.w_bits, "w_rec": self.w_bits, "w_out": w_out, "b_fb": b_fb})

    @cached_property
    def fb_w_bits(self) -> int:
        """Width of the feedback weights B: ``weight_bits["b_fb"]``."""
        return self.weight_bits["b_fb"]

    @property
    def compute_stages(self) -> int:
        """Compute stages after the read stage, in the passes and the row updaters: 2 when
        ``pipelined``, else 1 (the RTL and its cycle model, ``plasticore.contract.cycles``, both read this)."""
        return 2 if self.pipelined else 1

    @cached_property
    def feedback_banks(self) -> int:
        """Feedback engines (``B . e``) side by side: ``fb_banks``, or ``gcd(weight_banks, lanes)``
        when unset. Engine c takes the errors k with ``k mod`` it ``== c``; B is stored in P banks
        by ``k mod P``, so each of B's banks belongs to one engine (a hardware shape only: the
        sums are exact)."""
        return math.gcd(self.weight_banks, self.lanes) if self.fb_banks is None else self.fb_banks

    @cached_property
    def synapse_table(self) -> bool:
        """Win/Wrec are held in the synapse table (``golden.synapses``): ``connectivity < 1`` or
        ``rewire``. (The hardware stores its columns only when they are not the word address:
        ``Geometry.sparse``.)"""
        return self.connectivity < 1 or self.rewire

    @cached_property
    def slot_words(self) -> int:
        """D: words of ``lanes`` slots per presynaptic row of the Win/Wrec table (the dense
        table's ``ceil(n_rec / lanes)`` at ``connectivity`` 1)."""
        words = -(-self.n_rec // self.lanes)
        return min(words, max(1, math.floor(self.connectivity * words + 0.5)))

    @cached_property
    def column_bits(self) -> int:
        """Width of a slot's column field: ``clog2(ceil(n_rec / lanes))``."""
        return _clog2(-(-self.n_rec // self.lanes))

    @cached_property
    def lfsr_lanes(self) -> int:
        """LFSR lanes in all: P per learning bank, and with K > 1 another P for the readout."""
        return self.lanes if self.weight_banks == 1 else (self.weight_banks + 1) * self.lanes

    @cached_property
    def readout_lanes(self) -> slice:
        """The LFSR lanes the readout update draws from: bank 0's when K = 1, its own when K > 1."""
        start = 0 if self.weight_banks == 1 else self.weight_banks * self.lanes
        return slice(start, start + self.lanes)

    @cached_property
    def in_acc_bits(self) -> int:
        """Signed width that holds ``sum(Win.x) + sum(Wrec.z)`` exactly (before ``w_shift``)."""
        return self.w_bits + _clog2(self.n_in + self.n_rec)

    @cached_property
    def out_acc_bits(self) -> int:
        """Signed width that holds ``sum(Wout.z)`` exactly (before ``out_shift``)."""
        return self.weight_bits["w_out"] + _clog2(self.n_rec)

    @cached_property
    def fb_acc_bits(self) -> int:
        """Signed width that holds ``sum(B.e)`` exactly."""
        return self.fb_w_bits + self.e_bits + _clog2(self.n_out)

    @cached_property
    def pd_shift(self) -> int:
        """Right shift that scales ``pd_window - |U - A|`` to ``h_bits`` (piecewise linear)."""
        return max(0, self.pd_window.bit_length() - 1 - self.h_bits)

    @cached_property
    def g_bits(self) -> int:
        """Signed width of the learning factor ``g = V * h`` (s``v_bits`` times u``h_bits``)."""
        return self.v_bits + self.h_bits

    @cached_property
    def dw_prod_bits(self) -> int:
        """Signed width of ``g * e_bar`` plus a 32-bit rounding draw (Win/Wrec update)."""
        return max(self.g_bits + self.trace_bits, _SROUND_MAX_SHIFT + 1) + 1

    @cached_property
    def dwout_prod_bits(self) -> int:
        """Signed width of ``e * z_bar`` plus a 32-bit rounding draw (readout update)."""
        return max(self.e_bits + self.trace_bits, _SROUND_MAX_SHIFT + 1) + 1

    @cached_property
    def alif_mask(self) -> list[bool]:
        return [j >= self.n_lif for j in range(self.n_rec)]

    def unbuilt_learning_features(self) -> list[str]:
        """The sample-efficient e-prop settings the RTL does not build yet, each as
        ``"field: value"`` (empty: the RTL builds this config's learning). ``trace_bits`` above
        16 counts: the RTL's trace memories and bus are verified up to 16 bits."""
        # (built: learn_input, learn_recurrent as run-time registers, plasticore.golden.registers;
        # error_clamp, the "step" pseudo-derivative and rate_target in the lanes, hdl/lanes.py;
        # tau_readout_trace as the memory zobar, hdl/passes.py)
        found = []
        if self.trace_bits > 16:
            found.append(f"trace_bits: {self.trace_bits!r} (above 16)")
        if self.hidden_layers:
            found.append(f"hidden_layers: {self.hidden_layers!r}")
        return found

    # conversions ------------------------------------------------------------------------
    def replace(self, **changes: Any) -> Config:
        """A new, validated config with some fields changed."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown field(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(
                f"unknown field(s): {', '.join(sorted(unknown))}; known fields: {', '.join(sorted(known))}"
            )
        return cls(**data)

    def describe(self) -> str:
        """One line for logs and reports."""
        kind = f"{self.n_lif} LIF + {self.n_alif} ALIF" if self.n_alif else f"{self.n_rec} LIF"
        return (
            f"{self.name}: {self.n_in} in, {kind}, {self.n_out} out, {self.w_bits}-bit weights"
            f"{'' if self.wout_bits is None else f' ({self.wout_bits}-bit readout)'}, "
            f"U{self.u_bits} V{self.v_bits} Y{self.y_bits}, rule {self.rule}, P={self.lanes}"
            f"{'' if self.weight_banks == 1 else f', K={self.weight_banks} weight banks'}"
        )


def _clog2(n: int) -> int:
    """Bits needed to count to n (ceil(log2(n)), at least 0)."""
    return max(0, (n - 1).bit_length())


PRESETS: dict[str, Config] = {
    # Fast tests: small enough that a tick costs microseconds and cosim builds in seconds.
    "small": Config(name="small", n_in=16, n_rec=32, n_alif=8, n_out=2, lanes=4),
    # What the iCEBreaker (iCE40UP5K) takes with on-chip learning: small's shape, LIF only, one
    # lane (its multipliers fit the eight MAC16s; utilization in docs/performance.md).
    # Its learning parameters are bitstream constants (runtime_registers False): the variable
    # shifters and threshold comparators cost ~530 LCs, more than the UP5K has left.
    "ice40": Config(name="ice40", n_in=16, n_rec=32, n_alif=0, n_out=2, lanes=1, runtime_registers=False),
    # The ReckOn chip's shape: 256 inputs, 256 recurrent LIF, 16 outputs, 8-bit weights.
    "reckon": Config(
        name="reckon",
        n_in=256,
        n_rec=256,
        n_alif=0,
        n_out=16,
        w_bits=8,
        lanes=8,
        threshold=2048,
        pd_window=1024,
        fb_shift=12,
    ),
}


# reckon's shape with Win/Wrec in the sparse synapse table: 8 of 32 slot words per row (25 %
# connectivity, 32,768 synapses of 13 bits) and DEEP R rewiring under on-chip e-prop
PRESETS["reckon-sparse"] = PRESETS["reckon"].replace(name="reckon-sparse", connectivity=0.25, rewire=True)


def preset(name: str) -> Config:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"config: {name!r} is not a preset; presets are {', '.join(PRESETS)}") from None


def load_config(spec: str) -> Config:
    """A preset name, or the path of a JSON file of fields (optionally ``"base": preset``)."""
    if spec in PRESETS:
        return PRESETS[spec]
    path = Path(spec)
    if not path.exists():
        raise ConfigError(f"config: {spec!r} is neither a preset ({', '.join(PRESETS)}) nor an existing JSON file")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config: {path} must hold a JSON object of fields")
    base = data.pop("base", None)
    if base is not None:
        return preset(base).replace(**data)
    data.setdefault("name", path.stem)
    return Config.from_dict(data)
