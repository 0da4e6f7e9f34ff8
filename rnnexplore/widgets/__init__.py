"""Thin ipywidgets + ipympl views over the scriptable state objects of rnnexplore.

Each app lives in its own module and is imported lazily on first access, so importing
``rnnexplore.widgets`` costs nothing and a missing optional view fails only when used:

- :class:`CycleExplorer` (:mod:`rnnexplore.widgets.explorer`): live fixed points and cycles;
- :class:`BifurcationExplorer` (:mod:`rnnexplore.widgets.bifurcation`);
- :class:`TrainingReplay` and :class:`LiveLoss` (:mod:`rnnexplore.widgets.replay`);
- :class:`FeatureQualityExplorer` (:mod:`rnnexplore.widgets.featurequality`);
- :class:`PhasePortrait` (:mod:`rnnexplore.widgets.portrait`): the shared phase-portrait artists.

Examples
--------
>>> import rnnexplore.widgets as w
>>> w.PhasePortrait.__name__
'PhasePortrait'
"""

from __future__ import annotations

import importlib

_LAZY = {
    "CycleExplorer": "rnnexplore.widgets.explorer",
    "BifurcationExplorer": "rnnexplore.widgets.bifurcation",
    "TrainingReplay": "rnnexplore.widgets.replay",
    "LiveLoss": "rnnexplore.widgets.replay",
    "FeatureQualityExplorer": "rnnexplore.widgets.featurequality",
    "FeatureQualityState": "rnnexplore.widgets.featurequality",
    "plot_sweep": "rnnexplore.widgets.featurequality",
    "PhasePortrait": "rnnexplore.widgets.portrait",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'rnnexplore.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
