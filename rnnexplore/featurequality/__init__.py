"""Feature quality: neural networks against kernel learners (staircases, multi-index, your data).

Numpy-only parts are imported eagerly; the torch parts (:class:`ReLUMLP`,
:func:`train_mlp`, :func:`empirical_ntk`, ...) are attributes loaded on first use, so
importing this package does not import torch.

Examples
--------
>>> from rnnexplore.featurequality import classic_staircase, analytic_ntk
>>> task = classic_staircase(4, d=20)
>>> X, y = task.sample(10, seed=0)
>>> analytic_ntk(X, depth=3, width=256).shape
(10, 10)
"""

from .compare import (
    DEFAULT_CONFIG,
    FQRecord,
    SweepResult,
    architecture_sweep,
    compare,
    compare_many,
    first_n_above,
    split_runs,
    sweep,
)
from .features import feature_view, learned_subspace, principal_angles, subspace_mass, weight_mass
from .kernels import (
    DEFAULT_RELATIVE_RIDGE,
    KernelRidge,
    analytic_nngp,
    analytic_ntk,
    default_ridge,
    linear_kernel_ridge,
)
from .measures import (
    cka,
    effective_rank,
    feature_quality,
    k95,
    kernel_target_alignment,
    mse,
    relative_frobenius_change,
    relative_weight_change,
    spectral_quality,
)
from .saved import SAVED_SWEEPS, saved_sweep_path
from .tasks import (
    MULTI_INDEX_TERMS,
    PAPER_TERMS,
    ArrayTask,
    MultiIndex,
    Staircase,
    classic_staircase,
    is_merged_staircase,
    multi_index,
    paper_staircase,
    shuffle_labels,
    staircase,
    task_from_dict,
)

_TORCH_NAMES = {
    "ReLUMLP",
    "train_mlp",
    "ntk_factors",
    "ntk_from_factors",
    "empirical_ntk",
    "empirical_ntk_torchfunc",
    "train_batched",
    "TrainingCancelled",
}

__all__ = [
    "Staircase",
    "MultiIndex",
    "ArrayTask",
    "multi_index",
    "task_from_dict",
    "MULTI_INDEX_TERMS",
    "staircase",
    "classic_staircase",
    "paper_staircase",
    "is_merged_staircase",
    "shuffle_labels",
    "PAPER_TERMS",
    "analytic_ntk",
    "analytic_nngp",
    "KernelRidge",
    "linear_kernel_ridge",
    "default_ridge",
    "DEFAULT_RELATIVE_RIDGE",
    "mse",
    "feature_quality",
    "cka",
    "relative_frobenius_change",
    "kernel_target_alignment",
    "spectral_quality",
    "k95",
    "effective_rank",
    "relative_weight_change",
    "compare",
    "compare_many",
    "split_runs",
    "sweep",
    "architecture_sweep",
    "first_n_above",
    "weight_mass",
    "subspace_mass",
    "learned_subspace",
    "principal_angles",
    "feature_view",
    "FQRecord",
    "SweepResult",
    "DEFAULT_CONFIG",
    "SAVED_SWEEPS",
    "saved_sweep_path",
    *sorted(_TORCH_NAMES),
]


def __getattr__(name):
    if name in _TORCH_NAMES:
        from . import mlp

        return getattr(mlp, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
