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

from rnnexplore._lazy import lazy_attributes

_NAMES = {
    "CycleExplorer": "rnnexplore.widgets.explorer",
    "BifurcationExplorer": "rnnexplore.widgets.bifurcation",
    "TrainingReplay": "rnnexplore.widgets.replay",
    "LiveLoss": "rnnexplore.widgets.replay",
    "FeatureQualityExplorer": "rnnexplore.widgets.featurequality",
    "plot_sweep": "rnnexplore.widgets.featurequality",
    "PhasePortrait": "rnnexplore.widgets.portrait",
}

__all__ = sorted(_NAMES)

__getattr__, __dir__ = lazy_attributes(__name__, _NAMES)
