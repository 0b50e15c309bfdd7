"""DEEP R rewiring (Bellec et al. 2018) in float, as the official LSNN code applies it.

The published form is IGITUGraz/LSNN-official, ``lsnn/toolbox/rewiring_tools.py`` (commit
0e09090f), whose functions are named below. Every possible connection of a rewired matrix has a
magnitude ``theta`` and a fixed sign (``weight_sampler``: a non-trainable ``sign`` variable);
its weight is ``w = sign * theta`` while ``theta > 0`` and exactly 0 otherwise (the connection is
*dormant*). One training step (``rewiring_optimizer_wrapper``) is, in this order:

1. ``is_positive_theta_list = [tf.greater(th, 0) ...]``: which connections are active before
   the step; their global count may not exceed the target (``get_global_connectivity_bound_assertion``).
2. The optimizer's step on every ``theta`` with ``dL/dtheta = dL/dw * sign``
   (``compute_gradients_with_rewiring_variables``: ``g * s``; dormant connections get their
   non-zero ``dL/dw`` too, "to avoid irregularities for optimizers with momentum").
3. The disconnection guard ``tf.where(is_pos, var, tf.zeros_like(var))``: a connection that was
   dormant before the step is set back to 0, whatever the optimizer (Adam's momentum) did.
4. On the connections active *after* steps 2-3 (``mask_connected(th_)``, ``th_ > 0``)::

       theta += - learning_rate * l1 + sqrt(2 * learning_rate * temperature) * N(0, 1)

   (``apply_regularization``; ``learning_rate`` is the optimizer's, the tutorials pass the same
   variable to both). A ``theta`` that falls to or below 0 in step 2 or 4 is dormant from now on.
5. ``sample_matrix_specific_reconnection_number_for_global_fixed_connectivity``: the target is
   ``max_total_connections = int(sum_i size_i * p_i)`` (``p_i`` the matrix's
   ``rewiring_connectivity``), ``nb_reconnect = max(0, target - total_connected)``, split across
   the matrices by ``tf.distributions.Categorical(probs=size_i * p_i / sum).sample(nb_reconnect)``.
6. ``rewiring(th, nb_reconnect=nb)`` per matrix: the candidates are all positions with
   ``theta <= 0`` (this step's pruned ones included), ``tf.random_shuffle(tf.range(n_candidates))[:nb]``
   picks ``nb`` of them uniformly without replacement (``nb`` clipped to ``n_candidates``), and
   ``tf.fill(dims=[nb_reconnect], value=epsilon)`` with ``epsilon=1e-12`` sets their ``theta``.
   The sign is not touched: a re-activated connection keeps the sign drawn at initialization
   (``sign_0 = np.sign(rd.randn(n_in, n_out))``, a random sign per position, in ``weight_sampler``).

As long as the active count starts at the target, each step re-activates exactly as many
connections as it pruned, so the count stays fixed (globally; a matrix's own count drifts).
The network masks self-connections in the weight it uses (``LIF.__init__`` in
``lsnn/spiking_models.py``: ``tf.where(recurrent_disconnect_mask, 0, w_rec_val)``), but the
diagonal's ``theta`` still takes part in rewiring; :func:`eprop_weights` does the same.

Differences from the official code, none of them visible in the weights:

* A pruned connection's ``theta`` is stored as 0 here; the official code leaves it negative
  until the next step's guard (step 3) zeroes it. Nothing reads that value: the guard
  overwrites the optimizer's result for it, the optimizer's moments do not depend on it, and
  a reconnection overwrites it.
* ``weight_sampler`` draws ``int(n_in * n_out * p)`` positions *with* replacement (duplicates
  collapse) and the first step tops the count up to the target; :func:`init_deep_r` draws the
  positions without replacement and places the target count at once.
* When a matrix is drawn more reconnections than it has dormant positions, the official code
  clips (``tf.clip_by_value(nb_reconnect, 0, n_candidates)``) and the global count stays short
  until the next step; ``on_full="redraw"`` (the default) instead draws the excess again among
  the matrices with room, so that the count is exact after every step; ``on_full="clip"`` is
  the official behaviour. For realistic sizes (a few % of a matrix reconnected) the two never
  differ.

Randomness comes from one ``numpy.random.Generator``, consumed in the official order: the
noise ``N(0, 1)`` for every matrix (in the state's order, one full-shape draw each, also when
the temperature is 0), then the split of step 5, then one permutation of the candidates per
matrix. Any gradient source works: pass ``dL/dw`` per matrix (BPTT of
:mod:`plasticore.reference.bptt` or e-prop of :mod:`plasticore.reference.eprop`) to
:func:`deep_r_step`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .eprop_model import EpropWeights
from .optimizers import Optimizer

__all__ = ["EPSILON", "ON_FULL", "DeepRState", "DeepRCounts", "init_deep_r", "deep_r_step", "eprop_weights"]

#: the ``theta`` of a re-activated connection (``rewiring(..., epsilon=1e-12)``)
EPSILON = 1e-12
#: what to do when a matrix is drawn more reconnections than it has dormant positions
ON_FULL = ("redraw", "clip")

Arrays = dict[str, NDArray[Any]]


@dataclass
class DeepRState:
    """The rewired matrices: magnitudes, fixed signs and each matrix's connectivity.

    Parameters
    ----------
    theta : dict of str to ndarray
        Magnitudes, ``>= 0``; ``theta > 0`` marks an active connection. float64.
    sign : dict of str to ndarray
        ``+1`` or ``-1`` per position (also for dormant ones), never changed by a step.
    connectivity : dict of str to float
        ``p_i``, the official ``rewiring_connectivities``: matrix ``i`` contributes
        ``size_i * p_i`` to the global target and is drawn reconnections in that proportion.

    Raises
    ------
    ValueError
        On construction, for mismatched names or shapes, a negative or non-finite ``theta``, a
        sign other than +-1, or a connectivity outside ``(0, 1]``.
    """

    theta: Arrays
    sign: Arrays
    connectivity: dict[str, float]

    def __post_init__(self) -> None:
        if set(self.theta) != set(self.sign) or set(self.theta) != set(self.connectivity):
            raise ValueError("theta, sign and connectivity must name the same matrices")
        if not self.theta:
            raise ValueError("no matrix to rewire")
        for name, th in self.theta.items():
            if self.sign[name].shape != th.shape:
                raise ValueError(f"{name}: sign shape {self.sign[name].shape} differs from theta's {th.shape}")
            if not np.all(np.isfinite(th)) or np.any(th < 0):
                raise ValueError(f"{name}: theta must be finite and >= 0")
            if not np.all(np.abs(self.sign[name]) == 1):
                raise ValueError(f"{name}: signs must be +1 or -1")
            p = self.connectivity[name]
            if not 0 < p <= 1:
                raise ValueError(f"{name}: connectivity {p!r} must be in (0, 1]")

    @property
    def names(self) -> list[str]:
        """The matrices, in the order every step visits them."""
        return list(self.theta)

    @property
    def target(self) -> int:
        """The global number of active connections: ``max_total_connections``.

        ``int(sum_i size_i * p_i)`` as
        ``sample_matrix_specific_reconnection_number_for_global_fixed_connectivity`` computes it,
        here in float64 (TensorFlow: float32, where e.g. ``10 * float32(0.7)`` truncates to 6,
        below the 7 connections ``weight_sampler`` places).
        """
        return int(sum(th.size * self.connectivity[name] for name, th in self.theta.items()))

    def active(self) -> dict[str, NDArray[np.bool_]]:
        """``theta > 0`` per matrix."""
        return {name: th > 0 for name, th in self.theta.items()}

    def n_active(self) -> int:
        """The global number of active connections."""
        return int(sum(np.count_nonzero(th > 0) for th in self.theta.values()))

    def weights(self) -> Arrays:
        """``w = sign * theta`` where active, exactly 0 where dormant (``weight_sampler``'s ``w``)."""
        return {name: np.where(th > 0, self.sign[name] * th, 0.0) for name, th in self.theta.items()}

    def copy(self) -> DeepRState:
        return DeepRState(
            {k: v.copy() for k, v in self.theta.items()},
            {k: v.copy() for k, v in self.sign.items()},
            dict(self.connectivity),
        )


@dataclass
class DeepRCounts:
    """What one :func:`deep_r_step` changed, per matrix.

    Parameters
    ----------
    pruned : dict of str to int
        Connections active before the step and dormant after its gradient and regularization
        parts.
    reconnected : dict of str to int
        Dormant positions re-activated at the end of the step.
    """

    pruned: dict[str, int]
    reconnected: dict[str, int]

    @property
    def n_pruned(self) -> int:
        return sum(self.pruned.values())

    @property
    def n_reconnected(self) -> int:
        return sum(self.reconnected.values())


def _per_matrix(value: float | dict[str, float], names: list[str], what: str) -> dict[str, float]:
    """A scalar for every matrix, or one value per matrix (the official ``l1s``, ``temperatures``)."""
    if isinstance(value, dict):
        if set(value) != set(names):
            raise ValueError(f"{what}: expected values for {names}, got {sorted(value)}")
        return {n: float(value[n]) for n in names}
    return {n: float(value) for n in names}


def _split(
    nb: int, probs: NDArray[np.float64], room: NDArray[np.int64], rng: np.random.Generator, on_full: str
) -> NDArray[np.int64]:
    """Reconnections per matrix: ``nb`` categorical draws with ``probs`` (the official split).

    With ``on_full="clip"`` a matrix gets at most ``room`` (its dormant positions), as
    ``rewiring``'s ``tf.clip_by_value`` does; with ``"redraw"`` the excess is drawn again among
    the matrices that still have room, with the same probabilities renormalized.
    """
    counts = np.bincount(rng.choice(len(probs), size=nb, p=probs), minlength=len(probs)).astype(np.int64)
    if on_full == "clip":
        return np.minimum(counts, room)
    while True:
        excess = int(np.maximum(counts - room, 0).sum())
        if excess == 0:
            return counts
        counts = np.minimum(counts, room)
        free = counts < room
        p = np.where(free, probs, 0.0)
        counts += np.bincount(rng.choice(len(p), size=excess, p=p / p.sum()), minlength=len(p))


def init_deep_r(
    shapes: dict[str, tuple[int, int]],
    connectivity: float | dict[str, float],
    rng: np.random.Generator,
    *,
    signs: Arrays | None = None,
    w_scale: float = 1.0,
) -> DeepRState:
    """A state with exactly :attr:`DeepRState.target` active connections, as ``weight_sampler`` draws them.

    Per matrix (``post x pre``, the layout of :class:`~plasticore.reference.eprop_model.EpropWeights`;
    the official matrices are ``n_in x n_out``): ``int(size * p)`` distinct positions uniformly at
    random (``nb_non_zero``), ``theta = |N(0, 1)| / sqrt(n_pre) * w_scale`` there (``theta_0``)
    and a random sign everywhere (``sign_0``). The few connections by which ``int(sum size_i p_i)``
    exceeds ``sum int(size_i p_i)`` are placed with the official split (step 5 of the module
    docstring), on the same magnitudes.

    Parameters
    ----------
    shapes : dict of str to (int, int)
        Matrix shapes, ``(n_post, n_pre)``, in the order steps visit them.
    connectivity : float or dict of str to float
        ``p_i`` per matrix (one value for all, or a dict), in ``(0, 1]``.
    rng : numpy.random.Generator
        All randomness.
    signs : dict of str to ndarray, optional
        Fixed signs to use instead of random ones (e.g. Dale's law: one sign per presynaptic
        neuron, ``neuron_sign`` in ``weight_sampler``, broadcast over a column).
    w_scale : float
        Multiplies the initial magnitudes (``weight_sampler``'s ``w_scale``).

    Returns
    -------
    DeepRState
    """
    names = list(shapes)
    p = _per_matrix(connectivity, names, "connectivity")
    theta: Arrays = {}
    sign: Arrays = {}
    magnitude: Arrays = {}
    for name in names:
        n_post, n_pre = shapes[name]
        size = n_post * n_pre
        on = np.zeros(size, dtype=bool)
        on[rng.choice(size, size=int(size * p[name]), replace=False)] = True
        magnitude[name] = np.abs(rng.standard_normal((n_post, n_pre))) / math.sqrt(n_pre) * w_scale
        if signs is None:
            sign[name] = np.where(rng.standard_normal((n_post, n_pre)) < 0, -1.0, 1.0)
        else:
            sign[name] = np.broadcast_to(np.asarray(signs[name], dtype=np.float64), (n_post, n_pre)).copy()
        theta[name] = np.where(on.reshape(n_post, n_pre), magnitude[name], 0.0)
    state = DeepRState(theta, sign, p)
    missing = state.target - state.n_active()
    if missing > 0:
        sizes = np.array([theta[n].size * p[n] for n in names])
        room = np.array([np.count_nonzero(theta[n] <= 0) for n in names])
        for name, nb in zip(names, _split(missing, sizes / sizes.sum(), room, rng, "redraw"), strict=True):
            dormant = np.flatnonzero(theta[name] <= 0)
            chosen = dormant[rng.permutation(len(dormant))[:nb]]
            theta[name].flat[chosen] = magnitude[name].flat[chosen]
    return state


def deep_r_step(
    state: DeepRState,
    grads: Arrays,
    rng: np.random.Generator,
    optimizer: Optimizer,
    *,
    l1: float | dict[str, float] = 0.0,
    temperature: float | dict[str, float] = 0.0,
    learning_rate: float | None = None,
    noise: Arrays | None = None,
    on_full: str = "redraw",
    epsilon: float = EPSILON,
) -> tuple[DeepRState, DeepRCounts]:
    """One DEEP R step (``rewiring_optimizer_wrapper``): gradient step, guard, L1 + noise, rewiring.

    Parameters
    ----------
    state : DeepRState
        Before the step; not changed.
    grads : dict of str to ndarray
        ``dL/dw`` for every matrix of ``state`` (dense: dormant positions too, as
        ``tf.gradients(loss, w)`` gives them), from any gradient source.
    rng : numpy.random.Generator
        The noise, the split and the positions (in that order, module docstring).
    optimizer : plasticore.reference.optimizers.Optimizer
        Applied to ``theta`` with ``dL/dtheta = dL/dw * sign``; keep the same object across
        steps (Adam's moments, step count). :class:`~plasticore.reference.optimizers.GradientDescent`
        gives the plain form ``theta -= eta * dL/dtheta``; TensorFlow's Adam, which the
        official tutorials use, is ``Adam(lr, epsilon_on="v")``.
    l1 : float or dict of str to float
        ``alpha``, the L1 prior (``l1s``): active ``theta`` shrink by ``learning_rate * l1``.
    temperature : float or dict of str to float
        ``T`` (``temperatures``): active ``theta`` get ``sqrt(2 * learning_rate * T) * N(0, 1)``.
    learning_rate : float, optional
        ``eta`` of the regularization; ``None``: ``optimizer.lr`` (the official tutorials pass
        the optimizer's learning-rate variable).
    noise : dict of str to ndarray, optional
        The ``N(0, 1)`` samples to use instead of drawing them from ``rng`` (tests).
    on_full : {"redraw", "clip"}
        When a matrix is drawn more reconnections than it has dormant positions (module docstring).
    epsilon : float
        ``theta`` of a re-activated connection.

    Returns
    -------
    new_state : DeepRState
    counts : DeepRCounts
        Pruned and reconnected connections per matrix.

    Raises
    ------
    ValueError
        For missing or mis-shaped gradients, a NaN or infinity in them (``tf.check_numerics``),
        more active connections than the target (``CheckRewiringConnectivityBound``) or an
        unknown ``on_full``.
    """
    names = state.names
    if on_full not in ON_FULL:
        raise ValueError(f"on_full: {on_full!r} is not one of {', '.join(ON_FULL)}")
    for name in names:
        if name not in grads:
            raise ValueError(f"grads[{name!r}]: missing")
        g = grads[name]
        if np.shape(g) != state.theta[name].shape:
            raise ValueError(f"grads[{name!r}]: expected shape {state.theta[name].shape}, got {np.shape(g)}")
        if not np.all(np.isfinite(g)):
            raise ValueError(f"grads[{name!r}]: found NaN or Inf")
    target = state.target
    n_before = state.n_active()
    if n_before > target:
        raise ValueError(f"{n_before} active connections exceed the target {target}")
    l1s = _per_matrix(l1, names, "l1")
    temps = _per_matrix(temperature, names, "temperature")
    lr = optimizer.lr if learning_rate is None else float(learning_rate)

    # 1. which connections are active before the step (is_positive_theta_list)
    was_active = state.active()
    # 2. the optimizer on theta, dL/dtheta = dL/dw * sign (compute_gradients_with_rewiring_variables)
    stepped = optimizer.step(
        dict(state.theta), {n: np.asarray(grads[n], dtype=np.float64) * state.sign[n] for n in names}
    )
    theta: Arrays = {}
    for name in names:
        # 3. disconnection guard: what was dormant stays 0, whatever the optimizer's momentum did
        th = np.where(was_active[name], stepped[name], 0.0)
        # 4. L1 and noise on the connections still active (apply_regularization, mask_connected(th_))
        z = rng.standard_normal(th.shape) if noise is None else np.asarray(noise[name], dtype=np.float64)
        mask = (th > 0).astype(np.float64)
        th = th + (-lr * mask * l1s[name] + math.sqrt(2.0 * lr * temps[name]) * (mask * z))
        theta[name] = th
    pruned = {n: int(np.count_nonzero(was_active[n]) - np.count_nonzero(theta[n] > 0)) for n in names}

    # 5. how many to reconnect, split across matrices by size_i * p_i
    nb_reconnect = max(0, target - sum(int(np.count_nonzero(theta[n] > 0)) for n in names))
    sizes = np.array([theta[n].size * state.connectivity[n] for n in names], dtype=np.float64)
    room = np.array([np.count_nonzero(theta[n] <= 0) for n in names], dtype=np.int64)
    counts = _split(nb_reconnect, sizes / sizes.sum(), room, rng, on_full)
    # 6. rewiring: uniformly among theta <= 0 (just-pruned included), theta = epsilon, sign kept
    reconnected: dict[str, int] = {}
    for name, nb in zip(names, counts, strict=True):
        th = theta[name]
        candidates = np.flatnonzero(th <= 0)
        th[th < 0] = 0.0  # a pruned theta is stored as 0 (module docstring)
        chosen = candidates[rng.permutation(len(candidates))[:nb]]
        th.flat[chosen] = epsilon
        reconnected[name] = int(nb)
    new = DeepRState(theta, {n: state.sign[n].copy() for n in names}, dict(state.connectivity))
    return new, DeepRCounts(pruned, reconnected)


def eprop_weights(state: DeepRState, b_fb: NDArray[Any], **fixed: NDArray[Any]) -> EpropWeights:
    """The network weights of a state, for :mod:`plasticore.reference.bptt` / :mod:`plasticore.reference.eprop`.

    ``w_in``, ``w_rec``, ``w_out`` from :meth:`DeepRState.weights` (or from ``fixed`` for a
    matrix that is not rewired), ``w_rec``'s diagonal set to 0 as the LSNN network masks
    autapses (``recurrent_disconnect_mask``); the diagonal's ``theta`` stays in the state.
    Feed the gradients those functions return straight back to :func:`deep_r_step`.
    """
    w = {**fixed, **state.weights()}
    w_rec = np.array(w["w_rec"], dtype=np.float64)
    np.fill_diagonal(w_rec, 0.0)
    return EpropWeights(
        np.array(w["w_in"], dtype=np.float64),
        w_rec,
        np.array(w["w_out"], dtype=np.float64),
        np.asarray(b_fb, dtype=np.float64),
    )
