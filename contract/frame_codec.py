"""Sans-IO codec of the host protocol: frames to bytes and bytes to frames, no I/O.

The host driver (``plasticore/host.py``), the co-simulation benches and the block tests all
build requests and parse replies here; the transports (a serial port, the simulator) only
move bytes. Constants come from :mod:`plasticore.contract.protocol_spec`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .protocol_spec import (
    CRC_BYTES,
    MAX_LENGTH,
    REPLY_HEADER,
    SYNC_REPLY,
    SYNC_REQUEST,
    Command,
    Status,
    crc16,
)

__all__ = [
    "encode_request",
    "encode_reply",
    "Reply",
    "ReplyDecoder",
    "reg_read_args",
    "reg_write_args",
    "mem_args",
    "run_args",
]


def _frame(sync: int, header: bytes, payload: bytes) -> bytes:
    body = header + payload
    return bytes([sync]) + body + crc16(body).to_bytes(CRC_BYTES, "big")


def encode_request(cmd: int, tag: int, payload: bytes = b"") -> bytes:
    """A request frame. ``cmd`` may be any byte (the fuzz tests send unknown ones)."""
    if len(payload) > MAX_LENGTH:
        raise ValueError(f"payload: {len(payload)} bytes exceed the 16-bit length field ({MAX_LENGTH})")
    return _frame(SYNC_REQUEST, struct.pack("<BBH", cmd & 0xFF, tag & 0xFF, len(payload)), payload)


def encode_reply(cmd: int, tag: int, status: int, payload: bytes = b"") -> bytes:
    """A reply frame, as the device sends it (for reference models and tests)."""
    return _frame(SYNC_REPLY, struct.pack("<BBBH", cmd & 0xFF, tag & 0xFF, status & 0xFF, len(payload)), payload)


# -- argument blocks --------------------------------------------------------------------------


def reg_read_args(index: int, count: int = 1) -> bytes:
    return struct.pack("<BB", index, count)


def reg_write_args(index: int, value: int) -> bytes:
    return struct.pack("<BI", index, value & 0xFFFF_FFFF)


def mem_args(region: int, addr: int, count: int) -> bytes:
    """region u8, word address u32, word count u16 (READ_MEM, WRITE_MEM's head, CLEAR_MEM)."""
    return struct.pack("<BIH", region, addr, count)


def run_args(start: int, count: int, flags: int = 0) -> bytes:
    return struct.pack("<HHB", start, count, flags)


# -- replies ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A decoded reply frame.

    Attributes
    ----------
    cmd : int
        Command echoed.
    tag : int
        Tag echoed.
    status : int
        Reply status (:class:`~plasticore.contract.protocol_spec.Status`).
    payload : bytes
        Payload.
    crc_ok : bool
        The frame's CRC matched.
    """

    cmd: int
    tag: int
    status: int
    payload: bytes
    crc_ok: bool = True

    @property
    def ok(self) -> bool:
        return self.crc_ok and self.status == Status.OK

    def describe(self) -> str:
        try:
            cmd = Command(self.cmd).name
        except ValueError:
            cmd = f"0x{self.cmd:02x}"
        try:
            status = Status(self.status).name
        except ValueError:
            status = f"0x{self.status:02x}"
        crc = "" if self.crc_ok else " (reply CRC wrong)"
        return f"{cmd} tag {self.tag}: {status}, {len(self.payload)} payload bytes{crc}"


class ReplyDecoder:
    """Feed bytes as they arrive; take complete replies out.

    Bytes before a reply's sync byte are counted in ``discarded`` and dropped (the device never
    sends any; on a real line they are noise). A reply whose CRC is wrong is returned with
    ``crc_ok`` False, so that the caller can tell line noise from a device error.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> list[Reply]:
        self._buf += data
        out: list[Reply] = []
        while True:
            start = self._buf.find(SYNC_REPLY)
            if start < 0:
                self.discarded += len(self._buf)
                self._buf.clear()
                return out
            if start:
                self.discarded += start
                del self._buf[:start]
            if len(self._buf) < 1 + REPLY_HEADER:
                return out
            cmd, tag, status, length = struct.unpack_from("<BBBH", self._buf, 1)
            total = 1 + REPLY_HEADER + length + CRC_BYTES
            if len(self._buf) < total:
                return out
            body = bytes(self._buf[1:total])
            payload = body[REPLY_HEADER : REPLY_HEADER + length]
            out.append(Reply(cmd, tag, status, payload, crc16(body) == 0))
            del self._buf[:total]

    @property
    def pending(self) -> int:
        """Bytes of an incomplete reply held back."""
        return len(self._buf)

    def clear(self) -> None:
        self._buf.clear()
