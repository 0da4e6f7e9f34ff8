"""Write the API reference pages from the public names (run by conf.py at every build).

Every name in ``rnnexplore.__all__`` (the facade) and in ``rnnexplore.widgets.__all__`` (the views,
kept out of the facade so that ``import rnnexplore`` stays light) gets an autosummary entry and its
own page, grouped by the module that defines it. Nothing is listed by hand, so the reference cannot
fall behind the facade; tests/e2e/test_docs.py checks that every name has a page.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

NAMESPACES = ["rnnexplore", "rnnexplore.widgets"]

# titles of the groups, by module prefix (longest prefix wins); unknown modules use their name
TITLES = {
    "rnnexplore.dynamics": "Dynamics of ReLU RNNs",
    "rnnexplore.dynamics.training": "Training and replays",
    "rnnexplore.featurequality": "Feature quality",
    "rnnexplore.apps": "App states (widget-free, scriptable)",
    "rnnexplore.widgets": "Widgets (views over the app states)",
    "rnnexplore.parallel": "Parallel execution",
    "rnnexplore.cli": "Command line",
}


def public_names(namespace: str) -> list[str]:
    mod = importlib.import_module(namespace)
    return [n for n in getattr(mod, "__all__", []) if not (n.startswith("__") and n.endswith("__"))]


def defining_module(namespace: str, name: str) -> str:
    """Module that defines ``namespace.name`` (for data: the rnnexplore module exporting it)."""
    obj = getattr(importlib.import_module(namespace), name)
    mod = getattr(obj, "__module__", None) if (inspect.isclass(obj) or callable(obj)) else None
    if mod and mod.startswith("rnnexplore"):
        return mod
    for mname, m in sorted(sys.modules.items(), key=lambda kv: -len(kv[0])):
        if mname.startswith("rnnexplore") and m is not None and name in getattr(m, "__all__", ()):
            if getattr(m, name, None) is obj and mname != namespace:
                return mname
    return namespace


def _title(module: str) -> str:
    best = max((p for p in TITLES if module == p or module.startswith(p + ".")), key=len,
               default=None)
    return TITLES[best] if best else module


def _summary(module: str) -> str:
    doc = inspect.getdoc(importlib.import_module(module)) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def groups() -> dict[str, dict[str, list[str]]]:
    """``{title: {module: [qualified public names]}}`` in a stable order."""
    out: dict[str, dict[str, list[str]]] = {}
    for ns in NAMESPACES:
        for name in public_names(ns):
            mod = defining_module(ns, name)
            out.setdefault(_title(mod), {}).setdefault(mod, []).append(f"{ns}.{name}")
    return out


def write(api_dir: Path) -> None:
    lines = [
        "# API reference",
        "",
        "Everything below is importable from the facade, `import rnnexplore as rx` then",
        "`rx.<name>`, except the widgets (`from rnnexplore.widgets import ...`), which pull in",
        "ipywidgets and matplotlib and so stay out of the light top-level import. Each page is",
        "generated from the numpydoc docstring; the examples on it run as doctests in the suite.",
        "",
    ]
    for title, modules in groups().items():
        lines += [f"## {title}", ""]
        for module, names in modules.items():
            summary = _summary(module)
            lines += [f"### `{module}`", ""] + ([summary, ""] if summary else [])
            lines += ["```{eval-rst}", ".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
            lines += [f"   {n}" for n in names] + ["```", ""]
    api_dir.mkdir(exist_ok=True)
    text = "\n".join(lines)
    index = api_dir / "index.md"
    if not index.exists() or index.read_text() != text:  # unchanged file: no needless rebuild
        index.write_text(text)
