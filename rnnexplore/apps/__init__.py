"""Widget-free state of each interactive app: scriptable, validated, tested without widgets.

Each state validates its input, recomputes once and keeps the previous valid state when it
refuses (DynamicalSystems.jl's apps wrap a scriptable model the same way); the views in
:mod:`rnnexplore.widgets` draw from them. Long work runs in a :class:`~rnnexplore.apps.jobs.Job`
(a background thread with progress and cancel), so no app blocks the kernel.

Examples
--------
>>> from rnnexplore.apps import ExplorerState
>>> ExplorerState.from_preset("skew_tent").model.M
1
"""

from rnnexplore._lazy import lazy_attributes

_NAMES = {
    "ExplorerState": "rnnexplore.apps.explorer",
    "PRESETS": "rnnexplore.apps.explorer",
    "BifurcationState": "rnnexplore.apps.bifurcation",
    "ReplayState": "rnnexplore.apps.replay",
    "FeatureQualityState": "rnnexplore.apps.featurequality",
    "Job": "rnnexplore.apps.jobs",
    "Cancelled": "rnnexplore.apps.jobs",
}

__all__ = sorted(_NAMES)

__getattr__, __dir__ = lazy_attributes(__name__, _NAMES)
