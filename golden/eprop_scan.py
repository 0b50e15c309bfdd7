"""First-order linear recurrences along time, without a Python loop over every time step.

Most traces of e-prop and BPTT are ``f[t] = c f[t-1] + g u[t]`` (forward) or
``f[t] = c f[t+1] + g u[t]`` (backward) with a constant decay ``c``, ``f`` = 0 outside the
sequence. A loop costs ``T`` numpy calls; :func:`leaky_scan` cuts time into blocks of ``K``
steps, solves every block at once with the ``K x K`` triangular matrix ``L[i, j] = c^(i-j)``
(one batched matrix product), and chains only the ``T / K`` block ends in a loop. Entries of
``L`` are at most 1, so the rounding is that of the step-by-step sum.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["leaky_scan"]

#: block length: the matrix product costs T x K multiply-adds per column, the chain T / K steps
_BLOCK = 32


def _loop(u: np.ndarray, c, reverse: bool) -> np.ndarray:
    """The plain step-by-step recursion (``c`` a number or an array like ``u``): the reference."""
    f = np.empty_like(u)
    acc = np.zeros(u.shape[1:])
    order = range(len(u) - 1, -1, -1) if reverse else range(len(u))
    scalar = np.ndim(c) == 0
    for t in order:
        acc = (c if scalar else c[t]) * acc + u[t]
        f[t] = acc
    return f


@lru_cache(maxsize=64)
def _toeplitz(decay: float, K: int, reverse: bool) -> tuple[np.ndarray, np.ndarray]:
    """The block matrix (``L[i, j] = decay^(i-j)``, ``i >= j``; transposed for ``reverse``)
    and ``decay^(k+1)`` (forward) or ``decay^(K-k)`` (reverse), the carry's weight at row k."""
    i = np.arange(K)
    lag = i[:, None] - i[None, :]
    L = np.where(lag >= 0, decay ** np.maximum(lag, 0).astype(np.float64), 0.0)
    powers = decay ** np.arange(1, K + 1, dtype=np.float64)
    if reverse:
        L = np.ascontiguousarray(L.T)
        powers = powers[::-1].copy()
    L.setflags(write=False)
    powers.setflags(write=False)
    return L, powers


def leaky_scan(u: np.ndarray, decay: float, reverse: bool = False, gain: float = 1.0,
               out: np.ndarray | None = None) -> np.ndarray:
    """``f[t] = decay f[t-1] + gain u[t]`` along axis 0 (``f[t+1]`` when ``reverse``), ``0 <= decay <= 1``.

    ``out``: a C-contiguous array of ``u``'s shape (not ``u`` itself) to write the result to.
    """
    u = np.asarray(u, dtype=np.float64)
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"leaky_scan: decay {decay!r} is outside 0..1")
    T = len(u)
    if T <= 1:
        if out is None:
            return u * gain
        np.multiply(u, gain, out=out)
        return out
    shape = u.shape
    flat = np.ascontiguousarray(u).reshape(T, -1)
    N = flat.shape[1]
    K = min(_BLOCK, T)
    nb, tail = divmod(T, K)
    L, powers = _toeplitz(float(decay), K, reverse)
    if gain != 1.0:
        L = L * gain
    result = np.empty(shape) if out is None else out
    out = result.reshape(T, N)
    # full blocks: forward they start at 0, reverse they end at T (the partial block is the rest)
    start = 0 if not reverse else tail
    body = out[start:start + nb * K].reshape(nb, K, N)
    np.matmul(L, flat[start:start + nb * K].reshape(nb, K, N), out=body)
    if tail:
        rest = slice(nb * K, T) if not reverse else slice(0, tail)
        Lt = L[:tail, :tail] if not reverse else L[K - tail:, K - tail:]
        np.matmul(Lt, flat[rest], out=out[rest])
    # chain the block ends in time order, then add each block's incoming carry (block by
    # block: small temporaries only)
    order = range(nb) if not reverse else range(nb - 1, -1, -1)
    edge = -1 if not reverse else 0
    p_block = decay ** K
    carry = np.zeros(N)
    outer, add = np.multiply.outer, np.add
    for i, b in enumerate(order):
        if i:
            add(body[b], outer(powers, carry), out=body[b])
        carry = body[b, edge]
    if tail:
        # the partial block comes after the full ones (forward) or before them (reverse)
        if not reverse:
            out[nb * K:] += outer(decay ** np.arange(1, tail + 1), carry)
        else:
            out[:tail] += outer(decay ** np.arange(tail, 0, -1), carry)
    return result
