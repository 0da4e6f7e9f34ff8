"""One lazy-attribute mechanism (PEP 562) for the facade and the themed subpackages.

A package lists ``{public name: module}``; the module is imported on first access, so importing
the package stays cheap and never pulls optional heavy dependencies (torch, matplotlib,
ipywidgets, dask) until a name that needs them is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_attributes(package: str, names: Mapping[str, str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package`` resolving ``names[attr]`` modules lazily.

    A value of ``names`` is a module path; ``"pkg.mod:attr"`` picks another attribute name
    (e.g. a submodule exported under a short name uses ``"pkg.sub:"``, the module itself).

    Examples
    --------
    >>> getattr_, dir_ = lazy_attributes("demo", {"sqrt": "math", "json": "json:"})
    >>> getattr_("sqrt")(4.0)
    2.0
    >>> getattr_("json").__name__
    'json'
    >>> getattr_("nope")
    Traceback (most recent call last):
    ...
    AttributeError: module 'demo' has no attribute 'nope'
    """
    module_globals: dict = {}

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = names[name]
        mod_name, _, attr = target.partition(":")
        module = importlib.import_module(mod_name)
        value = module if (":" in target and not attr) else getattr(module, attr or name)
        module_globals[name] = value
        return value

    def __dir__():
        return sorted(set(names) | set(module_globals))

    return __getattr__, __dir__
