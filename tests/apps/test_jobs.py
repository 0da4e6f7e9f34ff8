"""The background-job runner: results, progress, cancellation within one unit, errors kept."""

from __future__ import annotations

import threading
import time

import pytest

from rnnexplore.apps.jobs import Job


def test_result_and_progress_are_delivered():
    seen = []
    done = []
    job = Job(lambda report: [report(i / 4, f"{i}") for i in range(4)] and "ok",
              on_progress=lambda f, m: seen.append((f, m)), on_done=done.append).start()
    assert job.wait(5).state == "done" and job.result == "ok" and done == ["ok"]
    assert [m for _, m in seen] == ["0", "1", "2", "3"] and job.progress[0] == 1.0


def test_cancel_stops_at_the_next_report_and_delivers_nothing():
    units = []
    done = []

    def work(report):
        for i in range(10_000):
            report(i / 10_000)
            units.append(i)
            time.sleep(0.001)
        return "finished"

    job = Job(work, on_done=done.append).start()
    while len(units) < 5:
        time.sleep(0.001)
    t0 = time.perf_counter()
    job.cancel().wait(5)
    assert job.state == "cancelled" and job.result is None and done == []
    assert time.perf_counter() - t0 < 1.0
    n = len(units)
    time.sleep(0.05)
    assert len(units) == n  # the worker really stopped


def test_the_main_thread_stays_free_while_a_job_runs():
    gate = threading.Event()
    job = Job(lambda report: gate.wait(5) and "released").start()
    assert job.running  # we got here while the job is blocked
    gate.set()
    assert job.wait(5).result == "released"


def test_errors_are_kept_with_their_traceback():
    errors = []

    def work(report):
        raise RuntimeError("kaputt")

    job = Job(work, on_error=lambda e, tb: errors.append(e)).start().wait(5)
    assert job.state == "failed" and isinstance(job.error, RuntimeError)
    assert "kaputt" in job.traceback and len(errors) == 1


def test_bad_arguments_and_double_start_are_refused():
    with pytest.raises(ValueError, match="fn must be callable"):
        Job(5)
    with pytest.raises(ValueError, match="on_done must be callable"):
        Job(lambda r: None, on_done=3)
    job = Job(lambda r: None).start().wait(5)
    with pytest.raises(ValueError, match="starts once"):
        job.start()


def test_on_cancel_runs_once_when_cancelled_and_never_otherwise():
    cancelled, done, errors = [], [], []
    gate = threading.Event()

    def slow(report):
        while True:
            report(0.5)
            gate.wait(0.001)

    job = Job(slow, on_cancel=lambda: cancelled.append(threading.current_thread().name),
              on_done=done.append, on_error=lambda e, tb: errors.append(e), name="w").start()
    job.cancel().wait(5)
    assert job.state == "cancelled" and cancelled == ["w"] and done == [] and errors == []

    # cancelled after the work's last report: the result is dropped, on_cancel still runs
    after = []

    def finishes_after_cancel(report):
        report(0.0)
        gate2.wait(5)
        return "late"

    gate2 = threading.Event()
    job = Job(finishes_after_cancel, on_cancel=lambda: after.append(1), on_done=done.append).start()
    job.cancel()
    gate2.set()
    assert job.wait(5).state == "cancelled" and job.result is None and after == [1] and done == []

    # finished or failed jobs do not call it
    never = []
    assert Job(lambda r: 1, on_cancel=lambda: never.append(1)).start().wait(5).state == "done"

    def fails(report):
        raise RuntimeError("x")

    assert Job(fails, on_cancel=lambda: never.append(1)).start().wait(5).state == "failed"
    assert never == []
    with pytest.raises(ValueError, match="on_cancel must be callable"):
        Job(lambda r: None, on_cancel="no")


def test_a_failing_on_cancel_does_not_lose_the_cancelled_state():
    def boom():
        raise RuntimeError("view broke")

    def slow(report):
        while True:
            report(0.0)
            time.sleep(0.001)

    job = Job(slow, on_cancel=boom).start()
    job.cancel().wait(5)
    assert job.state == "cancelled" and "view broke" in job.traceback
