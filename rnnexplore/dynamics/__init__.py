"""Dynamics of piecewise-linear (ReLU) RNNs: models, the exact cycle engine, events, maps, training.

Modules: :mod:`~rnnexplore.dynamics.models` (PLRNN family, JSON, torch converters),
:mod:`~rnnexplore.dynamics.params` (the parameter-name grammar ``"W[1,0]"``),
:mod:`~rnnexplore.dynamics.cycles` (SCYFI: every fixed point and k-cycle, exactly),
:mod:`~rnnexplore.dynamics.enumeration` (effective alphabet, Lyndon words, LP-pruned itineraries),
:mod:`~rnnexplore.dynamics.dense_lp` (many small emptiness LPs at once: a batched dual simplex, Farkas bounds),
:mod:`~rnnexplore.dynamics.certify` (box certificates by mixed-integer programs),
:mod:`~rnnexplore.dynamics.solve` (the one batched solve of region sequences, over stacks of models),
:mod:`~rnnexplore.dynamics.continuation` (one continuation step, batched over parameter points),
:mod:`~rnnexplore.dynamics.orbits` (simulated orbits, one divergence rule),
:mod:`~rnnexplore.dynamics.projection` (orbits onto a plane),
:mod:`~rnnexplore.dynamics.events` (naming bifurcations between two object sets),
:mod:`~rnnexplore.dynamics.bifurcation` (sweeps and bifurcation maps),
:mod:`~rnnexplore.dynamics.training` (data, torch models, BPTT/GTF training, replays).

Examples
--------
>>> from rnnexplore import dynamics
>>> len(dynamics.find_cycles(dynamics.skew_tent(0.2, -1.5, 1.0), 2, seed=0))
2
"""

from rnnexplore._lazy import lazy_attributes

_NAMES = {
    **{n: "rnnexplore.dynamics.models" for n in (
        "PiecewiseLinearModel", "PLRNN", "ShallowPLRNN", "ClippedShallowPLRNN", "ALRNN", "MODEL_TYPES", "model_from_dict",
        "load_model_json", "save_model_json", "from_torch_rnn", "from_torch_module",
        "hidden_from_preactivation", "skew_tent", "border_collision_normal_form", "paper_gt16",
        "random_plrnn")},
    **{n: "rnnexplore.dynamics.cycles" for n in (
        "Cycle", "CycleSet", "SearchBudget", "SearchInterrupted", "find_cycles", "brute_force_cycles",
        "reference_loops", "attractor_period")},
    **{n: "rnnexplore.dynamics.certify" for n in ("certify_box", "propagate_bounds", "relu_form")},
    **{n: "rnnexplore.dynamics.enumeration" for n in ("effective_bits", "region_letters", "n_lyndon",
                                                      "NecklaceTree")},
    **{n: "rnnexplore.dynamics.params" for n in (
        "parse_param_name", "format_param_name", "index_names", "locate_param")},
    **{n: "rnnexplore.dynamics.solve" for n in ("solve_region_sequences", "RegionSolution", "ModelStack")},
    **{n: "rnnexplore.dynamics.continuation" for n in (
        "continue_cycles", "continuation_step", "Continuation", "ContinuationOptions")},
    **{n: "rnnexplore.dynamics.orbits" for n in ("DIVERGENCE", "diverged", "simulate_orbits")},
    "Projection": "rnnexplore.dynamics.projection",
    **{n: "rnnexplore.dynamics.events" for n in ("EVENT_KINDS", "BifurcationEvent", "classify_events", "index_sums")},
    **{n: "rnnexplore.dynamics.bifurcation" for n in ("BifurcationMap", "check_grid", "sweep")},
    "training": "rnnexplore.dynamics.training:",
}

__all__ = sorted(_NAMES)

__getattr__, __dir__ = lazy_attributes(__name__, _NAMES)
