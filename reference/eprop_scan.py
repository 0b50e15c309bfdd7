"""First-order linear recurrences along time, without a Python loop over every time step.

Most traces of e-prop and BPTT are ``f[t] = c f[t-1] + g u[t]`` (forward) or
``f[t] = c f[t+1] + g u[t]`` (backward) with a constant decay ``c``, ``f`` = 0 outside the
sequence. A loop costs ``T`` numpy calls; :func:`leaky_scan` cuts time into blocks of ``K``
steps, solves every block at once with the ``K x K`` triangular matrix ``L[i, j] = c^(i-j)``
(one batched matrix product), solves the ``T / K`` block ends the same way (they follow the
same recursion with decay ``c^K``) and adds every block's incoming carry at once. Entries of
``L`` are at most 1, so the rounding is that of the step-by-step sum.

:func:`varying_scan` does the same for a decay that varies along time and across columns
(the ALIF adaptation trace of e-prop), where no shared block matrix exists: chunks of time
run side by side instead.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["leaky_scan", "varying_scan"]

#: block length: the matrix product costs T x K multiply-adds per column, the chain T / K steps
_BLOCK = 16


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


def leaky_scan(
    u: np.ndarray, decay: float, reverse: bool = False, gain: float = 1.0, out: np.ndarray | None = None
) -> np.ndarray:
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
    body = out[start : start + nb * K].reshape(nb, K, N)
    np.matmul(L, flat[start : start + nb * K].reshape(nb, K, N), out=body)
    if tail:
        rest = slice(nb * K, T) if not reverse else slice(0, tail)
        Lt = L[:tail, :tail] if not reverse else L[K - tail :, K - tail :]
        np.matmul(Lt, flat[rest], out=out[rest])
    # chain the blocks: the block ends obey the same recursion with decay^K (a scan of nb
    # values, solved the same way), then every block adds its incoming carry at once
    edge = -1 if not reverse else 0
    if nb > 1:
        ends = leaky_scan(body[:, edge], decay**K, reverse)  # global block-end values
        if not reverse:
            _add_carries(body[1:], powers, ends[:-1])
            carry = ends[-1]
        else:
            _add_carries(body[:-1], powers, ends[1:])
            carry = ends[0]
    else:
        carry = body[0, edge]
    if tail:
        # the partial block comes after the full ones (forward) or before them (reverse)
        if not reverse:
            out[nb * K :] += np.multiply.outer(decay ** np.arange(1, tail + 1), carry)
        else:
            out[:tail] += np.multiply.outer(decay ** np.arange(tail, 0, -1), carry)
    return result


#: elements of the temporary that adds the carries (a few blocks at a time: small temporaries)
_CARRY_CHUNK = 1 << 16


def _add_carries(targets: np.ndarray, powers: np.ndarray, carries: np.ndarray) -> None:
    """``targets[b] += powers[:, None] * carries[b]`` for all blocks ``b`` (a few at a time)."""
    nb, K, N = targets.shape
    step = max(1, _CARRY_CHUNK // (K * N))
    tmp = np.empty((min(step, nb), K, N))
    p = powers[None, :, None]
    for i in range(0, nb, step):
        j = min(i + step, nb)
        t = tmp[: j - i]
        np.multiply(p, carries[i:j, None, :], out=t)
        np.add(targets[i:j], t, out=targets[i:j])


def varying_scan(
    a: np.ndarray, u: np.ndarray, reverse: bool = False, out: np.ndarray | None = None, work=None
) -> np.ndarray:
    """``f[t] = a[t] f[t-1] + u[t]`` along axis 0 (``a[t] f[t+1]`` when ``reverse``), with a
    decay ``a`` that varies like ``u``; ``f`` = 0 outside the sequence.

    A step-by-step loop costs two numpy calls per step. Here time is cut into ``P`` chunks of
    ``L`` steps that run side by side: one loop over the ``L`` positions advances all chunks
    at once (from a zero start) and keeps each chunk's running product of decays; a loop over
    the ``P`` chunk ends chains the true starting values; one multiply-add adds them,
    ``f[p, l] = local[p, l] + (a[p, 0] ... a[p, l]) start[p]``. About ``3 sqrt(T)`` calls
    instead of ``2 T``, each on ``P`` contiguous rows (the work arrays are laid out position
    by chunk); the same products and sums as the recursion, grouped differently.
    ``out``: an array of ``u``'s shape to write the result to. ``work``: an object whose
    ``array(name, shape)`` returns reusable work arrays (``plasticore.reference.eprop_model.Buffers``):
    fresh megabyte arrays cost page faults on every call.
    """
    u = np.asarray(u, dtype=np.float64)
    a = np.broadcast_to(np.asarray(a, dtype=np.float64), u.shape)
    result = np.empty(u.shape) if out is None else out
    T = len(u)
    if T == 0:
        return result
    if reverse:
        u, a, res = u[::-1], a[::-1], result[::-1]
    else:
        res = result
    N = int(np.prod(u.shape[1:], dtype=np.int64))
    L = max(1, min(T, int(round(math.sqrt(2.0 * T / 3.0)))))
    P = -(-T // L)

    def array(name, shape):
        return np.empty(shape) if work is None else work.array(name, shape)

    # work arrays laid out (L, P, N): the loop over positions reads and writes contiguous rows
    A = array("vscan_a", (L, P, N))
    U = array("vscan_u", (L, P, N))
    q, r = divmod(T, L)  # q full chunks, then r steps (padded)
    for work_array, src, pad in ((A, a, 1.0), (U, u, 0.0)):
        chunks = work_array.transpose(1, 0, 2)  # (P, L, N) view
        flat = src.reshape(T, N)
        chunks[:q] = flat[: q * L].reshape(q, L, N)
        if r:
            chunks[q, :r] = flat[q * L :]
            chunks[q, r:] = pad
    F = array("vscan_f", (L, P, N))
    R = array("vscan_r", (L, P, N))  # R[l, p] = a[p, 0] ... a[p, l]
    F[0] = U[0]
    R[0] = A[0]
    mul, add = np.multiply, np.add
    for step in range(1, L):
        f = F[step]
        mul(A[step], F[step - 1], f)
        add(f, U[step], f)
        mul(R[step - 1], A[step], R[step])
    start = array("vscan_start", (P, N))  # the true value before chunk p
    start[0] = 0.0
    for p in range(1, P):
        mul(R[L - 1, p - 1], start[p - 1], start[p])
        add(start[p], F[L - 1, p - 1], start[p])
    mul(R, start[None], R)
    add(F, R, F)
    chunks = F.transpose(1, 0, 2)
    flat = res.reshape(T, N)
    if np.may_share_memory(flat, res):  # a view (also of a reversed result)
        flat[: q * L].reshape(q, L, N)[...] = chunks[:q]
        if r:
            flat[q * L :] = chunks[q, :r]
    else:
        res[...] = chunks.reshape(P * L, N)[:T].reshape(u.shape)
    return result
