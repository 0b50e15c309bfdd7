"""A transport whose line drops, duplicates, delays or corrupts bytes (seeded), both ways.

:class:`FaultyTransport` wraps any transport of the host driver (``plasticore.host.Transport``:
a serial port, ``plasticore.cosim.host_transport.SimulatedTransport``, or the in-process
``plasticore.cosim.model_device.ModelDevice``) and damages the bytes that cross it, each byte
independently with the probabilities of :class:`LineFaults`:

* **drop**: the byte never arrives;
* **duplicate**: it arrives twice;
* **corrupt**: it arrives with one to eight of its bits flipped;
* **delay**: it and every byte after it in the same burst arrive late, after the receiver
  stopped waiting: request bytes with the host's next write, reply bytes at the host's next
  read (longer than any timeout: a short delay is no fault for the driver).

The driver must answer each with a retry or a clear error, never with wrong data taken for
right (tests/test_host_faults.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

__all__ = ["LineFaults", "FaultyTransport", "FAULT_KINDS"]

FAULT_KINDS = ("drop", "duplicate", "corrupt", "delay")


@dataclass(frozen=True)
class LineFaults:
    """Per-byte fault probabilities of one direction of the line.

    Parameters
    ----------
    drop, duplicate, corrupt, delay : float
        Probability that a byte is lost, sent twice, damaged, or (with the rest of its burst)
        held back until the receiver's next turn. Each in [0, 1], their sum at most 1.
    """

    drop: float = 0.0
    duplicate: float = 0.0
    corrupt: float = 0.0
    delay: float = 0.0

    def __post_init__(self) -> None:
        for kind in FAULT_KINDS:
            p = getattr(self, kind)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{kind}: probability {p} is outside [0, 1]")
        if self.total > 1.0:
            raise ValueError(f"LineFaults: the probabilities sum to {self.total}, above 1")

    @property
    def total(self) -> float:
        return self.drop + self.duplicate + self.corrupt + self.delay

    @classmethod
    def only(cls, kind: str, p: float) -> LineFaults:
        """Faults of one kind (``FAULT_KINDS``) at rate ``p``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind: {kind!r} is not one of {', '.join(FAULT_KINDS)}")
        return cls(**{kind: p})


class _Direction:
    """One direction of the line: damages bursts, keeps the delayed tail for later."""

    def __init__(self, faults: LineFaults, rng: np.random.Generator, counts: Counter, name: str):
        self.faults = faults
        self.rng = rng
        self.counts = counts
        self.name = name
        self.late = bytearray()  # bytes that arrive at the receiver's next turn

    def damage(self, data: bytes) -> bytes:
        """What arrives now of ``data``; a delayed tail waits in ``late``."""
        f = self.faults
        out = bytearray()
        draws = self.rng.random(len(data))
        for i, (byte, u) in enumerate(zip(data, draws, strict=True)):
            if u < f.drop:
                self.counts[f"{self.name} drop"] += 1
            elif u < f.drop + f.duplicate:
                self.counts[f"{self.name} duplicate"] += 1
                out += bytes([byte, byte])
            elif u < f.drop + f.duplicate + f.corrupt:
                self.counts[f"{self.name} corrupt"] += 1
                out.append(byte ^ int(self.rng.integers(1, 256)))
            elif u < f.total:
                self.counts[f"{self.name} delay"] += 1
                self.late += data[i:]
                break
            else:
                out.append(byte)
        return bytes(out)

    def take_late(self) -> bytes:
        late, self.late = bytes(self.late), bytearray()
        return late


class FaultyTransport:
    """``inner`` behind a faulty line (see the module docstring).

    Parameters
    ----------
    inner : transport
        What the bytes reach (``write``, ``read``, ``gap``, ``close``).
    to_device, to_host : :class:`LineFaults`
        Faults of the request and of the reply direction.
    seed : int
        Seeds the faults: the same seed damages the same bytes of the same traffic.

    Members
    -------
    counts : collections.Counter
        Faults injected, by ``"<direction> <kind>"`` (direction ``request`` or ``reply``).
    """

    def __init__(self, inner, to_device: LineFaults = LineFaults(), to_host: LineFaults = LineFaults(), seed: int = 0):
        self.inner = inner
        rng = np.random.default_rng(seed)
        self.counts: Counter = Counter()
        self._out = _Direction(to_device, rng, self.counts, "request")
        self._in = _Direction(to_host, rng, self.counts, "reply")
        self._ready = bytearray()  # reply bytes that arrived and were not read yet

    def write(self, data: bytes) -> None:
        self.inner.write(self._out.take_late() + self._out.damage(data))

    def read(self, n: int) -> bytes:
        self._ready += self._in.take_late()  # what was late arrives first
        if len(self._ready) < n:
            self._ready += self._in.damage(self.inner.read(n - len(self._ready)))
        out, self._ready = bytes(self._ready[:n]), self._ready[n:]
        return out

    def gap(self) -> None:
        self.inner.gap()
        self._ready.clear()  # a gap drops pending input; late bytes are still on their way

    def close(self) -> None:
        self.inner.close()
