"""The serial line between host and board: its rate, shared by the board tops and the driver.

Pure Python, so the host driver opens a port at the boards' rate without importing Amaranth.
"""

from __future__ import annotations

__all__ = ["BAUD"]

#: the serial rate of every board (FTDI-class USB bridges run it reliably)
BAUD = 1_000_000
