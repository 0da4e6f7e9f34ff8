"""pyproject.toml, requirements.lock, environment.yml and binder/ describe one environment;
importing is light."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

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


def _lock() -> tuple[dict[str, Version], dict[str, set[str]]]:
    """``(pins, via)``: pinned version and the "# via" sources of every package in the lock."""
    pins: dict[str, Version] = {}
    via: dict[str, set[str]] = {}
    current = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            assert "==" in line and ";" not in line, f"requirements.lock: not an exact pin: {line}"
            name, version = line.split("==")
            current = canonicalize_name(name)
            assert current not in pins, f"requirements.lock pins {current} twice"
            pins[current], via[current] = Version(version), set()
        else:
            src = line.strip().lstrip("#").strip()
            src = src[len("via"):].strip() if src.startswith("via") else src
            if src:
                via[current].add(src)
    return pins, via


def _pyproject_all() -> list[Requirement]:
    """Every requirement that ``pip install .[all]`` asks for directly."""
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = proj["optional-dependencies"]
    (self_ref,) = extras["all"]
    groups = Requirement(self_ref).extras
    assert groups == set(extras) - {"all"}, "the extra 'all' must include every other extra"
    reqs = [Requirement(r) for r in proj["dependencies"]]
    for g in sorted(groups):
        reqs += [Requirement(r) for r in extras[g]]
    return reqs


def test_lock_pins_every_requirement_within_its_range():
    pins, _ = _lock()
    for req in _pyproject_all():
        name = canonicalize_name(req.name)
        assert name in pins, f"requirements.lock lacks {name}: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]} outside pyproject's {req}: run `make lock`")


def test_lock_was_made_from_this_pyproject():
    # uv records which pyproject requirement pulled each package in; a requirement added to or
    # removed from pyproject.toml since the last `make lock` shows up here (no network needed)
    _, via = _lock()
    direct = {n for n, srcs in via.items() if "rnnexplore (pyproject.toml)" in srcs}
    want = {canonicalize_name(r.name) for r in _pyproject_all()}
    assert direct == want, (f"requirements.lock is stale (only in lock: {sorted(direct - want)}, "
                            f"only in pyproject: {sorted(want - direct)}): run `make lock`")


def test_lock_has_cpu_torch_and_satisfies_binder():
    pins, _ = _lock()
    makefile = (ROOT / "Makefile").read_text()
    m = re.search(r"^TORCH_CPU\s*:=\s*torch==(\S+)$", makefile, re.M)
    assert m, "Makefile: TORCH_CPU := torch==<version>+cpu"
    assert str(pins["torch"]) == m.group(1) and pins["torch"].local == "cpu", (
        f"requirements.lock pins torch {pins['torch']}, the Makefile installs {m.group(1)} first")
    # Binder and conda users resolve the same ranges from conda-forge: the locked versions must be
    # admissible there too
    for path in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml"):
        for name, spec in _conda(path).items():
            pip_name = {v: k for k, v in CONDA_NAME.items()}.get(name, name)
            pinned = pins[canonicalize_name(pip_name)]
            assert SpecifierSet(spec).contains(pinned, prereleases=True), (
                f"{path.relative_to(ROOT)}: {name}{spec} excludes the locked {pinned}")


def test_every_install_path_uses_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    stamp = makefile[makefile.index("$(STAMP):"):makefile.index("\n\n", makefile.index("$(STAMP):"))]
    assert "$(LOCK)" in stamp.splitlines()[0], "the install stamp must depend on the lock"
    assert "-r $(LOCK)" in stamp and "--no-deps -e ." in stamp, (
        "the stamp rule must install the locked versions, then the package without resolving")
    for target in ("lab", "test", "test-fast", "docs"):
        m = re.search(rf"^{re.escape(target)}:([^\n]*)$", makefile, re.M)
        assert m and "$(STAMP)" in m.group(1), f"make {target} must depend on the locked install"
    assert re.search(r"^lock:", makefile, re.M), "make lock refreshes requirements.lock"


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
