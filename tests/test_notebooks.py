"""Every notebook runs end to end in SMOKE mode, and is committed clean."""

from __future__ import annotations

import json

import nbformat
import pytest

from notebook_runner import NotebookFailed, all_notebooks, run_notebook

NOTEBOOKS = all_notebooks()
IDS = [p.name for p in NOTEBOOKS]


def test_there_are_notebooks():
    assert any(p.name == "00_start_here.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_clean_and_parametrised(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} have stored outputs; run nbstripout"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: need exactly one cell tagged 'parameters'"
    src = "".join(tagged[0]["source"])
    assert "SMOKE = False" in src, f"{path.name}: the parameters cell must set SMOKE = False"
    if not path.name.startswith("app_"):
        assert "RNNEXPLORE_SMOKE" in "".join("".join(c["source"]) for c in code), (
            f"{path.name}: SMOKE must also be switchable by the RNNEXPLORE_SMOKE variable")
        last = "".join(code[-1]["source"])
        assert "assert" in last, f"{path.name}: the last code cell must assert what was shown"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_smoke_mode(path):
    run_notebook(path, smoke=True)


def _throwaway(tmp_path, cells):
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell("SMOKE = False")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "throwaway.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.mark.slow
def test_harness_fails_on_a_broken_cell(tmp_path):
    path = _throwaway(tmp_path, ["x = 1", "assert SMOKE is True", "raise RuntimeError('boom 42')"])
    with pytest.raises(NotebookFailed) as info:
        run_notebook(path, out_dir=tmp_path / "out")
    msg = str(info.value)
    assert "RuntimeError" in msg and "boom 42" in msg and "raise RuntimeError" in msg


@pytest.mark.slow
def test_harness_passes_smoke_parameter(tmp_path):
    path = _throwaway(tmp_path, ["import os", "assert SMOKE is True",
                                 "assert os.environ['RNNEXPLORE_SMOKE'] == '1'"])
    run_notebook(path, out_dir=tmp_path / "out")


@pytest.mark.slow
def test_harness_runs_the_kernel_in_the_notebook_folder_and_leaves_ours_alone(tmp_path):
    """Notebooks open their files relative to notebooks/; the test process's own working
    directory never moves there, not even while the notebook runs (papermill's ``cwd`` would)."""
    import os
    import threading

    folder = tmp_path / "nbdir"
    folder.mkdir()
    path = _throwaway(tmp_path, ["import os", f"assert os.getcwd() == {str(folder)!r}, os.getcwd()"])
    path = path.rename(folder / path.name)
    seen, stop = set(), threading.Event()

    def watch():
        while not stop.is_set():
            seen.add(os.getcwd())
            stop.wait(0.02)

    here = os.getcwd()
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run_notebook(path, out_dir=tmp_path / "out")
    finally:
        stop.set()
        watcher.join()
    assert seen == {here}
