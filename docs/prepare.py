"""Put the executed notebooks into the docs and write the gallery (run by ``make docs``).

The notebook tests (tests/test_notebooks.py) execute every notebook with papermill in SMOKE mode
and leave the executed copies in ``tests/_out/`` (``notebook_runner.OUT``). This script reuses
them: one execution per notebook per test run, not two. A copy that is missing, or whose cells no
longer match the committed notebook, is executed here (the same runner, the same SMOKE mode) and
so serves the next test run too. A failed run (papermill's exception flag, or an error output)
is refused rather than executed again.

Writes (all ignored by git): ``docs/notebooks/*.ipynb`` and ``docs/notebooks/gallery.md`` with
the figures in ``docs/notebooks/gallery/``.

Usage: ``python docs/prepare.py [--executed DIR]``
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT / "tests"))

from notebook_runner import NOTEBOOKS, OUT, run_notebook  # noqa: E402

DEST = DOCS / "notebooks"
SMOKE_NOTE = (
    "```{note}\nThis page shows the notebook as the test suite ran it, with `SMOKE = True` "
    "(smaller sizes, so that every notebook runs in minutes). Run it yourself with "
    "`SMOKE = False` for the full-size results: `make lab`.\n```"
)


def docs_notebooks() -> list[Path]:
    """The tour notebooks (the stand-alone app ``app_*.ipynb`` needs a live kernel)."""
    return sorted(p for p in NOTEBOOKS.glob("*.ipynb") if not p.name.startswith("app_"))


def _cells(nb: dict) -> list[tuple[str, str]]:
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]
            if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]


def status(source: Path, executed: Path) -> str:
    """``"ok"``, ``"missing"``, ``"stale"`` (other cells than ``source``) or ``"failed"``."""
    if not executed.is_file():
        return "missing"
    try:
        ran = json.loads(executed.read_text())
    except ValueError:
        return "missing"
    meta = ran.get("metadata", {}).get("papermill", {})
    if _cells(ran) != _cells(json.loads(source.read_text())) or \
            meta.get("parameters", {}).get("SMOKE") is not True:
        return "stale"
    return "failed" if meta.get("exception") is True or _errors(ran) else "ok"


def _errors(nb: dict) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ('<p class="rx-widget-note">Interactive widget: it needs a running kernel, so this '
               'static page cannot show it. Open the notebook in JupyterLab (<code>make lab'
               '</code>) to use it.</p>')


def for_docs(nb: dict) -> dict:
    """The executed notebook as a page: papermill's injected cell replaced by a SMOKE note,
    widget views (whose only static form is a long ``VBox(children=...)`` repr) by a note."""
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            if WIDGET in o.get("data", {}):
                o["data"] = {"text/html": WIDGET_NOTE}
    cells = [c for c in nb["cells"]
             if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    first_md = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"), -1)
    note = {"cell_type": "markdown", "id": "rnnexplore-smoke-note", "metadata": {},
            "source": SMOKE_NOTE}
    cells.insert(first_md + 1, note)
    nb["cells"] = cells
    return nb


def _heading(markdown: str) -> str | None:
    for line in markdown.splitlines():
        m = re.match(r"^#{1,4}\s+(.*\S)\s*$", line)
        if m:
            return m.group(1)
    return None


def figures(nb: dict) -> list[tuple[str, bytes]]:
    """``(caption, png)`` of every PNG output, captioned by the nearest heading above it."""
    out, heading = [], None
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            heading = _heading("".join(c["source"])) or heading
            continue
        for o in c.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if png:
                out.append((heading or "", base64.b64decode("".join(png))))
    return out


def _md_text(s: str) -> str:
    s = re.sub(r"[`*_\[\]]", "", s)
    return s.replace("$", "")


def write_gallery(pages: list[tuple[Path, dict]]) -> int:
    gal = DEST / "gallery"
    shutil.rmtree(gal, ignore_errors=True)
    gal.mkdir(parents=True)
    lines = ["# Gallery", "",
             "The figures of the notebooks as the test suite drew them (SMOKE mode). Each caption",
             "links to the notebook page that made it.", ""]
    n_all = 0
    for path, nb in pages:
        figs = figures(nb)
        if not figs:
            continue
        title = _heading("".join(nb["cells"][0]["source"])) if nb["cells"] else None
        lines += [f"## {_md_text(title or path.stem)}", "", "::::{container} rx-gallery", ""]
        for i, (caption, png) in enumerate(figs, 1):
            name = f"{path.stem}-{i:02d}.png"
            (gal / name).write_bytes(png)
            cap = _md_text(caption) or path.stem
            lines += [f":::{{figure}} gallery/{name}", f":alt: {cap}", "",
                      f"[{cap}]({path.name})", ":::", ""]
            n_all += 1
        lines += ["::::", ""]
    (DEST / "gallery.md").write_text("\n".join(lines))
    return n_all


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--executed", type=Path, default=OUT,
                    help=f"folder of executed notebooks (default: {OUT.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    DEST.mkdir(exist_ok=True)
    for old in DEST.glob("*.ipynb"):
        old.unlink()
    pages = []
    for src in docs_notebooks():
        executed = args.executed / src.name
        state = status(src, executed)
        if state == "failed":  # the notebook test failed on these very cells: do not run it twice
            raise SystemExit(f"prepare: {executed} is a failed run of {src.name} "
                             f"(errors: {_errors(json.loads(executed.read_text()))})")
        if state != "ok":
            print(f"prepare: executing {src.name} ({state} copy in {args.executed})", flush=True)
            executed = run_notebook(src, smoke=True, out_dir=args.executed)
        nb = json.loads(executed.read_text())
        page = for_docs(nb)
        (DEST / src.name).write_text(json.dumps(page, indent=1))
        pages.append((src, page))
    n = write_gallery(pages)
    print(f"prepare: {len(pages)} notebooks, {n} figures in the gallery")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
