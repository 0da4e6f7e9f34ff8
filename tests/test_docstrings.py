"""Every Examples section in the package runs (numpydoc examples are promises too)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rnnexplore

MODULES = sorted(m.name for m in pkgutil.walk_packages(rnnexplore.__path__, "rnnexplore.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                          verbose=False)
    assert res.failed == 0, f"{res.failed} failing example(s) in {name}"
