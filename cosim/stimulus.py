"""Random configurations and stimuli for equivalence runs.

The configurations are drawn to reach the corners where RTL and golden could disagree: sizes
that are not multiples of the lane count, one lane and many, narrow and wide states, both
reset modes, refractory periods, ALIF shares from none to all, symmetric and random
feedback, the three pseudo-derivatives, error clamps from none to all, and weights large
enough to drive states into saturation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticore.golden.config import Config, ConfigError, preset
from plasticore.golden.network import Weights, init_weights
from plasticore.golden.registers import LearningRegisters, register_ranges
from plasticore.golden.synapses import wired

__all__ = ["random_config", "Stimulus", "make_stimulus", "config_by_name", "random_register_schedule"]


def random_config(seed: int) -> Config:
    """A valid random configuration (deterministic in ``seed``)."""
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        n_rec = int(rng.integers(1, 41))
        w_bits = int(rng.integers(2, 13))
        u_bits = int(rng.integers(max(10, w_bits + 1), 25))
        y_bits = int(rng.integers(max(10, w_bits + 1), 25))
        a_bits = int(rng.integers(2, u_bits - 1))
        w_shift = int(rng.integers(0, u_bits - w_bits + 1))
        # a threshold comparable to a few weights' drive, so that the network spikes
        drive = ((1 << (w_bits - 1)) - 1) << w_shift
        threshold = int(np.clip(drive * rng.uniform(0.2, 3.0), 1, (1 << (u_bits - 2)) - 1))
        # learning: a pseudo-derivative window around the threshold wide enough to matter
        h_bits = int(rng.integers(1, 7))
        trace_bits = int(rng.integers(2, 13))
        pd_window = 1 << int(np.clip(np.log2(max(threshold, 2)) + rng.integers(-2, 2), h_bits, u_bits - 2))
        try:
            cfg = Config(
                name=f"random{seed}",
                n_in=int(rng.integers(1, 41)),
                n_rec=n_rec,
                n_out=int(rng.integers(1, 6)),
                n_alif=int(rng.choice([0, n_rec // 2, n_rec, int(rng.integers(0, n_rec + 1))])),
                w_bits=w_bits,
                u_bits=u_bits,
                a_bits=a_bits,
                y_bits=y_bits,
                v_bits=int(rng.integers(8, 25)),
                e_bits=int(rng.integers(4, 25)),
                ref_bits=int(rng.integers(1, 5)),
                decay_bits=int(rng.integers(4, 13)),
                tau_m=float(rng.uniform(1, 50)),
                tau_a=float(rng.uniform(5, 500)),
                tau_out=float(rng.uniform(1, 50)),
                tau_v=float(rng.uniform(1, 50)),
                threshold=threshold,
                adapt_inc=int(rng.integers(0, 1 << a_bits)),
                refractory=int(rng.integers(0, 1 << int(rng.integers(1, 4)))),
                reset=str(rng.choice(["subtract", "zero"])),
                rule=str(rng.choice(["eprop_random", "eprop_symmetric", "erbp"])),
                w_shift=w_shift,
                out_shift=int(rng.integers(0, y_bits - w_bits + 1)),
                fb_shift=int(rng.integers(0, 17)),
                lanes=int(rng.choice([1, 2, 3, 4, 5, 8, 16])),
                pseudo_derivative=str(rng.choice(["boxcar", "piecewise_linear"])),
                pd_window=pd_window,
                h_bits=h_bits,
                trace_bits=trace_bits,
                trace_inc=int(rng.integers(1, 1 << trace_bits)),
                tau_trace=float(rng.uniform(2, 40)) if rng.random() < 0.3 else None,
                lr_shift=int(rng.integers(0, 20)),
                out_lr_shift=int(rng.integers(0, 20)),
                learn_readout=bool(rng.random() < 0.8),
                seed=seed,
            )
        except ConfigError:
            continue
        return _with_synapse_table(
            _with_readout_trace(
                _with_rate_regularization(
                    _with_bounded_learning(
                        _with_feedback_engines(
                            _with_pipeline(_with_learning_banks(_with_readout_width(cfg, seed), seed), seed), seed
                        ),
                        seed,
                    ),
                    seed,
                ),
                seed,
            ),
            seed,
        )
    raise RuntimeError(f"no valid random config found for seed {seed}")


def _with_readout_width(cfg: Config, seed: int) -> Config:
    """Half of the random configs get a readout width of their own (``wout_bits``), drawn from
    a separate generator so that the other fields of ``random_config(seed)`` stay as they were."""
    rng = np.random.default_rng((seed, 0x0B))
    if rng.random() < 0.5:
        return cfg
    widest = min(16, cfg.y_bits - cfg.out_shift)  # Wout << out_shift must fit Y
    return cfg.replace(wout_bits=int(rng.integers(2, widest + 1)))


def _with_learning_banks(cfg: Config, seed: int) -> Config:
    """A third of the random configs that can take them (words per row a power of two) get K = 2, 4 or 8
    learning banks (``weight_banks``), half of them with logic multipliers in the updaters,
    drawn from a generator of their own as above; of the others, half build the updaters'
    products factored (a generator of its own again, so the earlier draws stay)."""
    rng = np.random.default_rng((seed, 0xBA))
    factored = np.random.default_rng((seed, 0xFA)).random() < 0.5
    if rng.random() < 2 / 3:
        return cfg.replace(learn_multipliers="factored") if factored else cfg
    banks = int(rng.choice([2, 4, 8]))
    multipliers = str(rng.choice(["dsp", "logic"]))
    if multipliers == "dsp" and factored:
        multipliers = "factored"
    try:  # Config says which shapes take banks (powers of two, at most 256 LFSR lanes)
        return cfg.replace(weight_banks=banks, learn_multipliers=multipliers)
    except ConfigError:
        return cfg


def _with_pipeline(cfg: Config, seed: int) -> Config:
    """A third of the random configs get the two-stage passes and updaters (``pipelined``) and
    half of them their decays in logic (``decay_multipliers``), drawn from a generator of
    their own as above."""
    rng = np.random.default_rng((seed, 0x9E))
    pipelined = bool(rng.random() < 1 / 3)
    decays = "logic" if rng.random() < 0.5 else "dsp"
    return cfg.replace(pipelined=pipelined, decay_multipliers=decays)


def _with_feedback_engines(cfg: Config, seed: int) -> Config:
    """Half of the random configs with more than one feedback engine get fewer (``fb_banks``, a
    smaller power of two), and half of all put their per-bank memories in block RAM
    (``bank_memories``, no effect in simulation but on the emitted attributes), drawn from a
    generator of their own as above."""
    rng = np.random.default_rng((seed, 0xFB))
    fewer, block = rng.random() < 0.5, rng.random() < 0.5
    if fewer and cfg.feedback_banks > 1:
        cfg = cfg.replace(fb_banks=int(rng.choice([1 << i for i in range(cfg.feedback_banks.bit_length() - 1)])))
    return cfg.replace(bank_memories="block") if block else cfg


def _with_bounded_learning(cfg: Config, seed: int) -> Config:
    """A third of the random configs get the one-sided "step" pseudo-derivative (so the three
    shapes are drawn about equally), its window any width up to 1.5 thresholds (it need not be
    a power of two), and half of all an error clamp (``error_clamp``), log-uniform from 1 to
    Y's rail so that it ranges from clamping every readout to clamping none, drawn from a
    generator of their own as above."""
    rng = np.random.default_rng((seed, 0xEC))
    step, clamp = rng.random() < 1 / 3, rng.random() < 0.5
    window = int(np.clip(cfg.threshold * rng.uniform(0.05, 1.5), 1, (1 << (cfg.u_bits - 1)) - 1))
    y_max = (1 << (cfg.y_bits - 1)) - 1
    limit = int(np.clip(2 ** rng.uniform(0, cfg.y_bits - 1), 1, y_max))
    if step:
        cfg = cfg.replace(pseudo_derivative="step", pd_window=window)
    return cfg.replace(error_clamp=limit) if clamp else cfg


def _with_rate_regularization(cfg: Config, seed: int) -> Config:
    """Half of the random configs get firing-rate regularization: a ``rate_target`` from 0 to
    3 spikes' worth of trace (``trace_inc``), below the trace's rail so that a saturated trace
    exceeds it: from every firing neuron to only the busiest is pushed; and a
    ``rate_reg_shift`` from 0 (a term as wide as the trace, saturating a narrow V) to the
    trace's width (a term that rounds to 0 or 1); drawn from a generator of their own as
    above."""
    rng = np.random.default_rng((seed, 0x7A))
    on = rng.random() < 0.5
    rail = (1 << cfg.trace_bits) - 1
    target = int(rng.uniform(0, 1) * min(3 * cfg.trace_inc, rail))
    shift = int(rng.integers(0, cfg.trace_bits + 1))
    return cfg.replace(rate_target=target, rate_reg_shift=shift) if on else cfg


def _with_readout_trace(cfg: Config, seed: int) -> Config:
    """Half of the random configs give the readout a trace of its own (``tau_readout_trace``,
    log-uniform from 0.5 to 500 ticks: from a factor that rounds to 0 to one near the rail of
    ``decay_bits``), drawn from a generator of their own as above."""
    rng = np.random.default_rng((seed, 0x0E))
    on = rng.random() < 0.5
    tau = float(np.exp(rng.uniform(np.log(0.5), np.log(500.0))))
    return cfg.replace(tau_readout_trace=round(tau, 3)) if on else cfg


def _with_synapse_table(cfg: Config, seed: int) -> Config:
    """Half of the random configs hold Win/Wrec in the sparse synapse table: a connectivity
    from one slot word per row to all of them, and half of those with DEEP R rewiring (the
    dense layout with rewiring too), drawn from a generator of their own as above. With
    weight banks the slot words must be a power of two (the RTL decodes them as bit fields):
    the connectivity is drawn among those."""
    rng = np.random.default_rng((seed, 0x5A))
    sparse, rewire = rng.random() < 0.5, rng.random() < 0.5
    if not sparse:
        return cfg
    words = -(-cfg.n_rec // cfg.lanes)
    choices = [d for d in range(1, words + 1) if cfg.weight_banks == 1 or not d & (d - 1)]
    slot_words = int(rng.choice(choices))
    return cfg.replace(connectivity=slot_words / words, rewire=bool(rewire))


def config_by_name(name: str, seed: int = 1) -> Config:
    """``small``/``reckon``/any preset, ``random`` (from ``seed``), or a JSON file."""
    if name == "random":
        return random_config(seed)
    from plasticore.golden.config import load_config

    return load_config(name) if name not in ("small", "reckon") else preset(name)


@dataclass
class Stimulus:
    """Random weights and inputs for a co-simulation run.

    Attributes
    ----------
    weights : :class:`~plasticore.golden.Weights`
        Initial weights.
    x : numpy.ndarray
        Input spikes, ``(ticks, n_in)`` of 0/1.
    targets : numpy.ndarray
        Targets, ``(ticks, n_out)``.
    valid : numpy.ndarray
        Whether each tick's target is valid, ``(ticks,)`` of bool.
    """

    weights: Weights
    x: np.ndarray  # (ticks, n_in) 0/1
    targets: np.ndarray  # (ticks, n_out)
    valid: np.ndarray  # (ticks,) bool


def make_stimulus(
    cfg: Config, ticks: int, seed: int = 0, rate: float | None = None, weight_scale: float | None = None
) -> Stimulus:
    """Random weights, Poisson inputs, random targets with random valid flags."""
    rng = np.random.default_rng(seed)
    scale = float(rng.choice([0.3, 1.0, 3.0])) if weight_scale is None else weight_scale
    w = wired(cfg, init_weights(cfg, seed=seed, in_scale=scale, rec_scale=scale / 2, out_scale=scale), seed=seed)
    p = float(rng.uniform(0.02, 0.3)) if rate is None else rate
    x = (rng.random((ticks, cfg.n_in)) < p).astype(np.int64)
    y_lim = 1 << (cfg.y_bits - 2)
    targets = rng.integers(-y_lim, y_lim, size=(ticks, cfg.n_out), dtype=np.int64)
    valid = rng.random(ticks) < 0.6
    return Stimulus(w, x, targets, valid)


def random_register_schedule(cfg: Config, ticks: int, changes: int, seed: int = 0) -> dict[int, LearningRegisters]:
    """``changes`` writes of random run-time learning registers at random ticks: shifts drawn
    from the whole range 0..32 a quarter of the time (the extremes of the rounding), else
    within 4 of the config's (rates that learn without saturating every weight at once),
    each learning enable on with probability 3/4, and the threshold within a factor of two of
    the config's."""
    rng = np.random.default_rng((seed, 0x5E))
    lo, hi = register_ranges(cfg)["lr_shift"]
    at = sorted(int(t) for t in rng.choice(np.arange(1, max(ticks, 2)), size=min(changes, ticks - 1), replace=False))

    def shift(base: int) -> int:
        if rng.random() < 0.25:
            return int(rng.integers(lo, hi + 1))
        return int(np.clip(base + rng.integers(-4, 5), lo, hi))

    return {
        t: LearningRegisters(
            lr_shift=shift(cfg.lr_shift),
            out_lr_shift=shift(cfg.out_lr_shift),
            learn_input=bool(rng.random() < 0.75),
            learn_recurrent=bool(rng.random() < 0.75),
            learn_readout=bool(rng.random() < 0.75),
            threshold=int(np.clip(cfg.threshold * rng.uniform(0.5, 2.0), *register_ranges(cfg)["threshold"])),
        )
        for t in at
    }
