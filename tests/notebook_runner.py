"""Run a notebook with papermill in SMOKE mode; shared by the notebook tests."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "tests" / "_out"


class NotebookFailed(AssertionError):
    """A notebook cell raised; the message holds the failing cell's source and traceback."""


def run_notebook(path: Path, *, smoke: bool = True, timeout: int = 900,
                 out_dir: Path = OUT) -> Path:
    """Execute ``path`` with papermill (``SMOKE`` injected), return the executed copy's path.

    Raises
    ------
    NotebookFailed
        With the failing cell's source and the traceback text.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / path.name
    env_before = os.environ.get("RNNEXPLORE_SMOKE")
    os.environ["RNNEXPLORE_SMOKE"] = "1" if smoke else "0"
    try:
        # the kernel starts in the notebook's folder (nbclient's resources path); papermill's own
        # ``cwd`` would chdir this whole (pytest) process there while the notebook runs
        pm.execute_notebook(
            str(path), str(out), parameters={"SMOKE": smoke}, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}}, execution_timeout=timeout,
            progress_bar=False,
        )
    except PapermillExecutionError as exc:
        import nbformat

        source = ""
        try:
            nb = nbformat.read(str(out), as_version=4)
            source = nb.cells[exc.cell_index].source
        except Exception:  # the executed copy may be incomplete
            pass
        tb = "\n".join(exc.traceback) if exc.traceback else f"{exc.ename}: {exc.evalue}"
        raise NotebookFailed(
            f"{path.name}: cell {exc.exec_count} raised {exc.ename}: {exc.evalue}\n"
            f"--- cell source ---\n{source}\n--- traceback ---\n{_strip_ansi(tb)}"
        ) from None
    finally:
        if env_before is None:
            os.environ.pop("RNNEXPLORE_SMOKE", None)
        else:
            os.environ["RNNEXPLORE_SMOKE"] = env_before
    return out


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def all_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))
