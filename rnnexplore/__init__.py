"""rnnexplore: explore, interactively and exactly, what recurrent networks do and what networks learn.

Two research threads, one kit:

- :mod:`rnnexplore.dynamics` - exact fixed points and k-cycles of piecewise-linear (ReLU) RNNs
  (SCYFI; Eisenmann et al., "Bifurcations and loss jumps in RNN training", NeurIPS 2023), their
  stability, bifurcation maps, training replays and generalized teacher forcing;
- :mod:`rnnexplore.featurequality` - feature quality beside feature-learning strength, networks
  against kernel methods on staircase functions (Göring et al., 2025).

:mod:`rnnexplore.apps` holds the widget-free state of each interactive app and
:mod:`rnnexplore.widgets` their thin views; :mod:`rnnexplore.plotting` draws the static figures
that notebooks and benchmarks share. The most used names are re-exported here and loaded
on first use, so ``import rnnexplore`` never imports torch, matplotlib, ipywidgets or dask.

Examples
--------
>>> import rnnexplore as rx
>>> cycles = rx.find_cycles(rx.paper_gt16(), max_order=16, seed=0)
>>> sorted({(c.order, c.stability) for c in cycles})
[(1, 'unstable'), (16, 'saddle'), (16, 'stable')]
"""

from rnnexplore._lazy import lazy_attributes

__version__ = "0.1.0"

_M = "rnnexplore.dynamics.models"
_C = "rnnexplore.dynamics.cycles"
_T = "rnnexplore.dynamics.training"
_FQ = "rnnexplore.featurequality"
_NAMES = {
    # themed namespaces
    "dynamics": "rnnexplore.dynamics:",
    "featurequality": "rnnexplore.featurequality:",
    "apps": "rnnexplore.apps:",
    "widgets": "rnnexplore.widgets:",
    "parallel": "rnnexplore.parallel:",
    "plotting": "rnnexplore.plotting:",
    # models
    **{n: _M for n in ("PiecewiseLinearModel", "PLRNN", "ShallowPLRNN", "ClippedShallowPLRNN", "ALRNN",
                       "paper_gt16", "skew_tent", "border_collision_normal_form", "random_plrnn", "from_torch_rnn",
                       "from_torch_module", "model_from_dict", "load_model_json", "save_model_json")},
    # the cycle engine
    **{n: _C for n in ("find_cycles", "brute_force_cycles", "Cycle", "CycleSet", "SearchBudget",
                       "attractor_period")},
    **{n: "rnnexplore.dynamics.continuation" for n in ("continue_cycles", "continuation_step",
                                                       "ContinuationOptions")},
    "ModelStack": "rnnexplore.dynamics.solve",
    "parse_param_name": "rnnexplore.dynamics.params",
    "solve_region_sequences": "rnnexplore.dynamics.solve",
    "certify_box": "rnnexplore.dynamics.certify",
    "simulate_orbits": "rnnexplore.dynamics.orbits",
    "Projection": "rnnexplore.dynamics.projection",
    "classify_events": "rnnexplore.dynamics.events",
    "BifurcationEvent": "rnnexplore.dynamics.events",
    "sweep": "rnnexplore.dynamics.bifurcation",
    "BifurcationMap": "rnnexplore.dynamics.bifurcation",
    # training and replays
    **{n: _T for n in ("train", "TrainConfig", "train_runs", "TorchPLRNN", "TorchShallowPLRNN",
                       "Replay", "ReplayAnalysis", "analyse_replay", "detect_jumps", "loss_landscape",
                       "Landscape", "TrajectoryData", "gt16_data", "skew_tent_data", "lorenz63_data")},
    # feature quality
    **{n: _FQ for n in ("staircase", "classic_staircase", "paper_staircase", "compare",
                        "feature_quality", "analytic_ntk", "analytic_nngp", "SweepResult")},
    # static figures
    **{n: "rnnexplore.plotting" for n in ("plot_map", "plot_curves", "plot_diagram", "plot_objects")},
    # app states
    "ExplorerState": "rnnexplore.apps.explorer",
    "BifurcationState": "rnnexplore.apps.bifurcation",
    "ReplayState": "rnnexplore.apps.replay",
    "FeatureQualityState": "rnnexplore.apps.featurequality",
}

__all__ = ["__version__", *sorted(_NAMES)]

__getattr__, __dir__ = lazy_attributes(__name__, _NAMES)
