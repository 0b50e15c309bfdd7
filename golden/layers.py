"""Layers from wiring: layered feedforward topologies inside the recurrent pool.

With ``Config.hidden_layers`` = k >= 1 the ``n_rec`` neurons are k equal consecutive hidden
layers (neuron j in layer ``j // (n_rec / k)``), and three masks on the dense weight tables
decide which synapses exist:

* Win: the inputs reach layer 0 only;
* Wrec: neuron i reaches neuron j iff ``layer(j) == layer(i) + 1`` (layer l to layer l + 1);
* Wout: the readout reads the last layer only.

A masked synapse is exactly 0 from initialization on, and learning never writes it: the row
updaters visit and draw as for the dense table (same LFSR order, so the unmasked weights get
the dense bits), and the mask gates the write-back. In hardware the mask is two comparisons of
layer indices per word, no memory. eRBP's feedback B reaches every neuron (``b_fb`` has a row
per neuron, drawn independently), so each hidden layer gets its own random feedback of the
output error, as in Neftci et al. 2017's networks with two hidden layers. ``hidden_layers`` 0
(the default) leaves the recurrent pool all-to-all: no mask, today's bits.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .config import Config
from .network import Weights

__all__ = ["layer_of", "layer_masks", "mask_weights"]


def layer_of(cfg: Config) -> NDArray[np.int64]:
    """The hidden layer of every recurrent neuron, ``(n_rec,)``; all 0 when ``hidden_layers`` is 0."""
    size = cfg.n_rec // max(1, cfg.hidden_layers)
    layer: NDArray[np.int64] = np.arange(cfg.n_rec, dtype=np.int64) // size
    return layer


def layer_masks(cfg: Config) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """Which synapses exist: boolean masks shaped like Win ``(n_rec, n_in)``, Wrec ``(n_rec,
    n_rec)`` and Wout ``(n_out, n_rec)`` (``post x pre``). All true when ``hidden_layers`` is 0."""
    if not cfg.hidden_layers:
        return (
            np.ones((cfg.n_rec, cfg.n_in), bool),
            np.ones((cfg.n_rec, cfg.n_rec), bool),
            np.ones((cfg.n_out, cfg.n_rec), bool),
        )
    layer = layer_of(cfg)
    m_in = np.broadcast_to((layer == 0)[:, None], (cfg.n_rec, cfg.n_in))
    m_rec = layer[:, None] == layer[None, :] + 1
    m_out = np.broadcast_to((layer == cfg.hidden_layers - 1)[None, :], (cfg.n_out, cfg.n_rec))
    return np.ascontiguousarray(m_in), m_rec, np.ascontiguousarray(m_out)


def mask_weights(cfg: Config, w: Weights) -> Weights:
    """``w`` with every synapse outside the layer masks set to 0 (``w`` itself when
    ``hidden_layers`` is 0); B and the synapse table are kept."""
    if not cfg.hidden_layers:
        return w
    m_in, m_rec, m_out = layer_masks(cfg)
    zero = w.w_in.dtype.type(0)
    return Weights(
        np.where(m_in, w.w_in, zero),
        np.where(m_rec, w.w_rec, zero),
        np.where(m_out, w.w_out, zero),
        w.b_fb,
        w.synapses,
    )
