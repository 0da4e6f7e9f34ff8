"""pyproject.toml, environment.yml and binder/ describe one environment; importing is light."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

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


def test_import_is_light():
    code = ("import sys, rnnexplore, rnnexplore.parallel, rnnexplore.cli; "
            "heavy = [m for m in ('torch', 'ipywidgets', 'matplotlib', 'dask') if m in sys.modules]; "
            "print(','.join(heavy))")
    try:
        import rnnexplore.cycles  # noqa: F401  (engine present: check it too)
        code = code.replace("rnnexplore.cli;", "rnnexplore.cli, rnnexplore.models, rnnexplore.cycles;")
    except ImportError:
        pass
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing the computation layer pulled in: {out.stdout}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert "make test" in ci
