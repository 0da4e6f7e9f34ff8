"""The start notebook runs in a real JupyterLab in chromium without errors."""

from jlab import error_outputs, open_notebook, run_all


def test_start_notebook_runs_in_jupyterlab(lab, page):
    base, token = lab
    open_notebook(page, base, token, "notebooks/00_start_here.ipynb")
    run_all(page)
    assert error_outputs(page) == []
    # the figure rendered as an image in the page
    assert page.locator(".jp-OutputArea-output img").count() >= 1
