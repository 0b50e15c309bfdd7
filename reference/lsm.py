"""The liquid of Ponghiran, Srinivasan & Roy (2019), as their official code builds and runs it.

"Reinforcement learning with low-complexity liquid state machines" (Front. Neurosci. 13:883),
code wponghiran/lsm-rl (``model_lsm.py``): a random sparse network of leaky integrate-and-fire
neurons, 80 % excitatory (E) and 20 % inhibitory (I), driven by Bernoulli input spikes; only
the readout behind it learns. Reproduced here in numpy:

* **Construction** (:func:`liquid_weights`). Every connection type has an expected fan-in
  ``k`` and a maximum weight ``w``; a present weight is ``U(0, 1) * w`` (``w`` negative for
  I sources). Input -> E: each E neuron receives each input with probability ``k_pe / n_in``;
  input -> I likewise with ``k_pi``. E <-> I are drawn together per E neuron ``i``: each I
  neuron is linked with probability ``2 k_ei / n_i`` and a fair coin decides whether the link
  is ``i -> I`` or ``I -> i`` (never both), so the masks ``M_ei`` (E -> I) and ``M_ie``
  (I -> E) have disjoint support per E neuron. E -> E and I -> I are not drawn at all: their
  masks are the path counts ``M_ei @ M_ie`` and ``M_ie @ M_ei`` (an E -> E link exists where
  an E -> I -> E path does, with the number of such paths as its multiplicity), which makes
  both diagonals zero and keeps excitation in check by inhibition (the code's comments).
* **Dynamics** (:meth:`Liquid.step`), dt = 1 ms, per tick in this order::

      v <- v - v dt / tau_mem                      (tau_mem = 20 ms)
      v <- v + x(t) W_in + recurrent input         (E->E and I->I use the spikes of t-2,
                                                    E->I and I->E those of t-1)
      z <- v >= 0.5;  v[z] <- 0                    (reset to zero, no refractory period)

  Inputs are Bernoulli per tick with probability ``rate_scale * x`` (``x`` in [0, 1]).
  Membranes and the two spike buffers carry over from one call to the next (the official code
  never resets them between environment steps or episodes).
* **State**: the excitatory spike counts over the ``ticks`` of one call divided by ``ticks``.

The random draws follow the official code's order (one column / row at a time) but use
numpy's generator, so the numbers are not torch's: the liquid is a sample from the same
distribution, not the same sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["CARTPOLE_K", "CARTPOLE_W", "LiquidSpec", "liquid_weights", "Liquid"]

#: expected fan-in per connection type in run_cartpole.py (pe: input->E, pi: input->I, ei: E<->I)
CARTPOLE_K = {"pe": 3, "pi": 0, "ei": 4}
#: maximum weight per connection type in run_cartpole.py (source->target; negative from I)
CARTPOLE_W = {"pe": 0.6, "pi": 0.0, "ee": 0.05, "ei": 0.25, "ie": -0.3, "ii": -0.01}


@dataclass(frozen=True)
class LiquidSpec:
    """The shape and constants of a liquid (defaults: run_cartpole.py's CartPole liquid).

    Parameters
    ----------
    n_inputs : int
        Input channels (40: 4 observation variables x 10 buckets).
    n_neurons : int
        Liquid neurons; 80 % excitatory, 20 % inhibitory (must divide by 5).
    k : dict
        Expected fan-in per connection type (keys ``pe``, ``pi``, ``ei``).
    w : dict
        Maximum weight per connection type (keys ``pe``, ``pi``, ``ee``, ``ei``, ``ie``, ``ii``).
    tau_mem, dt : float
        Membrane time constant and tick (seconds).
    threshold : float
        Firing threshold; a spike resets the membrane to 0.
    rate_scale : float
        Input spike probability per tick for an input of 1.
    ticks : int
        Ticks simulated per call (100 ticks = 100 ms per environment step).
    """

    n_inputs: int = 40
    n_neurons: int = 150
    k: dict[str, float] = field(default_factory=lambda: dict(CARTPOLE_K))
    w: dict[str, float] = field(default_factory=lambda: dict(CARTPOLE_W))
    tau_mem: float = 0.020
    dt: float = 0.001
    threshold: float = 0.5
    rate_scale: float = 0.1
    ticks: int = 100

    def __post_init__(self) -> None:
        if self.n_neurons <= 0 or self.n_neurons % 5:
            raise ValueError(f"n_neurons: {self.n_neurons} must be a positive multiple of 5 (80 % E / 20 % I)")
        if self.n_inputs <= 0 or self.ticks <= 0:
            raise ValueError(f"n_inputs {self.n_inputs} and ticks {self.ticks} must be positive")

    @property
    def n_e(self) -> int:
        """Excitatory neurons (the first 80 %)."""
        return int(0.8 * self.n_neurons)

    @property
    def n_i(self) -> int:
        """Inhibitory neurons (the last 20 %)."""
        return self.n_neurons - self.n_e


def liquid_weights(spec: LiquidSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw the liquid's weights by the official code's rules (module docstring).

    Returns
    -------
    dict of str to ndarray
        ``pe`` (n_in, n_e), ``pi`` (n_in, n_i), ``ee`` (n_e, n_e), ``ei`` (n_e, n_i),
        ``ie`` (n_i, n_e), ``ii`` (n_i, n_i); rows are presynaptic, columns postsynaptic.
    """
    n_in, n_e, n_i, k, w = spec.n_inputs, spec.n_e, spec.n_i, spec.k, spec.w
    pe = np.zeros((n_in, n_e))
    for col in range(n_e):  # one column (postsynaptic neuron) at a time, as model_lsm.init_w
        pe[:, col] = (rng.random(n_in) <= k["pe"] / n_in) * rng.random(n_in) * w["pe"]
    pi = np.zeros((n_in, n_i))
    for col in range(n_i):
        pi[:, col] = (rng.random(n_in) <= k["pi"] / n_in) * rng.random(n_in) * w["pi"]
    mask_ei = np.zeros((n_e, n_i))
    mask_ie = np.zeros((n_i, n_e))
    for i in range(n_e):  # E neuron i's outgoing and incoming I links never share an I neuron
        linked = rng.random(n_i) < 2 * k["ei"] / n_i
        outgoing = rng.random(n_i) < 0.5
        mask_ei[i, :] = linked & outgoing
        mask_ie[:, i] = linked & ~outgoing
    ee = (mask_ei @ mask_ie) * rng.random((n_e, n_e)) * w["ee"]
    ii_paths = mask_ie @ mask_ei
    ei = mask_ei * rng.random((n_e, n_i)) * w["ei"]
    ie = mask_ie * rng.random((n_i, n_e)) * w["ie"]
    ii = ii_paths * rng.random((n_i, n_i)) * w["ii"]
    return {"pe": pe, "pi": pi, "ee": ee, "ei": ei, "ie": ie, "ii": ii}


class Liquid:
    """The liquid's state and its simulation, 100 ticks per call, vectorised over neurons.

    Parameters
    ----------
    spec : LiquidSpec
        Shape and constants.
    weights : dict of str to ndarray
        From :func:`liquid_weights`.
    rng : numpy.random.Generator
        Source of the Bernoulli input spikes.

    Members
    -------
    v : ndarray, shape (n_neurons,)
        Membrane potentials (E first, then I), carried over between calls.
    z, z_prev : ndarray of bool, shape (n_neurons,)
        Spikes of the last tick and of the tick before (the one-tick E->E / I->I delay).
    """

    def __init__(self, spec: LiquidSpec, weights: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        self.spec, self.weights, self.rng = spec, weights, rng
        n_e = spec.n_e
        n = spec.n_neurons
        self.w_in = np.concatenate([weights["pe"], weights["pi"]], axis=1)
        # One matrix for the recurrent input: rows are [z_prev (E, I), z (E, I)], columns the
        # targets (E, I). E->E and I->I read z_prev (delayed), E->I and I->E read z.
        w_rec = np.zeros((2 * n, n))
        w_rec[:n_e, :n_e] = weights["ee"]
        w_rec[n_e:n, n_e:] = weights["ii"]
        w_rec[n : n + n_e, n_e:] = weights["ei"]
        w_rec[n + n_e :, :n_e] = weights["ie"]
        self.w_rec = w_rec
        self.decay = 1.0 - spec.dt / spec.tau_mem
        self.reset_state()

    def reset_state(self) -> None:
        """Membranes to 0 and no spikes in flight (the state the official code starts from)."""
        n = self.spec.n_neurons
        self.v = np.zeros(n)
        self.z = np.zeros(n, dtype=bool)
        self.z_prev = np.zeros(n, dtype=bool)

    def step(self, x: np.ndarray) -> np.ndarray:
        """Simulate ``spec.ticks`` ticks driven by input rates ``x`` (values in [0, 1]).

        Returns
        -------
        ndarray, shape (n_e,)
            Excitatory spike counts over the ticks divided by ``ticks``.
        """
        spec = self.spec
        x = np.asarray(x, dtype=float)
        if x.shape != (spec.n_inputs,):
            raise ValueError(f"x: shape {x.shape} is not ({spec.n_inputs},)")
        # All ticks' input spikes and input currents at once; only the recurrence is sequential.
        spikes_in = self.rng.random((spec.ticks, spec.n_inputs)) <= x * spec.rate_scale
        current_in = spikes_in @ self.w_in
        v, z, z_prev, w_rec, decay, theta = self.v, self.z, self.z_prev, self.w_rec, self.decay, spec.threshold
        n = spec.n_neurons
        counts = np.zeros(n)
        both = np.zeros(2 * n, dtype=bool)
        for t in range(spec.ticks):
            v = v * decay + current_in[t]
            both[:n], both[n:] = z_prev, z
            active = np.flatnonzero(both)
            if active.size:
                v += w_rec[active].sum(axis=0)
            z_prev, z = z, v >= theta
            v[z] = 0.0
            counts += z
        self.v, self.z, self.z_prev = v, z, z_prev
        return counts[: spec.n_e] / spec.ticks
