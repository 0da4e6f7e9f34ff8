"""Every Examples section in the package runs (numpydoc examples are promises too).

This is the one place doctests run: other test modules do not call ``doctest.testmod`` again.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rnnexplore

MODULES = sorted(m.name for m in pkgutil.walk_packages(rnnexplore.__path__, "rnnexplore.")
                 if not m.name.endswith("__main__"))

#: modules whose docstrings have no examples yet (command line, a view drawn only in a kernel)
WITHOUT_EXAMPLES = {"rnnexplore.cli", "rnnexplore.widgets.bifurcation"}


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                          verbose=False)
    assert res.failed == 0, f"{res.failed} failing example(s) in {name}"
    assert res.attempted > 0 or name in WITHOUT_EXAMPLES, f"{name} has no Examples"
