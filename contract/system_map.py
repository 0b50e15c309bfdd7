"""The memory map the host protocol sees: the core's regions plus the engine's buffers.

Regions ``0 .. len(geometry.regions) - 1`` are the core's, in the order and with the packing
of :class:`plasticore.contract.geometry.Geometry` (the single source of truth for them). After them come the
protocol engine's buffers, one tick record per slot of a window of ``window`` ticks:

===============  ===============================  ==========================================
region           words per tick slot              what
===============  ===============================  ==========================================
``in_x``         ``x`` region depth (32-bit)      input spikes of the tick, as region ``x``
``in_target``    ``target`` region depth          targets of the tick, as region ``target``
``in_valid``     1 (1 bit)                        the tick's targets are valid
``out_y``        ``y`` region depth               readout Y after the tick, as region ``y``
``out_z``        ``z`` region depth (32-bit)      spikes of the tick, as region ``z``
``out_cycles``   1 (32 bits)                      the core's cycle count of the tick
===============  ===============================  ==========================================

Slot ``t`` of a buffer occupies words ``t * per_tick .. (t + 1) * per_tick - 1``. RUN reads
slot t of the input buffers for its t-th tick and writes slot t of the output buffers.

Pure Python (no Amaranth): the host driver builds the same map from the same config.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, SupportsInt

from plasticore.golden.config import Config

from .geometry import Geometry, Region
from .protocol_spec import (
    MAGIC,
    MAX_LENGTH,
    MEM_ARGS,
    MIN_MAX_PAYLOAD,
    N_REGS,
    PROTOCOL_VERSION,
    REG_BITS,
    Reg,
)

__all__ = ["MapRegion", "SystemMap", "BUFFER_REGIONS", "DEFAULT_WINDOW", "DEFAULT_MAX_PAYLOAD"]

DEFAULT_WINDOW = 64
DEFAULT_MAX_PAYLOAD = 512

#: the engine's buffers: name -> (core region whose word layout a tick slot copies, or None)
BUFFER_REGIONS = ("in_x", "in_target", "in_valid", "out_y", "out_z", "out_cycles")


@dataclass(frozen=True)
class MapRegion:
    """One region of the protocol's address space."""

    name: str
    index: int
    depth: int
    word_bits: int
    #: the core region it is (core regions) or whose word layout each tick slot has (buffers)
    layout: Region | None
    #: words per tick slot (buffers only; 0 for core regions)
    per_tick: int = 0

    @property
    def is_buffer(self) -> bool:
        return self.per_tick > 0

    @property
    def bytes_per_word(self) -> int:
        return -(-self.word_bits // 8)

    # words <-> bytes on the wire: each word little-endian in bytes_per_word bytes -------------
    def words_to_bytes(self, words: Iterable[SupportsInt]) -> bytes:
        bpw, top = self.bytes_per_word, 1 << self.word_bits
        out = bytearray()
        for w in words:
            w = int(w)
            if not 0 <= w < top:
                raise ValueError(f"{self.name}: word {w:#x} does not fit {self.word_bits} bits")
            out += w.to_bytes(bpw, "little")
        return bytes(out)

    def bytes_to_words(self, data: bytes) -> list[int]:
        bpw = self.bytes_per_word
        if len(data) % bpw:
            raise ValueError(f"{self.name}: {len(data)} bytes are not a whole number of {bpw}-byte words")
        return [int.from_bytes(data[i : i + bpw], "little") for i in range(0, len(data), bpw)]


class SystemMap:
    """Regions, registers and identity of one protocol engine + core."""

    def __init__(self, cfg: Config, window: int = DEFAULT_WINDOW, max_payload: int = DEFAULT_MAX_PAYLOAD):
        self.cfg = cfg
        self.geometry = Geometry(cfg)
        if not isinstance(window, int) or not 1 <= window <= 0xFFFF:
            raise ValueError(f"window: {window!r} is outside the allowed range 1..65535 ticks")
        widest = max(-(-r.word_bits // 8) for r in self.geometry.regions.values())
        low = max(MIN_MAX_PAYLOAD, MEM_ARGS + widest, N_REGS * REG_BITS // 8)
        if not isinstance(max_payload, int) or not low <= max_payload <= MAX_LENGTH:
            raise ValueError(f"max_payload: {max_payload!r} is outside the allowed range {low}..{MAX_LENGTH} bytes")
        self.window = window
        self.max_payload = max_payload

    @cached_property
    def regions(self) -> dict[str, MapRegion]:
        g = self.geometry.regions
        out = {name: MapRegion(name, r.index, r.depth, r.word_bits, r) for name, r in g.items()}
        buffers = [
            ("in_x", g["x"]),
            ("in_target", g["target"]),
            ("in_valid", None),
            ("out_y", g["y"]),
            ("out_z", g["z"]),
            ("out_cycles", None),
        ]
        assert tuple(n for n, _ in buffers) == BUFFER_REGIONS
        for name, layout in buffers:
            per_tick = layout.depth if layout is not None else 1
            bits = layout.word_bits if layout is not None else (1 if name == "in_valid" else 32)
            out[name] = MapRegion(name, len(out), self.window * per_tick, bits, layout, per_tick)
        return out

    @property
    def n_core_regions(self) -> int:
        return len(self.geometry.regions)

    def region(self, key: str | int) -> MapRegion:
        """A region by name or index, with a clear error for an unknown one."""
        if isinstance(key, str):
            if key not in self.regions:
                raise ValueError(f"region: {key!r} is not one of {', '.join(self.regions)}")
            return self.regions[key]
        for r in self.regions.values():
            if r.index == key:
                return r
        raise ValueError(f"region: index {key!r} is outside 0..{len(self.regions) - 1}")

    @property
    def data_bits(self) -> int:
        """Widest word of any region (the engine's word registers)."""
        return max(r.word_bits for r in self.regions.values())

    @property
    def addr_bits(self) -> int:
        return max(1, max(r.depth for r in self.regions.values()).bit_length())

    # identity -------------------------------------------------------------------------------
    def descriptor(self) -> dict[str, Any]:
        """Everything the host must agree on with the device (the config's name excluded)."""
        cfg = {k: v for k, v in self.cfg.to_dict().items() if k != "name"}
        return {
            "protocol": PROTOCOL_VERSION,
            "config": cfg,
            "regions": [[r.name, r.index, r.depth, r.word_bits] for r in self.regions.values()],
            "window": self.window,
            "max_payload": self.max_payload,
        }

    @cached_property
    def identity(self) -> int:
        """CRC-32 of :meth:`descriptor`: register IDENTITY of a device built from this map."""
        return zlib.crc32(json.dumps(self.descriptor(), sort_keys=True).encode())

    def constant_registers(self) -> dict[Reg, int]:
        """The read-only registers whose value is fixed by the map."""
        c = self.cfg
        return {
            Reg.MAGIC: MAGIC,
            Reg.VERSION: PROTOCOL_VERSION,
            Reg.IDENTITY: self.identity,
            Reg.SIZES: c.n_in | c.n_rec << 16,
            Reg.SHAPE: c.n_out | c.lanes << 8 | len(self.regions) << 16 | self.n_core_regions << 24,
            Reg.BUFFERS: self.window | self.max_payload << 16,
        }

    # convenience for tick records -------------------------------------------------------------
    def max_words(self, region: MapRegion, write: bool) -> int:
        """Words of ``region`` that fit one frame (a WRITE_MEM carries MEM_ARGS bytes more)."""
        room = self.max_payload - (MEM_ARGS if write else 0)
        return max(1, room // region.bytes_per_word)
