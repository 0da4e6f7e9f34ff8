"""Training PLRNNs in PyTorch and replaying the runs: data, torch models, BPTT/GTF, replays.

:mod:`~rnnexplore.dynamics.training.data` (trajectories to train on) and
:mod:`~rnnexplore.dynamics.training.replay` (checkpoint replays, loss jumps, the objects and
events per checkpoint) are numpy only; :mod:`~rnnexplore.dynamics.training.torch_models`,
:mod:`~rnnexplore.dynamics.training.trainer` and :mod:`~rnnexplore.dynamics.training.landscape`
need torch, which is imported only when one of their names is used.

Examples
--------
>>> from rnnexplore.dynamics import training
>>> training.skew_tent_data(100).train.shape[1]
1
"""

from rnnexplore._lazy import lazy_attributes

_P = "rnnexplore.dynamics.training."
_NAMES = {
    **{n: _P + "data" for n in ("TrajectoryData", "validate_trajectory", "train_test_split",
                                 "from_array", "model_trajectory", "gt16_data", "skew_tent_data",
                                 "lorenz63", "lorenz63_data")},
    **{n: _P + "replay" for n in ("Replay", "Landscape", "ReplayAnalysis", "detect_jumps",
                                   "jump_sizes", "align_jumps", "analyse_replay")},
    **{n: _P + "torch_models" for n in ("TorchPLRNN", "TorchShallowPLRNN", "TorchModel",
                                         "from_numpy_model", "plrnn_step", "shplrnn_step",
                                         "forced_rollout", "gtf_loss", "estimate_alpha",
                                         "AdaptiveAlpha")},
    **{n: _P + "trainer" for n in ("TrainConfig", "train", "train_runs")},
    **{n: _P + "landscape" for n in ("loss_landscape", "skew_tent_gradient", "power_law_exponent")},
}

__all__ = sorted(_NAMES)

__getattr__, __dir__ = lazy_attributes(__name__, _NAMES)
