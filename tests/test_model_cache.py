"""The simulator-model cache of ``plasticore.cosim.runner.build_model``: build once, prune Verilator's
intermediates, reuse afterwards, and report a failed build with its log."""

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from plasticore.cosim.runner import MAKE_VARIABLES, ROOT, build_model, model_lock, with_make_variables


class RecordingRunner:
    """Stands in for cocotb's runner: writes what a Verilator build leaves behind, or fails."""

    def __init__(self, fail_with: str | None = None):
        self.fail_with = fail_with
        self.builds = 0

    def build(self, sources, hdl_toplevel, build_dir, waves, build_args, log_file):
        self.builds += 1
        Path(log_file).write_text("verilator ...\nmake ...\n" + (self.fail_with or "done") + "\n")
        if self.fail_with:
            raise RuntimeError("Command failed with return code: 2")
        for name in (
            "Vtop__pch.h.fast.gch",
            "Vtop__pch.h.slow.gch",
            "Vtop__ALL.a",
            "Vtop.o",
            "Vtop.cpp",
            "Vtop.h",
            "Vtop__ver.d",
            hdl_toplevel,
        ):
            (Path(build_dir) / name).write_bytes(b"x")


def _verilog() -> str:
    return "module top; endmodule\n"


def test_a_verilator_model_is_built_once_and_keeps_only_its_executable(tmp_path):
    runner = RecordingRunner()
    build_model(runner, tmp_path, "top", _verilog, waves=False, sim="verilator")
    build_model(runner, tmp_path, "top", _verilog, waves=False, sim="verilator")
    assert runner.builds == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".built", "build.log", "top", "top.v"]


def test_a_failed_build_reports_the_end_of_its_log_and_is_not_marked_built(tmp_path):
    runner = RecordingRunner(fail_with="fatal error: No space left on device")
    with pytest.raises(RuntimeError, match="No space left on device") as info:
        build_model(runner, tmp_path, "top", _verilog, waves=False, sim="verilator")
    assert "MiB free" in str(info.value)
    assert not (tmp_path / ".built").exists()
    with pytest.raises(RuntimeError):
        build_model(runner, tmp_path, "top", _verilog, waves=False, sim="verilator")
    assert runner.builds == 2


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("outer", ["", "w", " -j2 --jobserver-auth=3,4", "s -- OPT_FAST=-O0"])
def test_make_variables_reach_a_makefile_that_assigns_them_and_a_callers_choice_stays(tmp_path, outer):
    """verilated.mk assigns OPT_FAST itself; only a command-line override (which MAKEFLAGS
    assignments are) replaces it, also behind the flags an outer make leaves in MAKEFLAGS."""
    (tmp_path / "Makefile").write_text(
        "OPT_FAST = -Os\nOPT_GLOBAL = -Os\nall:\n\t@echo opt: $(OPT_FAST) $(OPT_GLOBAL)\n"
    )
    flags = with_make_variables(outer, MAKE_VARIABLES)
    env = {**os.environ, "MAKEFLAGS": flags}
    out = subprocess.run(["make", "-s", "-C", str(tmp_path)], env=env, capture_output=True, text=True, check=True)
    expected = "-O0 -O1" if "OPT_FAST=-O0" in outer else "-O1 -O1"
    [line] = [line for line in out.stdout.splitlines() if line.startswith("opt:")]
    assert line.split()[1:] == expected.split()
    assert with_make_variables(flags, MAKE_VARIABLES) == flags  # idempotent


def test_a_model_directory_is_held_by_one_process_at_a_time(tmp_path):
    """Two pytest-xdist workers that need the same model: the second waits until the first has
    built it (here: until the holder has written its file and let go)."""
    bdir, done = tmp_path / "model", tmp_path / "done"
    code = (
        "import pathlib, sys\nfrom plasticore.cosim.runner import model_lock\n"
        f"with model_lock(pathlib.Path({str(bdir)!r})):\n"
        "    print('held', flush=True)\n    sys.stdin.readline()\n"
        f"    pathlib.Path({str(done)!r}).write_text('built')\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        seen = []
        acquired = threading.Event()

        def take():
            with model_lock(bdir):
                seen.append(done.exists())
                acquired.set()

        waiter = threading.Thread(target=take)
        waiter.start()
        assert not acquired.wait(0.5), "the lock was taken while another process held it"
        holder.stdin.write("go\n")
        holder.stdin.flush()
        waiter.join(30)
        assert acquired.is_set() and seen == [True]
    finally:
        holder.stdin.close()
        assert holder.wait(30) == 0
