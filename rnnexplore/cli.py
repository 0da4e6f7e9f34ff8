"""Command line: ``rnnexplore lab | app | doctor | cycles``.

Examples
--------
::

    rnnexplore lab                 # JupyterLab on notebooks/00_start_here.ipynb, 127.0.0.1
    rnnexplore app                 # the stand-alone cycle explorer (Voila)
    rnnexplore app --which bifurcation   # the bifurcation-map app (or: replay, featurequality)
    rnnexplore doctor              # versions + are the widget front-ends in this environment?
    rnnexplore cycles model.json --max-order 8 --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["main", "find_notebooks_dir", "doctor_report"]

START_NOTEBOOK = "00_start_here.ipynb"
APP_NOTEBOOK = "app_explorer.ipynb"
#: ``rnnexplore app --which NAME`` -> the Voila notebook it serves
APP_NOTEBOOKS = {"explorer": APP_NOTEBOOK, "bifurcation": "app_bifurcation.ipynb", "replay": "app_replay.ipynb",
                 "featurequality": "app_featurequality.ipynb"}

# (python distribution, lab extension folder name) pairs whose front-end must sit in the
# kernel's environment, else the notebook shows "Error displaying widget".
_FRONTENDS = [
    ("ipywidgets", "@jupyter-widgets/jupyterlab-manager"),
    ("ipympl", "jupyter-matplotlib"),
]


def find_notebooks_dir() -> Path:
    """The ``notebooks/`` folder of this checkout (editable install) or of the current directory."""
    candidates = [Path(__file__).resolve().parents[1] / "notebooks", Path.cwd() / "notebooks"]
    for c in candidates:
        if (c / START_NOTEBOOK).is_file():
            return c
    raise SystemExit(
        "rnnexplore: cannot find notebooks/00_start_here.ipynb; run from the rnnexplore checkout "
        "(git clone ... && cd rnnexplore)"
    )


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _labextension_dirs() -> list[Path]:
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return [Path(sys.prefix) / "share" / "jupyter" / "labextensions"]
    return [Path(p) for p in jupyter_path("labextensions")]


def doctor_report() -> dict:
    """Collect versions and front-end extension status for the current environment.

    Returns
    -------
    dict
        ``{"python": ..., "prefix": ..., "versions": {dist: version|None},
        "frontends": {dist: {"found": path|None, "in_kernel_env": bool, "version": ...}},
        "problems": [str, ...]}``
    """
    dists = ["rnnexplore", "jupyterlab", "ipywidgets", "ipympl", "ipykernel", "torch",
             "numpy", "scipy", "matplotlib", "voila", "dask", "distributed", "tqdm"]
    versions = {d: _version(d) for d in dists}
    problems = []
    for d in ("jupyterlab", "ipywidgets", "ipympl"):
        if versions[d] is None:
            problems.append(f"{d} is not installed in {sys.prefix} (pip install 'rnnexplore[jupyter]')")
    frontends = {}
    own_prefix = Path(sys.prefix).resolve()
    dirs = _labextension_dirs()
    for dist, ext in _FRONTENDS:
        found = None
        for d in dirs:
            if (d / ext / "package.json").is_file():
                found = d / ext
                break
        ext_version = None
        if found is not None:
            try:
                ext_version = json.loads((found / "package.json").read_text()).get("version")
            except (OSError, ValueError):
                ext_version = None
        in_env = found is not None and own_prefix in found.resolve().parents
        frontends[dist] = {"extension": ext, "found": str(found) if found else None,
                           "in_kernel_env": in_env, "version": ext_version}
        if found is None:
            problems.append(f"front-end extension {ext} (for {dist}) not found: widgets will show "
                            f"'Error displaying widget'; reinstall {dist} in this environment")
        elif not in_env:
            problems.append(f"front-end extension {ext} comes from {found}, outside the kernel's "
                            f"environment {sys.prefix}: run JupyterLab from this environment")
    return {"python": sys.executable, "prefix": sys.prefix, "versions": versions,
            "frontends": frontends, "problems": problems}


def _cmd_doctor(args: argparse.Namespace) -> int:
    rep = doctor_report()
    if args.json:
        print(json.dumps(rep, indent=2))
        return 0 if not rep["problems"] else 1
    print(f"python      {rep['python']}")
    print(f"environment {rep['prefix']}")
    for dist, v in rep["versions"].items():
        print(f"  {dist:<12} {v or 'not installed'}")
    print("widget front-ends:")
    for dist, f in rep["frontends"].items():
        state = "ok (same environment as the kernel)" if f["in_kernel_env"] else (
            "MISSING" if f["found"] is None else "found OUTSIDE the kernel's environment")
        ver = f" {f['version']}" if f["version"] else ""
        print(f"  {f['extension']:<38}{ver:<10} {state}")
    if rep["problems"]:
        print("problems:")
        for p in rep["problems"]:
            print(f"  - {p}")
        return 1
    print("all good")
    return 0


def _lab_command(port: int, no_browser: bool, extra: list[str] = ()) -> list[str]:
    nb_dir = find_notebooks_dir()
    cmd = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", f"--ServerApp.root_dir={nb_dir.parent}",
           "--ServerApp.port_retries=50",  # a busy port moves on to the next free one
           # the URL the server prints (and opens) is the start notebook, not the Launcher
           f"--LabApp.default_url=/lab/tree/notebooks/{START_NOTEBOOK}"]
    if no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers, Binder-like images and CI run as root
    return cmd + list(extra)


def _replace_process(cmd: list[str], cwd: Path | None = None) -> int:
    """Become the server process (signals such as Ctrl-C / SIGTERM reach it directly)."""
    if cwd is not None:
        os.chdir(cwd)
    if os.name == "posix":
        os.execv(cmd[0], cmd)
    return subprocess.call(cmd)  # pragma: no cover - Windows


def _cmd_lab(args: argparse.Namespace) -> int:
    cmd = _lab_command(args.port, args.no_browser, args.extra)
    print("starting:", " ".join(cmd), flush=True)
    return _replace_process(cmd, cwd=find_notebooks_dir().parent)


VOILA_TEMPLATE = "rnnexplore"


def app_command(which: str, port: int, no_browser: bool) -> list[str]:
    """The Voila command line serving the app notebook ``which`` (see :data:`APP_NOTEBOOKS`)."""
    if which not in APP_NOTEBOOKS:
        raise ValueError(f"which must be one of {sorted(APP_NOTEBOOKS)}, got {which!r}")
    # the package's own Voila template: no icon fonts or loaders from a CDN (offline classrooms)
    cmd = [sys.executable, "-m", "voila", str(find_notebooks_dir() / APP_NOTEBOOKS[which]), f"--port={port}",
           "--Voila.ip=127.0.0.1", f"--template={VOILA_TEMPLATE}"]
    if no_browser:
        cmd.append("--no-browser")
    return cmd


def app_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: os.environ) with the package's share/ folder on JUPYTER_PATH (its Voila template)."""
    env = dict(os.environ if env is None else env)
    share = str(Path(__file__).resolve().parent / "share")
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (share, env.get("JUPYTER_PATH", "")) if p)
    return env


def _cmd_app(args: argparse.Namespace) -> int:
    cmd = app_command(getattr(args, "which", "explorer"), args.port, args.no_browser)
    os.environ.update(app_environment())  # exec keeps the environment
    print("starting:", " ".join(cmd), flush=True)
    return _replace_process(cmd)


class _OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line on stderr (exit 2), like every other refusal of the command."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _cmd_cycles(argv: list[str]) -> int:
    """``rnnexplore cycles MODEL.json --max-order K [--json] [--seed S] [--mode M] [--budget B]
    [--box B] [--allow-long]``.

    Prints a table (or JSON with ``--json``) of every object up to order K and, per order, what
    is known: proven complete (enumerated / pruned / in a box) or heuristic with the solves
    spent, and any continuum of periodic points. Returns the exit code: 2 on a bad model file or
    argument (also for work estimated above about a minute without ``--allow-long``), 130 when
    interrupted (the objects found so far are printed).
    """
    parser = _OneLineParser(
        prog="rnnexplore cycles",
        description="Find all fixed points and k-cycles of a piecewise-linear RNN stored as JSON.",
    )
    parser.add_argument("model", help="model JSON file (see README: JSON model format)")
    parser.add_argument("--max-order", type=int, required=True, help="highest cycle order K")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--mode", choices=("fast", "reference"), default="fast")
    parser.add_argument("--budget", choices=("default", "interactive", "thorough"), default="default")
    parser.add_argument("--box", type=float, default=None,
                        help="also certify the orders the search could not prove, in [-BOX, BOX]^M")
    parser.add_argument("--allow-long", action="store_true",
                        help="run work estimated above about a minute instead of refusing it")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    import numpy

    from rnnexplore.dynamics.certify import certify_box
    from rnnexplore.dynamics.cycles import CycleSet, SearchInterrupted, find_cycles
    from rnnexplore.dynamics.models import load_model_json

    interrupted = False
    try:
        model = load_model_json(args.model)
        try:
            cs = find_cycles(model, args.max_order, seed=args.seed, mode=args.mode, budget=args.budget,
                             allow_long=args.allow_long)
        except SearchInterrupted as exc:
            cs, interrupted = exc.partial, True
        if args.box is not None and not interrupted:
            todo = [k for k, how in cs.proven.items() if how is None]
            if todo:
                cert = certify_box(model, max(todo), args.box, cycles=list(cs), min_order=min(todo))
                keep = [c for c in cs if c.order not in todo or c.key not in cert.keys()]
                merged = CycleSet(keep + [c for c in cert if c.order in todo], dict(cs.stats))
                proven = dict(cs.proven)
                for k in todo:
                    proven[k] = cert.proven.get(k)
                merged.stats.update(proven=proven, box=args.box, milp_solves=cert.stats["milp_solves"])
                cs = merged
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(cs.to_dict(), indent=1))
        return 130 if interrupted else 0
    print(f"{len(cs)} object(s) up to order {args.max_order} "
          f"({cs.stats['total_solves']} solves, {cs.stats['wall_time']:.3f} s)"
          + (" - INTERRUPTED, partial result" if interrupted else ""))
    for line in cs.summary():
        print(f"  {line}")
    heur = [k for k, how in cs.proven.items() if how is None]
    if heur and not interrupted:
        print(f"  orders {heur} are heuristic: more objects may exist (try --budget thorough, or --box B "
              "to certify a box)")
    print(f"{'order':>5}  {'stability':<9}  {'max|lambda|':>11}  {'first point':<30}  regions")
    for c in cs:
        pt = numpy.array2string(c.points[0], precision=4, separator=", ", suppress_small=True)
        print(f"{c.order:>5}  {c.stability:<9}  {c.max_abs_eigenvalue:>11.4g}  {pt:<30}  {c.key}")
    return 130 if interrupted else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rnnexplore`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="rnnexplore", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("lab", help="open JupyterLab on the start notebook (127.0.0.1); "
                       "further --Option=value arguments go to JupyterLab")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8888)))
    p.add_argument("--no-browser", action="store_true")
    p = sub.add_parser("app", help="serve a stand-alone app with Voila (default: the cycle explorer)")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--which", choices=sorted(APP_NOTEBOOKS), default="explorer",
                   help="explorer (cycle explorer), bifurcation (bifurcation maps) or replay (training replay)")
    p.add_argument("--no-browser", action="store_true")
    p = sub.add_parser("doctor", help="check the Jupyter set-up (versions, widget front-ends)")
    p.add_argument("--json", action="store_true")
    sub.add_parser("cycles", help="fixed points and cycles of a model file (see `cycles -h`)",
                   add_help=False)
    if argv[:1] == ["cycles"]:
        return _cmd_cycles(argv[1:])
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra  # `lab` passes further options (--LabApp.x=y) on to JupyterLab
    return {"lab": _cmd_lab, "app": _cmd_app, "doctor": _cmd_doctor}[args.command](args)
