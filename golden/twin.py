"""How far the fixed-point model may drift from its float64 twin, and a check that it does not.

The two numerics share weights, inputs and every constant (decay factors are the quantized
``q / 2**decay_bits`` in both), so on identical spike trains they differ only by the rounding
of the fixed-point shifts. Each rounding adds at most 1/2 LSB, and a state with decay factor
``c`` forgets past errors geometrically, so while no fixed-point state saturates:

* soma U:      |U_fix - U_float| <= (1/2) / (1 - alpha)
* adaptation:  |a_fix - a_float| <= (1/2) / (1 - rho)
* readout Y:   |Y_fix - Y_float| <= (1/2) / (1 - kappa)     (the weighted spike sums are exact)
* error e:     the readout bound (e = Y - y* adds no rounding; saturation aside)
* dendrite V:  |V_fix - V_float| <= (1/2 + 1/2*[fb_shift > 0] + max_j sum_k |B_jk| * bound_Y
                                      / 2**fb_shift) / (1 - gamma)

(proof: the error obeys E(t) = c*E(t-1) + r(t) with |r| <= the per-tick rounding, so
|E(t)| <= max|r| * sum c^k < max|r| / (1 - c); "zero" reset only shrinks E.)

A spike can therefore differ between the twins only on a tick where the float membrane is
within ``bound_U + bound_a`` of its threshold. :func:`compare_twins` runs both models on the
same spikes (teacher forcing) and reports the largest deviation of every state next to its
bound, and where free-running spikes would first diverge, the float margin at that tick.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import Config
from .network import Weights, init_state, tick
from .numerics import FixedNumerics, FloatNumerics, signed_range, unsigned_range

__all__ = ["TwinBounds", "twin_bounds", "TwinReport", "compare_twins"]

#: float64 arithmetic itself is not exact: relative error ~1e-16 per operation on values below
#: 2**32, accumulated over at most millions of ticks, stays far below this absolute slack.
FLOAT_SLACK = 1e-6


@dataclass(frozen=True)
class TwinBounds:
    """Largest ``|fixed - float|`` each state may reach while no fixed-point state saturates
    (the module docstring's bounds), in that state's LSBs.

    Parameters
    ----------
    u, a, y, e, v : float
        Soma, adaptation, readout, error and dendrite bounds.
    """

    u: float
    a: float
    y: float
    e: float
    v: float


def _geometric(per_tick: float, q: int, decay_bits: int) -> float:
    c = q / (1 << decay_bits)
    return per_tick / (1.0 - c)


def twin_bounds(cfg: Config, w: Weights) -> TwinBounds:
    """The analytic bounds of the module docstring for this config and these weights."""
    d = cfg.decay_bits
    bu = _geometric(0.5, cfg.alpha_q, d)
    ba = _geometric(0.5, cfg.rho_q, d) if cfg.n_alif else 0.0
    by = _geometric(0.5, cfg.kappa_q, d)
    fb = np.abs(w.feedback(cfg)).sum(axis=1).max() if cfg.n_out else 0
    per_tick_v = 0.5 + (0.5 if cfg.fb_shift else 0.0) + fb * by / (1 << cfg.fb_shift)
    bv = _geometric(per_tick_v, cfg.gamma_q, d)
    return TwinBounds(u=bu, a=ba, y=by, e=by, v=bv)


@dataclass(frozen=True)
class TwinReport:
    """What :func:`compare_twins` measured.

    Parameters
    ----------
    bounds : TwinBounds
        The analytic bounds for the run's config and weights.
    max_dev : dict of str to float
        Largest ``|fixed - float|`` per state (``u``, ``a``, ``y``, ``e``, ``v``) on the forced run.
    saturated : bool
        A fixed-point state touched its rail (the bounds are then void).
    first_divergence : int or None
        First tick where the float twin's own spike decision differs from the fixed one's.
    divergence_margin : float or None
        ``|U - A|`` of the float twin at that tick.
    spikes : int
        Fixed-point spike count.

    Attributes
    ----------
    within_bounds : bool
        Every deviation is within its bound.
    divergence_justified : bool
        A spike mismatch happened only within the rounding bound of the threshold.
    """

    bounds: TwinBounds
    max_dev: dict[str, float]
    saturated: bool
    first_divergence: int | None
    divergence_margin: float | None
    spikes: int

    @property
    def within_bounds(self) -> bool:
        b = self.bounds
        return all(self.max_dev[k] <= getattr(b, k) + FLOAT_SLACK for k in self.max_dev)

    @property
    def divergence_justified(self) -> bool:
        """A spike mismatch happens only within the rounding bound of the threshold."""
        if self.first_divergence is None or self.divergence_margin is None:
            return True
        return self.divergence_margin <= self.bounds.u + self.bounds.a + FLOAT_SLACK


def compare_twins(
    cfg: Config, w: Weights, x_seq: np.ndarray, targets: np.ndarray | None = None, valid: np.ndarray | None = None
) -> TwinReport:
    """Run fixed and float on ``x_seq`` (ticks, batch, n_in), the float twin forced onto the
    fixed model's spikes, and measure every state's deviation."""
    fx, fl = FixedNumerics(), FloatNumerics()
    ticks, batch, _ = x_seq.shape
    sf, sr = init_state(cfg, fx, batch), init_state(cfg, fl, batch)
    wr = w.astype(np.float64)
    dev = {k: 0.0 for k in ("u", "a", "y", "e", "v")}
    saturated = False
    first_div, margin = None, None
    rails = {
        "u": signed_range(cfg.u_bits),
        "a": unsigned_range(cfg.a_bits),
        "y": signed_range(cfg.y_bits),
        "v": signed_range(cfg.v_bits),
        "e": signed_range(cfg.e_bits),
    }
    spikes = 0
    for t in range(ticks):
        tgt = None if targets is None else targets[t]
        vld = None if valid is None else valid[t]
        sf, of = tick(cfg, fx, w, sf, x_seq[t], tgt, vld)
        sr, orr = tick(cfg, fl, wr, sr, x_seq[t], tgt, vld, force_z=of.z)
        spikes += int(of.z.sum())
        for k in dev:
            a_fix, a_flt = getattr(sf, k), getattr(sr, k)
            dev[k] = max(dev[k], float(np.abs(a_fix - a_flt).max(initial=0.0)))
            lo, hi = rails[k]
            hit_low = k != "a" and a_fix.min(initial=0) <= lo  # a rests at 0, its lower rail
            if hit_low or a_fix.max(initial=0) >= hi:
                saturated = True
        if first_div is None:
            differs = orr.z != of.z
            if differs.any():
                first_div = t
                margin = float(np.abs(sr.u - orr.threshold)[differs].max())
    return TwinReport(twin_bounds(cfg, w), dev, saturated, first_div, margin, spikes)
