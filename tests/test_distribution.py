"""The wheel and sdist: what they hold, and a wheel installed into a fresh venv works.

The build runs on a copy of the tracked files (so nothing is written into the checkout); the fresh
venv installs the wheel with the ``jupyter`` extra, constrained to requirements.lock, and runs from a
directory outside the checkout with ``PYTHONPATH`` removed, so only the installed copy is importable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _version() -> str:
    import rnnexplore

    return rnnexplore.__version__


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [f for f in out.stdout.decode().split("\0") if f and (ROOT / f).is_file()]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("build")
    src = tmp_path_factory.mktemp("src")
    for f in _tracked_files():
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, src / f)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, env=_clean_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the SPDX licence form: no licence deprecation warning from setuptools any more
    assert "License classifiers are deprecated" not in proc.stderr + proc.stdout
    assert "project.license` as a TOML table is deprecated" not in proc.stderr + proc.stdout
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def _package_data() -> set[str]:
    """Tracked non-Python files inside the package (saved sweeps, presets, ...)."""
    return {f for f in _tracked_files() if f.startswith("rnnexplore/") and not f.endswith(".py")}


def test_wheel_holds_the_package_and_its_data_and_no_tests(dists):
    v = _version()
    assert dists["wheel"].name == f"rnnexplore-{v}-py3-none-any.whl"
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    py = {f for f in _tracked_files() if f.startswith("rnnexplore/") and f.endswith(".py")}
    assert py <= names, f"missing modules: {sorted(py - names)}"
    assert _package_data() <= names, f"missing package data: {sorted(_package_data() - names)}"
    assert not [n for n in names if n.startswith(("tests/", "notebooks/", "docs/", "benchmarks/"))]
    meta = zipfile.ZipFile(dists["wheel"]).read(f"rnnexplore-{v}.dist-info/METADATA").decode()
    assert f"Version: {v}\n" in meta
    assert "License-Expression: MIT\n" in meta
    assert f"rnnexplore-{v}.dist-info/licenses/LICENSE" in names


def test_sdist_holds_the_package_licence_citation_and_no_tests(dists):
    v = _version()
    with tarfile.open(dists["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for f in ("pyproject.toml", "README.md", "LICENSE", "CITATION.cff"):
        assert f in names
    assert dists["sdist"].name == f"rnnexplore-{v}.tar.gz"
    assert _package_data() <= names
    assert not [n for n in names if n.split("/")[0] in ("tests", "notebooks", "docs", "benchmarks")]


def test_version_has_one_source():
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in proj["project"] and "version" in proj["project"]["dynamic"]
    assert proj["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "rnnexplore.__version__"}
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["version"] == _version(), "CITATION.cff's version must follow rnnexplore.__version__"


def test_licence_and_citation():
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert proj["license"] == "MIT" and proj["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["license"] == "MIT" and cff["type"] == "software"
    for key in ("message", "title", "authors"):
        assert cff[key]
    refs = {r["title"]: r for r in cff["references"]}
    # the two papers the kit implements (docs and README cite the same arXiv numbers)
    ids = {r["title"]: r["identifiers"][0]["value"] for r in refs.values()}
    assert ids == {"Bifurcations and loss jumps in RNN training": "arXiv:2310.17561",
                   "Disentangling Feature Learning from Generalization in Neural Networks":
                       "arXiv:2507.19680"}
    for r in refs.values():
        assert all(a.get("family-names") for a in r["authors"]) and r["year"]
    readme = (ROOT / "README.md").read_text()
    assert "2310.17561" in readme and "2507.19680" in readme and "CITATION.cff" in readme


def _installer(py: Path) -> list[str]:
    """uv (what the Makefile installs with) if this environment has it, else pip."""
    uv = Path(sys.executable).with_name("uv")
    uv = str(uv) if uv.exists() else shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--quiet", "--python", str(py)]
    return [str(py), "-m", "pip", "install", "--quiet"]


def _distributions(py: Path, env: dict[str, str], cwd: Path) -> dict[str, str]:
    from packaging.utils import canonicalize_name

    code = ("import importlib.metadata as m, json; "
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, env=env, cwd=cwd,
                         check=True)
    return {canonicalize_name(k): v for k, v in json.loads(out.stdout).items()}


def test_wheel_installs_into_a_fresh_venv_and_works(dists, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = _clean_env()
    lock = ROOT / "requirements.lock"
    seeded = _distributions(py, env, tmp_path)
    proc = subprocess.run(_installer(py) + [f"{dists['wheel']}[jupyter]", "-c", str(lock)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # what got installed is what the lock pins (the lock constrains every dependency; pip and
    # setuptools came with the venv itself)
    from packaging.utils import canonicalize_name

    pins = {canonicalize_name(line.split("==")[0]): line.split("==")[1].strip()
            for line in lock.read_text().splitlines() if "==" in line and not line.startswith(" ")}
    installed = _distributions(py, env, tmp_path)
    added = {n: v for n, v in installed.items() if n not in seeded}
    off = {n: (v, pins[n]) for n, v in added.items() if n in pins and pins[n] != v}
    assert not off, f"installed versions differ from requirements.lock: {off}"
    assert added["rnnexplore"] == _version() and len(set(added) & set(pins)) > 50

    doctor = subprocess.run([str(venv / "bin" / "rnnexplore"), "doctor", "--json"],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    rep = json.loads(doctor.stdout)
    assert doctor.returncode == 0, rep["problems"]
    assert rep["prefix"] == str(venv)
    assert rep["versions"]["rnnexplore"] == _version()
    assert all(f["in_kernel_env"] for f in rep["frontends"].values())

    # one find_cycles from the installed copy, checked against the closed form: the 1-D PLRNN
    # z' = 0.5 z - relu(z) + 1 has one fixed point, z* = 2/3 in the region z > 0 (slope -0.5,
    # stable); the region z <= 0 would need z = 2, and no 2-cycle exists (z1 = 1.2 gives z2 = 0.4,
    # not <= 0)
    code = (
        "import json\n"
        "import rnnexplore as rx\n"
        "cs = rx.find_cycles(rx.PLRNN([0.5], [[-1.0]], [1.0]), 2, seed=0)\n"
        "print(json.dumps({'file': rx.__file__, 'sweeps': [str(p) for p in"
        " map(rx.featurequality.saved_sweep_path, rx.featurequality.SAVED_SWEEPS)],"
        " 'objects': [[c.order, c.points.ravel().tolist(), c.stability] for c in cs]}))\n"
    )
    run = subprocess.run([str(py), "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    assert Path(out["file"]).is_relative_to(venv), f"imported {out['file']}, not the wheel"
    # the saved sweeps are package data of the installed copy
    assert out["sweeps"] and all(Path(p).is_relative_to(venv) and Path(p).is_file()
                                 for p in out["sweeps"])
    assert len(out["objects"]) == 1
    order, points, stability = out["objects"][0]
    assert order == 1 and points == pytest.approx([2 / 3]) and stability == "stable"
