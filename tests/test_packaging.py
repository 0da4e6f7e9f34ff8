"""pyproject.toml, environment.yml and binder/ describe one environment; importing is light."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_GROUPS = ["jupyter", "torch", "parallel", "app"]
# pip name -> conda-forge name
CONDA_NAME = {"torch": "pytorch-cpu", "dask": "distributed"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$", req)
    return m.group(1).lower(), m.group(3).replace(" ", "")


def _pyproject_runtime() -> dict[str, str]:
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(proj["dependencies"])
    for g in RUNTIME_GROUPS:
        reqs += proj["optional-dependencies"][g]
    out = {}
    for r in reqs:
        name, spec = _split(r)
        out[CONDA_NAME.get(name, name)] = spec
    return out


def _conda(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    assert env["channels"] == ["conda-forge"], f"{path}: use conda-forge only"
    out = {}
    for dep in env["dependencies"]:
        assert isinstance(dep, str), f"{path}: no pip section, please ({dep})"
        name, spec = _split(dep.replace("=", "==", 1) if re.match(r"^[\w.-]+=[^=]", dep) else dep)
        if name in ("python", "pip"):
            continue
        out[name] = spec
    return out


def test_environment_files_agree_with_pyproject():
    want = _pyproject_runtime()
    for path in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml"):
        assert _conda(path) == want, f"{path.relative_to(ROOT)} disagrees with pyproject.toml"


def test_binder_uses_python_311_and_cpu_torch():
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert any(str(d).startswith("pytorch-cpu") for d in env["dependencies"])
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "--no-deps" in post, "postBuild must not let pip replace the conda torch"
    assert "overrides.json" in post


COMPUTATION = ["rnnexplore", "rnnexplore.parallel", "rnnexplore.cli", "rnnexplore.dynamics",
               "rnnexplore.dynamics.models", "rnnexplore.dynamics.cycles", "rnnexplore.dynamics.orbits", "rnnexplore.dynamics.solve",
               "rnnexplore.dynamics.projection", "rnnexplore.dynamics.events",
               "rnnexplore.dynamics.bifurcation", "rnnexplore.dynamics.training",
               "rnnexplore.dynamics.training.data", "rnnexplore.dynamics.training.replay",
               "rnnexplore.featurequality", "rnnexplore.apps", "rnnexplore.apps.explorer",
               "rnnexplore.apps.bifurcation", "rnnexplore.apps.replay", "rnnexplore.apps.featurequality"]


def _imported_by(modules: list[str]) -> set[str]:
    code = ("import importlib, sys, json; "
            f"[importlib.import_module(m) for m in {modules!r}]; "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    return set(json.loads(out.stdout))


def test_import_is_light():
    """`import rnnexplore` and the numpy-only computation pull no torch, widgets, matplotlib or dask."""
    loaded = _imported_by(COMPUTATION)
    heavy = sorted(m for m in loaded if m.split(".")[0] in ("torch", "ipywidgets", "matplotlib", "dask"))
    assert heavy == [], f"importing the computation layer pulled in: {sorted({h.split('.')[0] for h in heavy})}"
    assert not any(m.startswith("rnnexplore.widgets.") for m in loaded)


def _package_modules() -> list[Path]:
    return sorted(p for p in (ROOT / "rnnexplore").rglob("*.py"))


def _top_level_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) of the imports a module runs at import time (not inside functions)."""
    import ast

    tree = ast.parse(path.read_text())
    out = []
    for node in tree.body:  # module level only
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            mod = node.module if node.level == 0 else f"<relative>.{node.module}"
            out.append((mod, [a.name for a in node.names]))
    return out


def test_layering_computation_never_imports_views():
    """Nothing outside widgets/ imports widgets, ipywidgets or matplotlib at import time."""
    for path in _package_modules():
        rel = path.relative_to(ROOT / "rnnexplore").as_posix()
        if rel.startswith("widgets/"):
            continue
        for mod, _ in _top_level_imports(path):
            top = mod.split(".")[0]
            assert top not in ("ipywidgets", "matplotlib", "IPython", "ipympl"), f"{rel} imports {mod}"
            assert not mod.startswith("rnnexplore.widgets"), f"{rel} imports {mod}"


def test_widgets_import_no_private_names_of_computation():
    """Views use the public surface of the computation (no `from rnnexplore.x import _private`)."""
    import ast

    for path in sorted((ROOT / "rnnexplore" / "widgets").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnnexplore"):
                if node.module.startswith("rnnexplore.widgets"):
                    continue
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"widgets/{path.name} imports private {private} from {node.module}"


def test_facade_names_resolve():
    import rnnexplore as rx

    for name in rx.__all__:
        assert getattr(rx, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute"):
        rx.not_a_name  # noqa: B018


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert "make test" in ci
