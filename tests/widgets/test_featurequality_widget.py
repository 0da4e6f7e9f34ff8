"""Headless test of the FeatureQualityExplorer: set values, click, wait for the background job,
check artist data; cancel; series by full configuration."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("ipywidgets")

from rnnexplore.featurequality import SweepResult
from rnnexplore.apps.featurequality import FeatureQualityState
from rnnexplore.widgets.featurequality import FeatureQualityExplorer


def _fake_run(n, seed, shuffled, fq, cka, width=256):
    return dict(task="S4", d=20, n_train=n, seed=seed, shuffled=shuffled, depth=3, width=width, gamma=1.0,
                steps=8000, lr=2e-3, batch_size=64, n_test=2000, var_f=4.0, train_loss=0.0,
                err_net=1.0 / fq, err_ntk=1.0, err_nngp=1.1, err_k0=1.5, err_kT=1.05 / fq, err_ckT=1.0 / fq,
                fq=fq, log10_fq=float(np.log10(fq)), k0_over_kT=1.5 * fq / 1.05, kT_over_net=1.05, k95_0=float("nan"),
                k95_T=5.0, cka=cka, one_minus_cka=1 - cka, rel_frob=0.7, kta_0=0.05, kta_T=0.5, erank_0=130.0,
                erank_T=70.0, weight_change=[0.2, 0.4, 0.4, 0.35], pi_star_0=list(np.linspace(0.01, 0.5, 8)),
                pi_star_T=list(np.linspace(0.5, 1.0, 8)), seconds=20.0)


@pytest.fixture
def sweep_file(tmp_path):
    recs = [_fake_run(n, s, False, fq, 0.3) for n, fq in ((250, 1.2), (1000, 20.0), (4000, 300.0)) for s in (0, 1)]
    recs += [_fake_run(500, s, True, 0.8, 0.6) for s in (0, 1)]
    return SweepResult(recs).save(tmp_path / "sweep.json")


def test_load_sweep_and_plots_show_runs(sweep_file):
    view = FeatureQualityExplorer()
    assert "0 runs" in view.status.value
    view.path.value = str(sweep_file)
    view.load_button.click()
    assert "8 runs" in view.status.value and "error" not in view.status.value
    x, y = view.curve_lines["net"].get_data()
    np.testing.assert_allclose(x, [250, 1000, 4000])
    np.testing.assert_allclose(y, [1 / 1.2, 1 / 20, 1 / 300])
    np.testing.assert_allclose(view.curve_lines["ntk"].get_data()[1], [1, 1, 1])
    clean = view.scatter_clean.get_offsets()
    shuffled = view.scatter_shuffled.get_offsets()
    assert clean.shape == (6, 2) and shuffled.shape == (2, 2)
    np.testing.assert_allclose(sorted(clean[:, 1]), sorted(np.log10([1.2, 1.2, 20, 20, 300, 300])))
    np.testing.assert_allclose(shuffled[:, 0], [0.4, 0.4])  # 1 - CKA of the shuffled runs
    assert sum(line.get_visible() for line in view.pi_lines) == 3
    view.strength.value = "rel_frob"
    np.testing.assert_allclose(view.scatter_clean.get_offsets()[:, 0], 0.7)
    assert "Frobenius" in view.ax_scatter.get_xlabel()
    # a different architecture has no runs: curves empty, scatter still shows the task's runs
    view.width.value = 64
    assert len(view.curve_lines["net"].get_data()[0]) == 0
    assert view.scatter_clean.get_offsets().shape == (6, 2)


def test_run_button_trains_and_adds_a_point():
    view = FeatureQualityExplorer(FeatureQualityState(n_test=64))
    view.task.value = "S3 (d=15)"
    view.depth.value = 2
    view.width.value = 16
    view.n_train.options = [32, 64]
    view.n_train.value = 32
    view.steps.value = 60
    view.run_button.click()
    assert view.state.job.wait(300).state == "done", view.state.job.traceback
    assert "error" not in view.status.value, view.status.value
    assert "FQ=" in view.status.value and "rnx-status-ok" in view.status.value
    assert view.progress.value == 1.0
    assert not view.run_button.disabled and view.cancel_button.disabled
    x, y = view.curve_lines["net"].get_data()
    assert list(x) == [32.0] and np.isfinite(y[0]) and y[0] > 0
    assert view.scatter_clean.get_offsets().shape == (1, 2)
    view.shuffled.value = True
    view.run_button.click()
    view.state.job.wait(300)
    assert view.scatter_shuffled.get_offsets().shape == (1, 2)
    assert len(view.state.result) == 2


def test_run_does_not_block_and_cancel_stops_it():
    view = FeatureQualityExplorer(FeatureQualityState(n_test=64))
    view.task.value = "S3 (d=15)"
    view.width.value = 16
    view.depth.value = 1
    view.n_train.options = [32, 64]
    view.n_train.value = 64
    view.all_sizes.value = True
    view.steps.value = 10**6  # would take many minutes
    view.run_button.click()  # returns at once: the training runs in a thread
    job = view.state.job
    assert job.running and view.run_button.disabled and not view.cancel_button.disabled
    deadline = __import__("time").time() + 120
    while view.progress.value == 0.0 and __import__("time").time() < deadline:
        __import__("time").sleep(0.05)
    assert 0 < view.progress.value < 0.01 and "step" in view.status.value
    view.run_button.click()  # a second run is refused while one is in progress
    assert view.state.job is job and "in progress" in view.status.value
    view.cancel_button.click()
    assert job.wait(120).state == "cancelled"
    assert "cancelled" in view.status.value and "0 finished" in view.status.value
    assert len(view.state.result) == 0 and not view.run_button.disabled
    # start again: a short sweep over both sizes streams two runs into the plot
    view.steps.value = 40
    view.run_button.click()
    assert view.state.job.wait(300).state == "done", view.state.job.traceback
    assert list(view.curve_lines["net"].get_data()[0]) == [32.0, 64.0]
    assert view.last_error is None


def test_runs_are_grouped_by_full_configuration(sweep_file):
    view = FeatureQualityExplorer(sweep_file)
    assert len(view.curve_lines["net"].get_data()[0]) == 3
    # a quick run with other steps is its own series: the saved curve is not mixed with it
    st = view.state
    st.width, st.depth, st.steps, st.n_test = 256, 3, 30, 64
    st.task = "S4 (d=20)"
    view.steps.value = 30
    assert len(view.curve_lines["net"].get_data()[0]) == 0  # nothing run with 30 steps yet
    assert [lab for lab, _, _ in st.other_series_curves()] == ["S4 3x256 g=1 8000 steps lr=0.002 b=64"]
    line = view.series_lines["S4 3x256 g=1 8000 steps lr=0.002 b=64"]
    np.testing.assert_allclose(line.get_data()[0], [250, 1000, 4000])
    st.width = 16
    view.width.value = 16
    view.n_train.options = [32]
    view.n_train.value = 32
    view.run_button.click()
    st.job.wait(300)
    assert len(st.series()) == 2
    assert list(view.curve_lines["net"].get_data()[0]) == [32.0]


def test_errors_go_to_status_line(tmp_path):
    view = FeatureQualityExplorer()
    view.path.value = str(tmp_path / "missing.json")
    view.load_button.click()
    assert "error" in view.status.value and "missing.json" in view.status.value
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    view.path.value = str(bad)
    view.load_button.click()
    assert "not a feature-quality sweep" in view.status.value
    view2 = FeatureQualityExplorer(str(bad))
    assert "error" in view2.status.value


def test_feature_view_and_depth_width_figures():
    from rnnexplore.widgets.featurequality import plot_depth_width, plot_feature_view

    recs = [dict(_fake_run(n, s, False, fq, 0.3), weight_mass=[0.4, 0.3] + [0.3 / 18] * 18, max_angle=80.0 / fq,
                 support_mass_T=0.5, support_mass_0=0.2) for n, fq in ((250, 1.2), (4000, 300.0)) for s in (0, 1)]
    fig = plot_feature_view(SweepResult(recs), support=(0, 1))
    ax_mass, ax_angle, ax_sub = fig.axes[:3]
    np.testing.assert_allclose(ax_mass.lines[0].get_ydata()[:2], [0.4, 0.3])
    np.testing.assert_allclose(ax_angle.lines[0].get_ydata(), [80 / 1.2, 80 / 300])
    grid = [dict(_fake_run(n, 0, False, fq * dp, 0.3), depth=dp, width=w)
            for dp in (1, 4) for w in (64, 256) for n, fq in ((250, 1.0), (1000, 4.0), (4000, 8.0))]
    fig = plot_depth_width(SweepResult(grid), threshold=10)
    ax_fq, ax_n = fig.axes
    assert len(ax_fq.lines) == 4 + 1  # four architectures and the threshold line
    # depth 4 first exceeds 10 at n = 1000 (FQ 16) for both widths; depth 1 never (hollow marker)
    filled = np.concatenate([c.get_offsets() for c in ax_n.collections[::2]])
    assert sorted(filled[:, 1].tolist()) == [1000, 1000]


def test_controls_have_stable_css_classes():
    view = FeatureQualityExplorer()
    for name in ("task", "depth", "width", "gamma", "n_train", "steps", "seed", "shuffled", "strength",
                 "all_sizes", "run_button", "cancel_button", "load_button", "path", "progress", "status"):
        classes = getattr(view, name)._dom_classes
        assert any(c.startswith("rnx-fq-") for c in classes), name
    assert "rnx-fq" in view.widget._dom_classes


def test_plot_sweep_static_figure(sweep_file):
    from rnnexplore.widgets.featurequality import plot_sweep

    fig = plot_sweep(sweep_file, strength="rel_frob")
    ax_curves, ax_scatter, ax_pi = fig.axes[:3]
    assert ax_curves.get_xscale() == "log" and ax_curves.get_yscale() == "log"
    assert len(ax_scatter.collections[0].get_offsets()) == 6
    fig2 = plot_sweep(SweepResult.load(sweep_file))
    np.testing.assert_allclose(fig2.axes[1].collections[1].get_offsets()[:, 0], [0.4, 0.4])
