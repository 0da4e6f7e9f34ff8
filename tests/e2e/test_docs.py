"""The documentation site: it builds without warnings, and chromium sees it work.

The build is ``make docs``' two commands: docs/prepare.py reuses the notebooks that
tests/test_notebooks.py executed earlier in the same run (e2e tests run last), then Sphinx with
``-W`` on a fresh environment (``-E``: an incremental build would not repeat the warnings of pages
it does not reread). The site is served over HTTP on 127.0.0.1 and every request to another host
is blocked and recorded: the site must work offline.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
HTML = DOCS / "_build" / "html"
sys.path.insert(0, str(DOCS))

BUILD = [[sys.executable, str(DOCS / "prepare.py")],
         [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-b", "html", "-q",
          str(DOCS), str(HTML)]]


def test_make_docs_runs_the_same_commands():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\ndocs:"):].split("\n\n")[0]
    assert "docs/prepare.py" in recipe
    assert "-m sphinx -W --keep-going -E -b html -q docs docs/_build/html" in recipe


@pytest.fixture(scope="module")
def site() -> Path:
    try:
        import myst_nb  # noqa: F401
        import numpydoc  # noqa: F401
    except ImportError as exc:
        msg = f"the docs extra is not installed ({exc}); `make test` installs it"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    for cmd in BUILD:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{' '.join(cmd[1:3])} failed:\n{out[-5000:]}"
        if "sphinx" in cmd:  # (kernels started by prepare.py log their own WARNING lines)
            assert "WARNING" not in out, out[-5000:]
    return HTML


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def site_page(page, server):
    """A page that may only talk to the docs server; records failures and outside requests."""
    failures, outside = [], []

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("response", lambda resp: failures.append(f"{resp.status} {resp.url}")
            if resp.status >= 400 else None)
    page.on("requestfailed", lambda req: failures.append(f"failed {req.url}")
            if req.url.startswith(server) else None)
    page.on("pageerror", lambda exc: failures.append(f"js error {exc}"))
    page.failures, page.outside = failures, outside
    return page


def _images_loaded(page, selector: str) -> tuple[int, int]:
    """(number of images matched, number fully loaded with a non-zero size)."""
    page.wait_for_load_state("load")
    return page.eval_on_selector_all(
        selector, "els => [els.length, els.filter(e => e.complete && e.naturalWidth > 0).length]")


def test_landing_page(site_page, server):
    page = site_page
    page.goto(server + "index.html")
    assert "rnnexplore" in page.title()
    text = page.inner_text("article")
    assert "Dynamics of ReLU RNNs" in text and "Feature quality" in text
    assert "make lab" in text and "make test" in text
    n, ok = _images_loaded(page, "article img[src*='explorer']")
    assert n == 1 and ok == 1, "the explorer screenshot did not load"
    nav = page.eval_on_selector_all("header a", "els => els.map(e => e.textContent.trim())")
    for entry in ("Notebooks", "API reference", "How it works: the dynamics engine"):
        assert entry in nav, f"navigation lacks {entry!r}"
    assert page.failures == [] and page.outside == [], (page.failures, page.outside)


def test_notebook_page_shows_its_outputs(site_page, server):
    page = site_page
    page.goto(server + "notebooks/01_fixed_points_and_cycles.html")
    n, ok = _images_loaded(page, "article .cell_output img")
    assert n >= 3 and ok == n, f"{ok} of {n} figures loaded"
    # stored outputs, not just code: printed text and the SMOKE note are on the page
    assert page.locator("article .cell_output .output").count() > n
    assert "SMOKE = True" in page.inner_text("article")
    assert page.locator("article .output.traceback, article .output.error").count() == 0
    # math typeset by the bundled MathJax (no request left this machine)
    page.wait_for_selector("mjx-container", timeout=20000)
    assert page.failures == [] and page.outside == [], (page.failures, page.outside)


def test_gallery_links_figures_to_their_notebooks(site_page, server):
    page = site_page
    page.goto(server + "notebooks/gallery.html")
    n, ok = _images_loaded(page, ".rx-gallery img")
    assert n >= 6 and ok == n, f"{ok} of {n} gallery figures loaded"
    hrefs = page.eval_on_selector_all(".rx-gallery figcaption a:not(.headerlink)",
                                      "els => els.map(e => e.href)")
    assert len(hrefs) == n and all(re.search(r"/notebooks/0\d_\w+\.html", h) for h in hrefs)
    assert page.failures == [] and page.outside == [], (page.failures, page.outside)


def test_api_reference_documents_every_public_name(site_page, server, site):
    import inspect

    import api_pages
    import rnnexplore

    # every name of the facade: a page of its own, or (a namespace module) a section
    facade = [n for n in rnnexplore.__all__ if not n.startswith("__")]
    index = (site / "api" / "index.html").read_text()
    for n in facade:
        obj = getattr(rnnexplore, n)
        if inspect.ismodule(obj):
            assert obj.__name__ in api_pages.documented()[1], f"namespace {n} not walked"
        else:
            assert (site / "api" / "generated" / f"rnnexplore.{n}.html").is_file(), n
            assert f'href="generated/rnnexplore.{n}.html"' in index, f"{n} not listed"
    # and every public name of the namespaces the facade exports
    names = [n for mods in api_pages.groups().values() for ns in mods.values() for n in ns]
    assert len(names) > len(facade) - 5
    missing = [n for n in names if not (site / "api" / "generated" / f"{n}.html").is_file()]
    assert not missing, f"no API page for {missing}"
    page = site_page
    page.goto(server + "api/index.html")
    listed = set(page.eval_on_selector_all("article table.autosummary a",
                                           "els => els.map(e => e.innerText.trim())"))
    assert {n.rsplit(".", 1)[1] for n in names} <= {t.rsplit(".", 1)[-1] for t in listed}
    # one generated page: numpydoc sections rendered, and the examples shown
    target = next((n for n in names if n.endswith(".find_cycles")), names[0])
    page.goto(server + f"api/generated/{target}.html")
    body = page.inner_text("article")
    assert target.rsplit(".", 1)[1] in body
    assert "Parameters" in body or "Attributes" in body
    assert "Examples" in body and ">>>" in body
    assert page.failures == [] and page.outside == [], (page.failures, page.outside)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "img", "link", "script", "source", "iframe"):
                self.links.append(a[key])


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(errors="replace"))
    return p


def test_no_broken_internal_links(site):
    pages = sorted(p for p in site.rglob("*.html") if p.relative_to(site).parts[0] != "_static")
    assert len(pages) > 20
    parsed = {p: _parse(p) for p in pages}
    broken = []
    for page, links in parsed.items():
        for link in links.links:
            url = urlsplit(link)
            if url.scheme or url.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = page if not url.path else Path(
                unquote(urljoin(page.as_uri(), url.path)).removeprefix("file://"))
            if target.is_dir():
                target = target / "index.html"
            rel = page.relative_to(site)
            if not target.is_file():
                broken.append(f"{rel}: {link} (no file)")
            elif url.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(url.fragment) not in ids:
                    broken.append(f"{rel}: {link} (no anchor)")
    # cross-references of the hand-written pages all resolve (an unresolved one renders as plain
    # code instead of a link, with no warning)
    for page in pages:
        rel = page.relative_to(site)
        if rel.parts[0] in ("api", "notebooks", "_modules") or rel.name in ("genindex.html",
                                                                          "search.html"):
            continue
        text = page.read_text(errors="replace")
        for m in re.finditer(r'(?<!">)<code class="xref py[^"]*"><span class="pre">([^<]+)', text):
            broken.append(f"{rel}: unresolved reference {m.group(1)}")
    assert not broken, "\n".join(broken[:40])


def test_prepare_reuses_only_current_successful_runs(tmp_path):
    import json

    import prepare

    def nb(cells, **papermill):
        return {"cells": [{"cell_type": t, "metadata": {}, "source": s, "outputs": []}
                          if t == "code" else {"cell_type": t, "metadata": {}, "source": s}
                          for t, s in cells],
                "metadata": {"papermill": papermill}, "nbformat": 4, "nbformat_minor": 5}

    cells = [("markdown", "# T"), ("code", "SMOKE = False"), ("code", "assert True")]
    src = tmp_path / "n.ipynb"
    src.write_text(json.dumps(nb(cells)))
    out = tmp_path / "out.ipynb"
    assert prepare.status(src, out) == "missing"
    injected = {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]},
                "source": "SMOKE = True", "outputs": []}
    ran = nb(cells, parameters={"SMOKE": True}, exception=False)
    ran["cells"].insert(2, injected)
    out.write_text(json.dumps(ran))
    assert prepare.status(src, out) == "ok"
    src.write_text(json.dumps(nb(cells[:-1] + [("code", "assert 1 == 1")])))
    assert prepare.status(src, out) == "stale"
    src.write_text(json.dumps(nb(cells)))
    out.write_text(json.dumps({**ran, "metadata": {"papermill": {"parameters": {"SMOKE": False}}}}))
    assert prepare.status(src, out) == "stale"
    ran["metadata"]["papermill"]["exception"] = True
    out.write_text(json.dumps(ran))
    assert prepare.status(src, out) == "failed"
