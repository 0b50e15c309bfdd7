"""Central differences of a scalar objective over named weight matrices (shared by the BPTT
gradient tests of plasticore.reference.bptt and plasticore.training.bptt_train)."""

import numpy as np


def central_differences(f, w, names, copy, eps):
    """``{name: d f / d getattr(w, name)}`` by central differences, one entry at a time.

    ``copy(w)`` returns an independent copy whose matrices may be changed in place. The
    diagonal of ``w_rec`` (self-connections, kept at zero and given no gradient) is skipped and
    left 0.
    """
    out = {}
    for name in names:
        fd = np.zeros_like(np.asarray(getattr(w, name), dtype=np.float64))
        for idx in np.ndindex(fd.shape):
            if name == "w_rec" and idx[0] == idx[1]:
                continue
            plus, minus = copy(w), copy(w)
            getattr(plus, name)[idx] += eps
            getattr(minus, name)[idx] -= eps
            fd[idx] = (f(plus) - f(minus)) / (2 * eps)
        out[name] = fd
    return out
