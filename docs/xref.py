"""Resolve the docstrings' Python cross-references to the pages the API reference really has.

Docstrings name objects where they are defined (``rnnexplore.dynamics.cycles.find_cycles``,
``BifurcationState`` inside ``rnnexplore.apps.bifurcation``), but the reference documents each
object once, under its public name (``rnnexplore.find_cycles``, ``rnnexplore.BifurcationState``;
see ``api_pages.documented``). Sphinx's own lookup therefore misses them. This handler of
``missing-reference`` finds the object the target names - a full dotted path, or a name relative
to the module that defines the documented object - and retries with its documented name; a
member inherited from a documented base class points to the base class's entry, a module to its
section of the API index.

Members inherited from other libraries (``torch.nn.Module.state_dict`` listed on a
``torch.nn.Module`` subclass) and names of other libraries (numpy, scipy, torch, python) have no
page here: no local inventory of those projects is available offline, so they are shown as code
without a link, and without a warning, by :data:`EXTERNAL` (external names only).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any

import api_pages

# top-level packages whose names are shown as code without a link (no offline inventory)
EXTERNAL = ("numpy", "np", "scipy", "torch", "nn", "matplotlib", "ipywidgets", "anywidget", "traitlets",
            "dask", "distributed", "concurrent", "multiprocessing", "threading", "pathlib", "typing",
            "collections", "builtins", "json", "io", "os", "tqdm", "IPython")


def _import(path: str) -> Any:
    """The object a dotted path names (module prefix imported, the rest by attribute), or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: BLE001 - not a module: try a shorter prefix
            continue
        if cut == len(parts) and cut > 1:  # a package attribute may shadow its submodule
            attr = getattr(importlib.import_module(".".join(parts[:-1])), parts[-1], None)
            if attr is not None and not inspect.ismodule(attr):
                return attr
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return None
        return obj
    return None


class Resolver:
    """Documented names by object and by short name, built once per build."""

    def __init__(self) -> None:
        entries, _ = api_pages.documented()
        self.by_id = {id(obj): name for name, obj in entries}
        self.by_short: dict[str, list[str]] = {}
        for name, _obj in entries:
            self.by_short.setdefault(name.rsplit(".", 1)[1], []).append(name)
        self.modules = sorted({api_pages.defining_module(n, o) for n, o in entries})

    def documented_name(self, obj: Any) -> str | None:
        return self.by_id.get(id(obj))

    def member_name(self, owner: Any, attr: str) -> str | None:
        """``Class.attr`` where the attribute is defined on a documented class of the MRO."""
        for klass in inspect.getmro(owner) if inspect.isclass(owner) else ():
            if attr in vars(klass) and self.documented_name(klass):
                return f"{self.documented_name(klass)}.{attr}"
        return None

    def candidates(self, target: str, modname: str | None, classname: str | None) -> list[str]:
        """Dotted paths the target may mean: as written, relative to the context, a short name."""
        out = [target]
        if classname and modname:
            out.append(f"{modname}.{classname}.{target}")
        if modname:
            out.append(f"{modname}.{target}")
        head = target.split(".", 1)
        for name in self.by_short.get(head[0], [])[:1]:
            out.append(name if len(head) == 1 else f"{name}.{head[1]}")
        out += [f"{m}.{target}" for m in self.modules]
        return out

    def resolve(self, target: str, modname: str | None, classname: str | None) -> str | None:
        for path in self.candidates(target, modname, classname):
            obj = _import(path)
            if obj is None:
                continue
            name = self.documented_name(obj)
            if name:
                return name
            owner_path, _, attr = path.rpartition(".")
            owner = _import(owner_path) if owner_path else None
            if owner is not None:
                member = self.member_name(owner, attr)
                if member:
                    return member
        return None


def _is_external(target: str, resolver: Resolver, modname: str | None, classname: str | None) -> bool:
    if target.split(".", 1)[0] in EXTERNAL:
        return True
    # a member that a documented class inherits from another library (torch.nn.Module.state_dict)
    for path in resolver.candidates(target, modname, classname):
        owner_path, _, attr = path.rpartition(".")
        owner = _import(owner_path) if owner_path else None
        if inspect.isclass(owner) and hasattr(owner, attr):
            for klass in inspect.getmro(owner):
                if attr in vars(klass):
                    return not klass.__module__.startswith("rnnexplore")
    return False


@functools.lru_cache(maxsize=1)
def _resolver() -> Resolver:
    return Resolver()


def _module_reference(app: Any, node: Any, contnode: Any, module: str) -> Any:
    """A link to the module's section of the API index (its heading ``### `module```)."""
    from docutils import nodes

    uri = app.builder.get_relative_uri(node["refdoc"], "api/index") + "#" + nodes.make_id(module)
    ref = nodes.reference("", "", internal=True, refuri=uri, reftitle=module)
    ref.append(contnode)
    return ref


def missing_reference(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py":
        return None
    resolver = _resolver()
    target, modname, classname = node["reftarget"], node.get("py:module"), node.get("py:class")
    if node["reftype"] == "mod" and target in resolver.modules:
        return _module_reference(app, node, contnode, target)
    name = resolver.resolve(target, modname, classname)
    if name and name != target:
        domain = env.get_domain("py")
        for role in (node["reftype"], "obj"):
            ref = domain.resolve_xref(env, node["refdoc"], app.builder, role, name, node, contnode)
            if ref is not None:
                return ref
    if _is_external(target, resolver, modname, classname):
        return contnode  # another library's name: code, no link (no offline inventory)
    return None


def setup(app: Any) -> dict:
    app.connect("missing-reference", missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
