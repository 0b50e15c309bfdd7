"""Data sets that ship with an installed package (no download), loaded for the seed tasks.

The task generators (one module per task in :mod:`plasticore.tasks`) use numpy only; this
loader imports scikit-learn lazily and hands plain arrays to :func:`plasticore.tasks.digits_task`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_digits_arrays"]


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 handwritten digits (1797 images, pixel values 0..16) and labels."""
    from sklearn.datasets import load_digits  # shipped inside the package: no download

    data = load_digits()
    return np.asarray(data.data, dtype=np.float64), np.asarray(data.target, dtype=np.int64)
