"""The house rules of docs/architecture.md, checked on the source: rooms import only the rooms
below them, there is no import cycle, nothing imports a room by a bare top-level name, the host
driver runs without Amaranth, and the installed distribution adds only ``plasticore``."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: room -> the rooms it may import (besides itself). "app" is plasticore/'s own modules.
ALLOWED = {
    "golden": set(),
    "contract": {"golden"},
    "reference": set(),
    "tasks": set(),
    "training": {"golden", "reference", "tasks"},
    "hdl": {"golden", "contract"},
    "cosim": {"golden", "contract", "hdl"},
    "boards": {"golden", "contract", "hdl"},
    "app": {"golden", "contract", "reference", "tasks", "training", "hdl", "cosim", "boards"},
    "bench": {"golden", "contract", "reference", "tasks", "training", "hdl", "cosim", "boards", "app"},
}
ROOMS = [room for room in ALLOWED if room != "app"]
#: third-party packages a room may import (the standard library is always allowed); None: any.
THIRD_PARTY = {
    "golden": {"numpy"},
    "contract": {"numpy"},
    "reference": {"numpy"},
    "tasks": {"numpy", "sklearn", "gymnasium"},
    "training": {"numpy"},
}


def _module_files() -> dict[str, Path]:
    """Every module of the installed namespace, by its dotted name."""
    files: dict[str, Path] = {}
    for room in ROOMS:
        for path in (ROOT / room).rglob("*.py"):
            files[_dotted(path.relative_to(ROOT))] = path
    for path in (ROOT / "plasticore").rglob("*.py"):
        rel = path.relative_to(ROOT / "plasticore")
        if rel.parts[0] not in ROOMS:
            files[_dotted(Path("plasticore") / rel)] = path
    return files


def _dotted(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[0] != "plasticore":
        parts.insert(0, "plasticore")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else "app"


def _imports(module: str, path: Path) -> set[str]:
    """Every module named by an import statement anywhere in the file (lazy ones included)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            names.add(origin)
            names.update(f"{origin}.{alias.name}" for alias in node.names)
    return names


FILES = _module_files()
GRAPH = {module: _imports(module, path) for module, path in FILES.items()}


def test_every_room_is_a_package_with_a_one_line_purpose():
    for room in ROOMS:
        init = ROOT / room / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f"{room}/__init__.py has no docstring saying what the room is for"
        assert (ROOT / "plasticore" / room).resolve() == (ROOT / room), f"plasticore/{room} must link to {room}/"


def test_rooms_import_only_the_rooms_below_them():
    wrong = []
    for module, names in GRAPH.items():
        room = _room(module)
        for name in names:
            if name in FILES and _room(name) != room and _room(name) not in ALLOWED[room]:
                wrong.append(f"{module} ({room}) imports {name} ({_room(name)})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_room_is_imported_by_a_bare_top_level_name():
    """``import golden`` would load a second copy of the module beside ``plasticore.golden``."""
    wrong = [
        f"{module} imports {name}" for module, names in GRAPH.items() for name in names if name.split(".")[0] in ROOMS
    ]
    assert not wrong, "\n".join(sorted(wrong))


def test_low_rooms_use_only_their_third_party_packages():
    stdlib = sys.stdlib_module_names
    wrong = []
    for module, names in GRAPH.items():
        allowed = THIRD_PARTY.get(_room(module))
        if allowed is None:
            continue
        for name in names:
            top = name.split(".")[0]
            if top and top != "plasticore" and top not in stdlib and top not in allowed:
                wrong.append(f"{module} imports {name}")
    assert not wrong, "\n".join(sorted(wrong))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in graph), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_there_is_no_import_cycle_even_through_imports_inside_functions():
    graph = {module: {n for n in names if n in FILES and n != module} for module, names in GRAPH.items()}
    # a package's __init__ importing its own submodules is not a cycle of the code's layers
    for module in graph:
        graph[module] = {n for n in graph[module] if not n.startswith(module + ".")}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_host_driver_and_the_contract_run_without_amaranth():
    code = (
        "import sys\n"
        "import plasticore.host, plasticore.contract.system_map, plasticore.contract.frame_codec\n"
        "import plasticore.contract.cycles, plasticore.golden, plasticore.training.train\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('amaranth', 'cocotb'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_an_installed_wheel_holds_only_the_plasticore_package(tmp_path):
    """``pip install .`` adds what the wheel holds: ``plasticore`` (and its dist-info) only, with
    the top-level rooms inside it as real files."""
    src = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        origin, target = ROOT / name, src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():
            os.symlink(os.readlink(origin), target)
        elif origin.exists():
            shutil.copy2(origin, target)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0 and "No module named setuptools" in out.stderr:
        pytest.skip("setuptools is not installed in this environment")
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("plasticore-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"plasticore", next(t for t in tops if t.endswith(".dist-info"))}
    for room in ROOMS:
        assert f"plasticore/{room}/__init__.py" in names, f"the wheel lacks plasticore/{room}"
    assert "plasticore/golden/network.py" in names and "plasticore/contract/cycles.py" in names
