"""The simulator-model cache of ``cosim.runner.build_model``: build once, prune Verilator's
intermediates, reuse afterwards, and report a failed build with its log."""

from pathlib import Path

import pytest

from cosim.runner import build_model


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
        for name in ("Vtop__pch.h.fast.gch", "Vtop__pch.h.slow.gch", "Vtop__ALL.a", "Vtop.o",
                     "Vtop.cpp", "Vtop.h", "Vtop__ver.d", hdl_toplevel):
            (Path(build_dir) / name).write_bytes(b"x")


def test_a_verilator_model_is_built_once_and_keeps_only_its_executable(tmp_path):
    source = tmp_path / "top.v"
    source.write_text("module top; endmodule\n")
    runner = RecordingRunner()
    build_model(runner, source, "top", tmp_path, waves=False, sim="verilator")
    build_model(runner, source, "top", tmp_path, waves=False, sim="verilator")
    assert runner.builds == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".built", "build.log", "top", "top.v"]


def test_a_failed_build_reports_the_end_of_its_log_and_is_not_marked_built(tmp_path):
    source = tmp_path / "top.v"
    source.write_text("module top; endmodule\n")
    runner = RecordingRunner(fail_with="fatal error: No space left on device")
    with pytest.raises(RuntimeError, match="No space left on device") as info:
        build_model(runner, source, "top", tmp_path, waves=False, sim="verilator")
    assert "MiB free" in str(info.value)
    assert not (tmp_path / ".built").exists()
    with pytest.raises(RuntimeError):
        build_model(runner, source, "top", tmp_path, waves=False, sim="verilator")
    assert runner.builds == 2
