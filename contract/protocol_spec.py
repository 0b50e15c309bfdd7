"""The host protocol's frame format: the one place its constants are written.

The RTL protocol engine (``hdl/protocol.py``), the sans-IO codec (``contract/frame_codec.py``), the
host driver (``plasticore/host.py``) and the co-simulation's reference model all import these
names, so a sync byte, a command code, an error code or the CRC is never written twice.
``docs/protocol.md`` explains them in prose.

Pure Python (stdlib only): the host side does not need Amaranth to speak the protocol.

Frames (all multi-byte fields little-endian except the CRC, which is sent high byte first)::

    request  SYNC_REQUEST cmd tag len_lo len_hi payload[len]        crc_hi crc_lo
    reply    SYNC_REPLY   cmd tag status len_lo len_hi payload[len] crc_hi crc_lo

The CRC (CRC-16/CCITT-FALSE) covers every byte after the sync byte up to the end of the
payload. Sent high byte first, the CRC makes the CRC of the whole frame after the sync byte
zero (the residue), which is what the RTL checks.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "SYNC_REQUEST",
    "SYNC_REPLY",
    "PROTOCOL_VERSION",
    "MAGIC",
    "Command",
    "Status",
    "Reg",
    "WRITABLE_REGS",
    "REG_BITS",
    "N_REGS",
    "REQUEST_HEADER",
    "REPLY_HEADER",
    "CRC_BYTES",
    "MEM_ARGS",
    "RUN_ARGS",
    "RUN_FLAG_LEARN",
    "RUN_FLAGS_KNOWN",
    "FIXED_LENGTHS",
    "MIN_FRAME_TIMEOUT",
    "MIN_WATCHDOG",
    "MIN_MAX_PAYLOAD",
    "MAX_LENGTH",
    "CRC_POLY",
    "CRC_INIT",
    "CRC_CHECK",
    "crc16",
    "crc16_update",
]

#: first byte of every request frame (host -> device)
SYNC_REQUEST = 0xA5
#: first byte of every reply frame (device -> host); differs from SYNC_REQUEST so that an echo
#: of a request is never taken for a reply
SYNC_REPLY = 0x5A
#: bumped when the frame format, a command or a register changes meaning
PROTOCOL_VERSION = 1
#: register MAGIC: the bytes "PLC1" (little-endian)
MAGIC = int.from_bytes(b"PLC1", "little")

#: request header bytes after the sync byte: cmd, tag, len_lo, len_hi
REQUEST_HEADER = 4
#: reply header bytes after the sync byte: cmd, tag, status, len_lo, len_hi
REPLY_HEADER = 5
CRC_BYTES = 2
#: the length field is 16 bits
MAX_LENGTH = 0xFFFF


class Command(IntEnum):
    """Request commands. Payload layouts (little-endian) are in docs/protocol.md."""

    NOP = 0x01  # -> empty reply: link check, resynchronisation
    READ_REG = 0x02  # index u8, count u8 -> count x u32
    WRITE_REG = 0x03  # index u8, value u32
    READ_MEM = 0x04  # region u8, addr u32, count u16 -> count words
    WRITE_MEM = 0x05  # region u8, addr u32, count u16, count words
    CLEAR_MEM = 0x06  # region u8, addr u32, count u16: the words become zero
    RUN = 0x07  # start u16, count u16, flags u8: run ticks from the input buffer


class Status(IntEnum):
    """Reply status. Any status but OK means the request changed nothing (see WATCHDOG)."""

    OK = 0x00
    CRC = 0x01  # the CRC of the request is wrong
    COMMAND = 0x02  # unknown command
    LENGTH = 0x03  # payload length wrong for the command, or above the device's max_payload
    RANGE = 0x04  # region, register, address, count, tick or flag out of range
    TIMEOUT = 0x05  # the frame was truncated: no byte for FRAME_TIMEOUT cycles
    READ_ONLY = 0x06  # write to a read-only register
    WATCHDOG = 0x07  # RUN: a tick did not finish within WATCHDOG cycles; the run stopped there
    BUSY = 0x08  # the core is still running a tick (one the watchdog gave up on): RUN and
    # core regions are refused until it finishes


class Reg(IntEnum):
    """The register file (32-bit registers), read with READ_REG, some written with WRITE_REG."""

    MAGIC = 0  # "PLC1"
    VERSION = 1  # PROTOCOL_VERSION
    IDENTITY = 2  # CRC-32 of the system map (config, regions, buffers): SystemMap.identity
    SIZES = 3  # n_in | n_rec << 16
    SHAPE = 4  # n_out | lanes << 8 | regions << 16 | core regions << 24
    BUFFERS = 5  # window (ticks) | max_payload << 16
    STATUS = 6  # bit 0: last run stopped by the watchdog; bit 1: core busy
    TICKS = 7  # ticks run since reset (the core's counter)
    TICK_CYCLES = 8  # cycles of the last tick (the core's counter)
    RUN_TICKS = 9  # ticks completed by the last RUN
    RUN_CORE_CYCLES = 10  # sum of the core's tick cycles over the last RUN
    RUN_CYCLES = 11  # cycles of the last RUN, start to reply, copying included
    FRAMES_OK = 12  # requests answered OK
    FRAMES_ERR = 13  # error replies sent
    CLOCK = 14  # cycles since reset (wraps)
    SCRATCH = 15  # free for the host (link tests)
    FRAME_TIMEOUT = 16  # cycles without a byte after which a partial frame is dropped
    WATCHDOG = 17  # cycles a tick may take before RUN gives up


N_REGS = len(Reg)
REG_BITS = 32
WRITABLE_REGS = frozenset({Reg.SCRATCH, Reg.FRAME_TIMEOUT, Reg.WATCHDOG})
#: smallest values WRITE_REG accepts (smaller ones are refused with RANGE: a frame timeout
#: shorter than a byte would cut every frame)
MIN_FRAME_TIMEOUT = 64
MIN_WATCHDOG = 16

#: bytes of the argument block of READ_MEM / WRITE_MEM / CLEAR_MEM: region u8, addr u32, count u16
MEM_ARGS = 7
#: bytes of RUN's payload: start u16, count u16, flags u8
RUN_ARGS = 5
RUN_FLAG_LEARN = 0x01
RUN_FLAGS_KNOWN = RUN_FLAG_LEARN

#: payload length of every command with a fixed length (WRITE_MEM: MEM_ARGS + data)
FIXED_LENGTHS = {
    Command.NOP: 0,
    Command.READ_REG: 2,
    Command.WRITE_REG: 5,
    Command.READ_MEM: MEM_ARGS,
    Command.CLEAR_MEM: MEM_ARGS,
    Command.RUN: RUN_ARGS,
}

#: the payload buffer must hold a whole register dump and a write of the widest word
MIN_MAX_PAYLOAD = 128

# -- CRC-16/CCITT-FALSE ------------------------------------------------------------------------
# width 16, poly 0x1021, init 0xFFFF, no reflection, xorout 0; check("123456789") = 0x29B1
CRC_POLY = 0x1021
CRC_INIT = 0xFFFF
CRC_CHECK = 0x29B1


def crc16_update(crc: int, byte: int) -> int:
    """One byte into the CRC register (MSB first), the reference the RTL is tested against."""
    crc ^= (byte & 0xFF) << 8
    for _ in range(8):
        crc = ((crc << 1) ^ CRC_POLY) if crc & 0x8000 else (crc << 1)
        crc &= 0xFFFF
    return crc


def crc16(data: bytes, crc: int = CRC_INIT) -> int:
    for b in data:
        crc = crc16_update(crc, b)
    return crc
