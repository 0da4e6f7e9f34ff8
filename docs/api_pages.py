"""Write the API reference pages from the public names (run by conf.py at every build).

Every name in ``rnnexplore.__all__`` (the facade) gets an autosummary entry and its own page,
``rnnexplore.<name>``, grouped by the module that defines it. The facade's namespaces
(``rnnexplore.dynamics``, ``.featurequality``, ``.apps``, ``.widgets``, ``.parallel``, and the
namespaces they export, such as ``rnnexplore.dynamics.training``) are walked too: their public names
that are not the facade's objects are documented as ``rnnexplore.<namespace>.<name>``. Nothing is
listed by hand, so the reference cannot fall behind the facade; tests/e2e/test_docs.py checks that
every name has a page.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

FACADE = "rnnexplore"

# titles of the groups, by module prefix (longest prefix wins); unknown modules use their name
TITLES = {
    "rnnexplore.dynamics": "Dynamics of ReLU RNNs",
    "rnnexplore.dynamics.training": "Training and replays",
    "rnnexplore.featurequality": "Feature quality",
    "rnnexplore.apps": "App states (widget-free, scriptable)",
    "rnnexplore.widgets": "Widgets (views over the app states)",
    "rnnexplore.plotting": "Static figures (matplotlib)",
    "rnnexplore.parallel": "Parallel execution",
    "rnnexplore.cli": "Command line",
}


def _public(module) -> list[str]:
    return [n for n in getattr(module, "__all__", []) if not (n.startswith("__") and n.endswith("__"))]


def documented() -> tuple[list[tuple[str, object]], list[str]]:
    """``(entries, namespaces)``: every documented ``(qualified name, object)`` (facade first, then
    the namespaces' own names, each object once) and the namespace modules walked."""
    entries: list[tuple[str, object]] = []
    seen: set[int] = set()
    namespaces: list[str] = []
    queue = [FACADE]
    while queue:
        ns = queue.pop(0)
        namespaces.append(ns)
        mod = importlib.import_module(ns)
        for name in _public(mod):
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                if obj.__name__.startswith(FACADE) and obj.__name__ not in namespaces + queue:
                    queue.append(obj.__name__)
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            entries.append((f"{ns}.{name}", obj))
    return entries, namespaces


def defining_module(qualname: str, obj: object) -> str:
    """Module that defines ``obj`` (for data: the deepest rnnexplore module exporting it)."""
    ns, name = qualname.rsplit(".", 1)
    mod = getattr(obj, "__module__", None) if (inspect.isclass(obj) or callable(obj)) else None
    if mod and mod.startswith(FACADE):
        return mod
    for mname, m in sorted(sys.modules.items(), key=lambda kv: -len(kv[0])):
        if mname.startswith(FACADE) and m is not None and name in getattr(m, "__all__", ()):
            if getattr(m, name, None) is obj:
                return mname
    return ns


def _title(module: str) -> str:
    best = max((p for p in TITLES if module == p or module.startswith(p + ".")), key=len,
               default=None)
    return TITLES[best] if best else module


def _summary(module: str) -> str:
    doc = inspect.getdoc(importlib.import_module(module)) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def groups() -> dict[str, dict[str, list[str]]]:
    """``{title: {module: [qualified public names]}}``, ordered by title then module."""
    out: dict[str, dict[str, list[str]]] = {}
    for qualname, obj in documented()[0]:
        mod = defining_module(qualname, obj)
        out.setdefault(_title(mod), {}).setdefault(mod, []).append(qualname)
    order = list(TITLES.values())
    return {t: dict(sorted(out[t].items()))
            for t in sorted(out, key=lambda t: (order.index(t) if t in order else len(order), t))}


def write(api_dir: Path) -> None:
    lines = [
        "# API reference",
        "",
        "The most used names are importable from the facade, `import rnnexplore as rx` then",
        "`rx.<name>` (loaded on first use, so `import rnnexplore` stays light); the others live",
        "in their namespaces, `rx.dynamics`, `rx.featurequality`, `rx.apps`, `rx.widgets`,",
        "`rx.plotting` and `rx.parallel`, listed under their full names. Each page is generated",
        "from the numpydoc docstring; the examples on it run as doctests in the test suite.",
        "",
    ]
    grouped = groups()
    for title, modules in grouped.items():
        lines += [f"## {title}", ""]
        for module, names in modules.items():
            summary = _summary(module)
            lines += [f"### `{module}`", ""] + ([summary, ""] if summary else [])
            lines += ["```{eval-rst}", ".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
            lines += [f"   {n}" for n in names] + ["```", ""]
    api_dir.mkdir(exist_ok=True)
    # pages of names that left the facade must not linger (they would be orphans)
    wanted = {f"{n}.rst" for mods in grouped.values() for ns in mods.values() for n in ns}
    for old in (api_dir / "generated").glob("*.rst"):
        if old.name not in wanted:
            old.unlink()
    text = "\n".join(lines)
    index = api_dir / "index.md"
    if not index.exists() or index.read_text() != text:  # unchanged file: no needless rebuild
        index.write_text(text)
