"""Every file the kit writes or reads goes through here: atomic writes, refusing reads.

Writing: the bytes go to a temporary file in the target's folder (``.NAME.tmp-PID-XXXX``),
which is flushed, synced to disk and renamed over the target, so a reader (or a crash, or a
``kill -9``) sees either the previous complete file or the new complete file, never a
half-written one. The data are serialised *before* the temporary file is opened, so a save that
fails (an unserialisable entry) leaves the previous file untouched. A temporary file is removed
when its write fails; one left behind by a killed process (its PID no longer runs) is removed by
the next write to the same target, and readers never look at temporary files.

Reading: :func:`read_json` / :func:`parse_json` and :func:`load_npz` turn every problem with a
file (missing, a directory, empty, truncated, foreign, nested 100,000 levels deep, a pickle
inside) into a ``ValueError`` that names the file; they never execute code
(``np.load(allow_pickle=False)``).

Examples
--------
>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "x.json")
>>> atomic_write_json(p, {"a": [1, 2]}, "example")
>>> read_json(p, "example")
{'a': [1, 2]}
>>> atomic_write_json(p, {"a": object()}, "example")
Traceback (most recent call last):
...
ValueError: cannot write example file ...: Object of type object is not JSON serializable
>>> read_json(p, "example")
{'a': [1, 2]}
>>> parse_json("[" * 100000, "share string")
Traceback (most recent call last):
...
ValueError: share string is nested too deeply (more than 64 levels)
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "atomic_write",
    "atomic_write_json",
    "atomic_savez",
    "json_text",
    "temporary_files",
    "read_bytes",
    "read_json",
    "parse_json",
    "load_npz",
    "MAX_JSON_DEPTH",
]

#: Deepest nesting accepted in any JSON the kit reads (its own files nest at most 5 levels).
MAX_JSON_DEPTH = 64

def _tmp_prefix(path: str) -> str:
    return "." + os.path.basename(path) + ".tmp-"


def temporary_files(path: str | os.PathLike) -> list[str]:
    """Temporary files of writes to ``path`` that are on disk now (in flight or left by a kill)."""
    path = os.path.abspath(os.fspath(path))
    folder, prefix = os.path.dirname(path), _tmp_prefix(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, n) for n in names if n.startswith(prefix))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process (or an odd number): leave its file alone
    return True


def _clean_stale(path: str) -> None:
    """Remove temporary files of ``path`` whose writing process no longer runs."""
    prefix = _tmp_prefix(path)
    for tmp in temporary_files(path):
        pid = os.path.basename(tmp)[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _target(path: Any, what: str) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        raise ValueError(f"cannot write {what} file {path!r}: it is a directory")
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ValueError(f"cannot write {what} file {path!r}: folder {folder!r} does not exist")
    return path


def atomic_write(path: str | os.PathLike, data: bytes | str, what: str = "") -> None:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically (see the module docstring)."""
    what = what or "output"
    path = _target(path, what)
    if isinstance(data, str):
        data = data.encode("utf-8")
    _clean_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f"{_tmp_prefix(path)}{os.getpid()}-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(os.path.dirname(path), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - platforms without directory fsync
        pass


def json_text(obj: Any, what: str, **dumps_kw: Any) -> str:
    """``json.dumps(obj)``; an unserialisable or circular entry is a ``ValueError`` naming ``what``."""
    try:
        return json.dumps(obj, **dumps_kw)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"cannot write {what}: {exc}") from None


def atomic_write_json(path: str | os.PathLike, obj: Any, what: str = "", *, indent: int | None = None) -> None:
    """Serialise ``obj`` to JSON first, then :func:`atomic_write` it (a failure leaves the old file)."""
    what = what or "output"
    text = json_text(obj, f"{what} file {os.fspath(path)!r}", indent=indent)
    atomic_write(path, text + "\n", what)


def atomic_savez(path: str | os.PathLike, arrays: Mapping[str, Any], what: str = "", *,
                 compressed: bool = False) -> None:
    """Save ``arrays`` as an ``.npz`` atomically. Object arrays are refused (they would need pickle)."""
    what = what or "array"
    clean = {}
    for key, val in arrays.items():
        arr = np.asarray(val)
        if arr.dtype == object:
            raise ValueError(f"cannot write {what} file: array {key!r} has dtype object; "
                             "only numeric and string arrays are saved")
        clean[key] = arr
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **clean)
    atomic_write(path, buf.getvalue(), what)


# --------------------------------------------------------------------------- reading
def read_bytes(path: Any, what: str) -> bytes:
    """The bytes of ``path``; a missing file, a directory or an unreadable file is a ``ValueError``."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{what} path must be a str or os.PathLike, got {type(path).__name__}")
    p = os.fspath(path)
    if not os.path.exists(p):
        raise ValueError(f"{what} file {p!r} does not exist")
    if os.path.isdir(p):
        raise ValueError(f"{what} file {p!r} is a directory")
    try:
        with open(p, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ValueError(f"cannot read {what} file {p!r}: {exc}") from None


def _depth_ok(obj: Any, limit: int) -> bool:
    stack = [(obj, 1)]
    while stack:
        item, d = stack.pop()
        if isinstance(item, (list, dict)):
            if d > limit:
                return False
            stack.extend((v, d + 1) for v in (item.values() if isinstance(item, dict) else item))
    return True


def parse_json(text: str | bytes, what: str) -> Any:
    """Parse JSON text; syntax errors and nesting deeper than :data:`MAX_JSON_DEPTH` are ``ValueError``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{what} is not UTF-8 text: {exc}") from None
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a JSON string, got {type(text).__name__}")
    try:
        data = json.loads(text)
    except RecursionError:
        data = None
        deep = True
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None
    else:
        deep = not _depth_ok(data, MAX_JSON_DEPTH)
    if deep:
        raise ValueError(f"{what} is nested too deeply (more than {MAX_JSON_DEPTH} levels)")
    return data


def read_json(path: Any, what: str) -> Any:
    """Read and parse a JSON file (every problem is a ``ValueError`` naming the file)."""
    raw = read_bytes(path, what)
    return parse_json(raw, f"{what} file {os.fspath(path)!r}")


def load_npz(path: Any, required: list[str], what: str, magic: str | None = None) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (never unpickling); any problem is a ``ValueError``.

    Parameters
    ----------
    path : path-like
    required : list of str
        Keys that must be present.
    what : str
        Kind of file, for error messages.
    magic : str, optional
        Expected value of the scalar string array ``"magic"`` (the file-format marker).
    """
    raw = read_bytes(path, what)
    p = os.fspath(path)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            if not hasattr(npz, "files"):
                raise ValueError("not an .npz archive")
            out = {key: npz[key] for key in npz.files}
    except ValueError as exc:
        raise ValueError(f"{p!r} is not a valid {what} file: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - BadZipFile, EOFError, OSError, zlib errors, ...
        raise ValueError(
            f"{p!r} is not a valid {what} file (truncated or foreign?): {type(exc).__name__}: {exc}"
        ) from None
    missing = [key for key in required + (["magic"] if magic else []) if key not in out]
    if missing:
        raise ValueError(f"{p!r} is not a valid {what} file: missing arrays {missing}")
    if magic is not None and (out["magic"].shape != () or str(out["magic"]) != magic):
        raise ValueError(f"{p!r} is not an rnnexplore {what} file (wrong magic)")
    return out
