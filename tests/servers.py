"""Start and stop JupyterLab / Voila servers for tests (free port, known token)."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test process's environment minus what would change how kernels render figures."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND",)}
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 90.0, log: Any = None) -> None:
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if proc.poll() is not None:
            out = (proc.stdout.read().decode(errors="replace") if proc.stdout else
                   Path(log.name).read_text(errors="replace") if log is not None else "")
            raise RuntimeError(f"server exited early with code {proc.returncode}:\n{out[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout}s ({last})")


def _log_file(tmp_path: Path, name: str):
    """Where a server writes its output: a file, never an unread pipe (a full pipe blocks the
    server's next log line, and with it every websocket message it would forward)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    return open(tmp_path / f"{name}.log", "wb")


def _stop(proc: subprocess.Popen, log: Any = None) -> str:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if log is None:
        return ""
    log.close()
    return Path(log.name).read_text(errors="replace")


@contextlib.contextmanager
def lab_server(tmp_path: Path, *, via_cli: bool = True):
    """Yield ``(base_url, token, proc)`` of a JupyterLab serving the repository."""
    port = free_port()
    token = secrets.token_hex(16)
    env = _server_env(tmp_path, JUPYTER_TOKEN=token)
    if via_cli:
        cmd = [sys.executable, "-m", "rnnexplore", "lab", "--no-browser", "--port", str(port)]
    else:
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={ROOT}"]
    cmd += [f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
            f"--LabApp.workspaces_dir={tmp_path / 'ws'}", "--LabApp.expose_app_in_browser=True"]
    log = _log_file(tmp_path, "lab")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/api/status?token={token}", proc, log=log)
        yield base, token, proc
    finally:
        _stop(proc, log)


@contextlib.contextmanager
def voila_server(notebook: Path, tmp_path: Path, template: str | None = None):
    """Yield the base URL of Voila rendering ``notebook`` (``template``: one of the package's
    Voila templates under rnnexplore/share, e.g. ``"rnnexplore"``)."""
    port = free_port()
    env = _server_env(tmp_path)
    cmd = [sys.executable, "-m", "voila", str(notebook), f"--port={port}", "--no-browser",
           "--Voila.ip=127.0.0.1"]
    if template is not None:
        from rnnexplore.cli import app_environment

        env = app_environment(env)
        cmd.append(f"--template={template}")
    log = _log_file(tmp_path, "voila")
    proc = subprocess.Popen(cmd, cwd=notebook.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_port(port, proc)
        yield base, proc
    finally:
        _stop(proc, log)


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"port {port} not open within {timeout}s")
