"""``dfu-suffix -v VID -p PID -a FILE``: append a DFU 1.1 file suffix (as dfu-util's tool does).

The OrangeCrab's bootloader loads bitstreams over USB DFU and the board's build script runs
``dfu-suffix`` on the bitstream. That tool is not on PyPI, so this module is the stand-in the
synthesis flow points ``DFU_SUFFIX`` at. Suffix (DFU 1.1, appendix B), little endian:
bcdDevice, idProduct, idVendor, bcdDFU = 0x0100, "UFD", bLength = 16, dwCRC, where dwCRC is
the CRC-32 of the file and the first 12 suffix bytes, without the final inversion.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path

__all__ = ["dfu_suffix", "main"]


def dfu_suffix(data: bytes, vendor: int, product: int, device: int = 0xFFFF) -> bytes:
    body = data + struct.pack("<HHHH", device, product, vendor, 0x0100) + b"UFD" + bytes([16])
    crc = zlib.crc32(body) ^ 0xFFFFFFFF
    return body + struct.pack("<I", crc)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="dfu-suffix", description=__doc__.splitlines()[0])
    p.add_argument("-v", "--vid", type=lambda s: int(s, 16), required=True)
    p.add_argument("-p", "--pid", type=lambda s: int(s, 16), required=True)
    p.add_argument("-d", "--did", type=lambda s: int(s, 16), default=0xFFFF)
    p.add_argument("-a", "--add", metavar="FILE", required=True)
    args = p.parse_args(argv)
    path = Path(args.add)
    data = path.read_bytes()
    if len(data) >= 16 and data[-8:-5] == b"UFD":
        print(f"dfu-suffix: {path} already has a DFU suffix", file=sys.stderr)
        return 1
    path.write_bytes(dfu_suffix(data, args.vid, args.pid, args.did))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
