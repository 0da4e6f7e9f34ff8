"""Long work off the kernel's main thread: one background-job runner for every app.

An app hands :class:`Job` a function ``fn(report)``; the job runs it in a daemon thread, so
the kernel keeps answering (other cells run, widgets stay live). The function calls
``report(fraction, message)`` between units of work (a tile of a map, a training step, a
checkpoint): that updates :attr:`Job.progress` and is the cancellation point - after
:meth:`Job.cancel` the next ``report`` raises :class:`Cancelled`, so the work stops within one
unit and no partial result is delivered. Callbacks (``on_progress``, ``on_done``,
``on_error``, ``on_cancel``) run in the worker thread; views use them to move a progress bar and to draw
the finished result from the state (the previous picture stays until then).

Examples
--------
>>> def work(report):
...     total = 0
...     for i in range(5):
...         report(i / 5, f"step {i}")
...         total += i
...     return total
>>> job = Job(work).start()
>>> job.wait(5.0).result, job.state
(10, 'done')
>>> import threading
>>> gate = threading.Event()
>>> def slow(report):
...     while True:
...         report(0.0)
...         gate.wait(0.01)
>>> stopped = []
>>> job = Job(slow, on_cancel=lambda: stopped.append("bye")).start()
>>> job.cancel().wait(5.0).state, stopped
('cancelled', ['bye'])
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from rnnexplore._validation import check_callable

__all__ = ["Job", "Cancelled"]


class Cancelled(Exception):
    """Raised inside a job's function by ``report`` once the job was cancelled."""


class Job:
    """Run ``fn(report)`` in a background thread with progress and cancellation.

    Parameters
    ----------
    fn : callable
        ``fn(report) -> result``; must call ``report(fraction, message=None)`` regularly.
    on_progress : callable, optional
        ``on_progress(fraction, message)`` after every report.
    on_done : callable, optional
        ``on_done(result)`` when ``fn`` returned (not called when cancelled or failed).
    on_error : callable, optional
        ``on_error(exc, traceback_text)`` when ``fn`` raised (not for cancellation).
    on_cancel : callable, optional
        ``on_cancel()`` when the job ended cancelled (``fn`` stopped at a ``report`` after
        :meth:`cancel`, or returned after it: the result is then dropped). Runs once, in the
        worker thread, before :meth:`wait` returns.
    name : str
        Thread name (shown in debuggers).

    Attributes
    ----------
    state : str
        ``"new"``, ``"running"``, ``"done"``, ``"cancelled"`` or ``"failed"``.
    progress : (float, str)
        Last reported fraction in [0, 1] and message.
    result, error : the return value, or the exception (with ``traceback``).
    elapsed : float
        Seconds since :meth:`start` (until the end when finished).
    """

    def __init__(self, fn: Callable[[Callable[..., None]], Any], *, on_progress: Callable | None = None,
                 on_done: Callable | None = None, on_error: Callable | None = None,
                 on_cancel: Callable | None = None, name: str = "rnnexplore-job") -> None:
        self._fn = check_callable(fn, "fn", allow_none=False)
        self._on_progress = check_callable(on_progress, "on_progress")
        self._on_done = check_callable(on_done, "on_done")
        self._on_error = check_callable(on_error, "on_error")
        self._on_cancel = check_callable(on_cancel, "on_cancel")
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.state = "new"
        self.progress: tuple[float, str] = (0.0, "")
        self.result: Any = None
        self.error: BaseException | None = None
        self.traceback: str | None = None
        self._t0 = self._t1 = None

    # ------------------------------------------------------------------ control
    def start(self) -> "Job":
        """Start the worker thread (once); returns the job."""
        if self.state != "new":
            raise ValueError(f"a job starts once; this one is {self.state}")
        self.state = "running"
        self._t0 = time.perf_counter()
        self._thread.start()
        return self

    def cancel(self) -> "Job":
        """Ask the work to stop at its next ``report``; returns the job (see :meth:`wait`)."""
        self._cancel.set()
        return self

    def wait(self, timeout: float | None = None) -> "Job":
        """Block until the job has finished (or ``timeout`` seconds passed); returns the job."""
        if self.state != "new":
            self._finished.wait(timeout)
        return self

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def elapsed(self) -> float:
        if self._t0 is None:
            return 0.0
        return (self._t1 if self._t1 is not None else time.perf_counter()) - self._t0

    # ------------------------------------------------------------------ worker side
    def _report(self, fraction: float = 0.0, message: str | None = None) -> None:
        if self._cancel.is_set():
            raise Cancelled()
        f = min(max(float(fraction), 0.0), 1.0)
        self.progress = (f, "" if message is None else str(message))
        if self._on_progress is not None:
            self._on_progress(*self.progress)

    def _run(self) -> None:
        try:
            result = self._fn(self._report)
            if self._cancel.is_set():
                raise Cancelled()
        except Cancelled:
            self.state = "cancelled"
            if self._on_cancel is not None:
                self._safe(self._on_cancel)
        except BaseException as exc:  # noqa: BLE001 - delivered to the caller, never lost
            self.error, self.traceback = exc, traceback.format_exc()
            self.state = "failed"
            if self._on_error is not None:
                self._safe(self._on_error, exc, self.traceback)
        else:
            self.result = result
            self.progress = (1.0, self.progress[1])
            self.state = "done"
            if self._on_done is not None:
                self._safe(self._on_done, result)
        finally:
            self._t1 = time.perf_counter()
            self._finished.set()

    def _safe(self, cb: Callable, *args: Any) -> None:
        try:
            cb(*args)
        except BaseException:  # noqa: BLE001 - a failing view callback must not kill the record
            self.traceback = (self.traceback or "") + traceback.format_exc()

    def __repr__(self) -> str:
        f, msg = self.progress
        return f"Job({self.state}, {100 * f:.0f}%{': ' + msg if msg else ''}, {self.elapsed:.1f} s)"
