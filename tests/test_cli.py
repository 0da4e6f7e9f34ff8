"""The console entry point: lab starts JupyterLab on the start notebook; doctor reports."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from servers import lab_server

from rnnexplore.cli import main


def test_doctor_reports_versions_and_frontends():
    out = subprocess.run([sys.executable, "-m", "rnnexplore", "doctor", "--json"],
                         capture_output=True, text=True)
    rep = json.loads(out.stdout)
    for dist in ("jupyterlab", "ipywidgets", "ipympl", "torch"):
        assert dist in rep["versions"]
    assert set(rep["frontends"]) == {"ipywidgets", "ipympl"}
    assert out.returncode == (1 if rep["problems"] else 0)
    text = subprocess.run([sys.executable, "-m", "rnnexplore", "doctor"],
                          capture_output=True, text=True).stdout
    assert "jupyter-matplotlib" in text and "jupyterlab-manager" in text


def test_doctor_does_not_import_torch():
    code = ("import sys; from rnnexplore.cli import doctor_report; doctor_report(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_lab_command_serves_the_start_notebook(tmp_path):
    with lab_server(tmp_path) as (base, token, proc):
        url = f"{base}/api/contents/notebooks/00_start_here.ipynb?token={token}&content=0"
        with urllib.request.urlopen(url, timeout=30) as r:
            assert json.load(r)["type"] == "notebook"
        with urllib.request.urlopen(f"{base}/lab/tree/notebooks/00_start_here.ipynb?token={token}",
                                    timeout=30) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
        # bound to loopback only, and the token is enforced
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{base}/api/contents/notebooks", timeout=30)
        assert info.value.code == 403


def test_unknown_subcommand_is_a_clear_error():
    out = subprocess.run([sys.executable, "-m", "rnnexplore", "frobnicate"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "invalid choice" in out.stderr


def test_readme_model_example_runs_through_cycles_cli(tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"```json\n(.*?)```", readme, re.S).group(1)
    path = tmp_path / "model.json"
    path.write_text(block)
    out = subprocess.run([sys.executable, "-m", "rnnexplore", "cycles", str(path),
                          "--max-order", "16", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    objs = json.loads(out.stdout)
    cycles = objs["cycles"] if isinstance(objs, dict) else objs
    orders = sorted(c["order"] for c in cycles)
    # the paper's system: an unstable fixed point and a stable/saddle pair of 16-cycles
    assert orders == [1, 16, 16]
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "PLRNN", "A": [1, 2]}')
    out = subprocess.run([sys.executable, "-m", "rnnexplore", "cycles", str(bad),
                          "--max-order", "2"], capture_output=True, text=True)
    assert out.returncode == 2 and "missing" in out.stderr and "Traceback" not in out.stderr


def test_cycles_command(tmp_path, capsys):
    from rnnexplore.dynamics.models import paper_gt16, save_model_json

    path = tmp_path / "gt16.json"
    save_model_json(paper_gt16(), path)
    assert main(["cycles", str(path), "--max-order", "16"]) == 0
    out = capsys.readouterr().out
    assert "stable" in out and "3 object(s)" in out
    assert main(["cycles", str(path), "--max-order", "2", "--json", "--seed", "1"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["cycles"][0]["order"] == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["cycles", str(bad), "--max-order", "2"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["cycles", str(path), "--max-order", "0"]) == 2
    assert main(["cycles", str(path)]) == 2  # argparse: missing --max-order


def test_cycles_command_states_what_is_proven(tmp_path, capsys):
    from rnnexplore.dynamics.models import PLRNN, paper_gt16, random_plrnn, save_model_json

    path = tmp_path / "rich.json"
    save_model_json(random_plrnn(2, seed=1, rich=True), path)
    assert main(["cycles", str(path), "--max-order", "12"]) == 0
    out = capsys.readouterr().out
    assert "order 1: 4 object(s), proven complete (enumerated" in out
    assert "order 12:" in out and "NOT proven: heuristic" in out and "--budget thorough" in out
    # the identity map: a continuum, not "no objects, complete"
    ident = tmp_path / "identity.json"
    save_model_json(PLRNN([1.0, 1.0], [[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0]), ident)
    assert main(["cycles", str(ident), "--max-order", "2"]) == 0
    out = capsys.readouterr().out
    assert "continuum of dimension 2" in out
    # unbounded work is refused with its estimate; --box certifies the heuristic orders
    gt = tmp_path / "gt16.json"
    save_model_json(paper_gt16(), gt)
    assert main(["cycles", str(gt), "--max-order", "100000"]) == 2
    assert "max_order" in capsys.readouterr().err
    assert main(["cycles", str(gt), "--max-order", "1000"]) == 2
    assert "estimated" in capsys.readouterr().err
    assert main(["cycles", str(gt), "--max-order", "11", "--box", "20"]) == 0
    out = capsys.readouterr().out
    assert "order 11: 0 object(s), proven complete" in out and "heuristic" not in out
    small = tmp_path / "small4.json"
    save_model_json(random_plrnn(6, seed=1), small)
    assert main(["cycles", str(small), "--max-order", "3", "--budget", "interactive", "--box", "10"]) == 0
    out = capsys.readouterr().out
    assert "order 1: 1 object(s), proven complete (enumerated" in out
    assert "order 3: 0 object(s), proven complete in the box [-10.0, 10.0]^M" in out


def test_app_uses_the_offline_voila_template():
    from pathlib import Path

    from rnnexplore.cli import VOILA_TEMPLATE, app_command, app_environment

    cmd = app_command("explorer", 8866, True)
    assert f"--template={VOILA_TEMPLATE}" in cmd and cmd[-1] == "--no-browser"
    share = app_environment({})["JUPYTER_PATH"].split(":")[0]
    assert (Path(share) / "voila" / "templates" / VOILA_TEMPLATE / "conf.json").is_file()
