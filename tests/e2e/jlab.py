"""Drive JupyterLab from Playwright through its exposed application object (stable API,
no reliance on menu layout)."""

from __future__ import annotations

OPEN_TIMEOUT_MS = 120_000


def open_notebook(page, base: str, token: str, path: str) -> None:
    """Open ``path`` (relative to the repository) and wait until its kernel is idle."""
    page.goto(f"{base}/lab/tree/{path}?token={token}&reset", timeout=OPEN_TIMEOUT_MS)
    page.wait_for_function(
        """(path) => {
            const app = window.jupyterapp;
            if (!app || !app.shell) return false;
            const w = app.shell.currentWidget;
            return !!(w && w.context && w.context.path === path && w.sessionContext &&
                      w.sessionContext.session && w.sessionContext.session.kernel &&
                      w.sessionContext.session.kernel.status === 'idle');
        }""", arg=path, timeout=OPEN_TIMEOUT_MS, polling=500)


def run_all(page, timeout_ms: int = 300_000) -> None:
    """Run every cell of the current notebook and wait until all have executed."""
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp.shell.currentWidget;
            const cells = w.content.widgets.filter(c => c.model.type === 'code');
            const done = cells.every(c => c.model.executionCount !== null &&
                                          c.model.executionState !== 'running');
            return done && w.sessionContext.session.kernel.status === 'idle';
        }""", timeout=timeout_ms, polling=500)


def error_outputs(page) -> list[str]:
    """``ename: evalue`` of every error output in the current notebook."""
    return page.evaluate(
        """() => {
            const w = window.jupyterapp.shell.currentWidget;
            const out = [];
            for (const c of w.content.widgets) {
                if (c.model.type !== 'code') continue;
                for (const o of c.model.toJSON().outputs || []) {
                    if (o.output_type === 'error') out.push(o.ename + ': ' + o.evalue);
                }
            }
            return out;
        }""")
