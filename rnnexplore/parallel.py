"""One executor interface for every batch of independent work in the kit.

Bifurcation sweeps, many training runs and feature-quality sweeps all go through
:func:`parallel_map`. Work functions must be top-level (picklable) and take plain data;
seeds come from the work item itself, so results never depend on the executor or on
the chunking.

Examples
--------
>>> from rnnexplore.parallel import parallel_map
>>> parallel_map(abs, [-1, -2, 3])
[1, 2, 3]

With a process pool or a Dask cluster::

    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(2) as ex:
        parallel_map(work, items, executor=ex)

    from dask.distributed import Client
    client = Client()                     # or Client("scheduler:8786")
    parallel_map(work, items, executor=client.get_executor())

    from rnnexplore.parallel import local_cluster
    with local_cluster(2) as cluster, Client(cluster) as client:   # lean workers on this machine
        parallel_map(work, items, executor=client.get_executor())

Work that keeps state between rounds (the tiles of a bifurcation sweep) goes through
:class:`Resident`: the state of every key stays where its work runs (in-process, or on the
Dask worker that ran the key's first task), so a round ships only its small inputs and results.
"""

from __future__ import annotations

import concurrent.futures
import functools
import itertools
import math
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

from rnnexplore._validation import check_callable, check_executor, check_int

__all__ = ["LEAN_DASK_CONFIG", "Resident", "chunked", "local_cluster", "n_workers", "parallel_map", "progress_bar"]


class _NoBar:
    """Stands in for a tqdm bar when no progress is shown."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass


@contextmanager
def progress_bar(progress: bool | str, total: int, desc: str | None = None, **kwargs: Any) -> Iterator[Any]:
    """A ``tqdm.auto`` bar when ``progress`` is true (a string is its description), else a no-op bar.

    The one progress-bar policy of the kit: tqdm is imported only when a bar is shown, and the
    bar is closed when the block ends, also on errors.

    Examples
    --------
    >>> with progress_bar(False, 10) as bar:
    ...     bar.update(3)
    """
    if not progress:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=progress if isinstance(progress, str) else desc, **kwargs)
    try:
        yield bar
    finally:
        bar.close()


def chunked(items: Sequence[Any], chunksize: int) -> list[list[Any]]:
    """Split ``items`` into consecutive lists of at most ``chunksize`` elements."""
    chunksize = check_int(chunksize, "chunksize", minimum=1)
    return [list(items[i : i + chunksize]) for i in range(0, len(items), chunksize)]


def _run_chunk(func: Callable[[Any], Any], chunk: list[Any]) -> list[Any]:
    with batch_friendly_malloc():
        return [func(item) for item in chunk]


# glibc: a MALLOC_TRIM_THRESHOLD_ in the environment (Dask's nanny sets 65536 in every worker,
# ``distributed.nanny.pre-spawn-environ``) also pins the mmap threshold at 128 KiB, so every
# batched array above it is a fresh mmap whose pages fault in one by one (measured on a tile of
# the paper's map: 40x the page faults, about 1.35x the CPU time of the same work in-process)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MALLOC_LOCK = threading.Lock()
_MALLOC_USERS = [0]


@functools.lru_cache(maxsize=1)
def _glibc() -> Any:
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:  # pragma: no cover - not glibc
        return None


@contextmanager
def batch_friendly_malloc() -> Iterator[None]:
    """Let glibc keep freed memory while the block runs, when the environment pinned it low.

    Only when ``MALLOC_TRIM_THRESHOLD_`` is set (as in every Dask worker): the trim and mmap
    thresholds are raised for the block (nested and concurrent blocks share one raise) and put
    back afterwards, with a ``malloc_trim(0)`` so the memory goes back to the system as the
    environment asked. Elsewhere (a plain process) it does nothing.

    Examples
    --------
    >>> with batch_friendly_malloc():
    ...     total = sum(range(10))
    """
    trim = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    libc = _glibc() if trim is not None else None
    if libc is None:
        yield
        return
    with _MALLOC_LOCK:
        _MALLOC_USERS[0] += 1
        if _MALLOC_USERS[0] == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
            libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    try:
        yield
    finally:
        with _MALLOC_LOCK:
            _MALLOC_USERS[0] -= 1
            if _MALLOC_USERS[0] == 0:
                libc.mallopt(_M_TRIM_THRESHOLD, int(trim) if trim.isdigit() else 128 << 10)
                mmap = os.environ.get("MALLOC_MMAP_THRESHOLD_", "")
                libc.mallopt(_M_MMAP_THRESHOLD, int(mmap) if mmap.isdigit() else 128 << 10)
                libc.malloc_trim(0)


def n_workers(executor: Executor | None) -> int:
    """Number of workers of an executor (1 for ``None``: in-process).

    Reads ``_max_workers`` of the standard-library pools and the thread count of a Dask
    client's executor; 2 when the executor does not say.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(3) as ex:
    ...     n_workers(ex)
    3
    >>> n_workers(None)
    1
    """
    executor = check_executor(executor)
    if executor is None:
        return 1
    for attr in ("_max_workers",):
        n = getattr(executor, attr, None)
        if isinstance(n, int) and n > 0:
            return n
    client = getattr(executor, "_client", None)  # dask.distributed ClientExecutor
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # pragma: no cover - cluster without info
            return 2
    return 2


def parallel_map(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    executor: Executor | None = None,
    chunksize: int | None = None,
    progress: bool | str = False,
) -> list[Any]:
    """Apply ``func`` to every item, in order, optionally on an executor.

    Parameters
    ----------
    func : callable
        A top-level function of one argument (must be picklable for process pools and
        Dask).
    items : iterable
        Work items (plain data). Results are returned in the same order.
    executor : concurrent.futures.Executor, optional
        ``None`` runs in-process. Any executor works: ``ThreadPoolExecutor``,
        ``ProcessPoolExecutor`` or a Dask client's ``get_executor()``.
    chunksize : int, optional
        Items per submitted task. Defaults to about four chunks per worker so that
        per-task overhead stays small while the load stays balanced.
    progress : bool or str
        Show a ``tqdm.auto`` progress bar (a string is used as its description).

    Returns
    -------
    list
        ``[func(item) for item in items]``.
    """
    check_callable(func, "func", allow_none=False)
    executor = check_executor(executor)
    chunksize = check_int(chunksize, "chunksize", minimum=1, allow_none=True)
    items = list(items)
    with progress_bar(progress, len(items)) as bar:
        if executor is None:
            out = []
            for item in items:
                out.append(func(item))
                bar.update(1)
            return out
        if chunksize is None:
            chunksize = max(1, math.ceil(len(items) / (4 * n_workers(executor))))
        chunks = chunked(items, chunksize)
        futures = [executor.submit(_run_chunk, func, chunk) for chunk in chunks]
        results: list[Any] = []
        for fut, chunk in zip(futures, chunks):
            results.extend(fut.result())
            bar.update(len(chunk))
        return results


# =========================================================================== local Dask cluster
#: Dask settings of :func:`local_cluster` (keys of ``distributed.yaml``): the monitors that
#: serve the dashboard run less often, so that on a small machine the workers' CPU goes to the
#: work. Each is Dask's default for anything else.
LEAN_DASK_CONFIG: dict[str, Any] = {
    # the statistical profiler samples every worker's task thread every 10 ms (dashboard "Profile")
    "distributed.worker.profile.enabled": False,
    # host CPU / memory / network samples for the dashboard, every 500 ms by default
    "distributed.admin.system-monitor.interval": "2s",
    # the memory limits (spill / pause / terminate) are checked every 100 ms by default
    "distributed.worker.memory.monitor-interval": "500ms",
    # event-loop health checks (they only warn), every 20 ms by default
    "distributed.admin.tick.interval": "1s",
    # Resident places its steps itself (on the worker holding the state); other tasks queue
    # on the scheduler until a thread is free
    "distributed.scheduler.work-stealing": False,
}


def local_cluster(n_workers: int = 2, *, lean: bool = True, **kwargs: Any) -> Any:
    """A ``dask.distributed.LocalCluster`` of single-threaded worker processes for the kit's work.

    Every worker is one process with one thread (the kit's batched numerics are single-threaded
    by design, so a process per core is the unit), no dashboard, and with ``lean`` the settings
    of :data:`LEAN_DASK_CONFIG` (Dask's worker profiler off, its system and memory monitors
    and event-loop checks run less often, no work stealing), and the workers start without
    ``MALLOC_TRIM_THRESHOLD_`` in their environment, so glibc's allocator behaves as in a
    plain Python process. (Dask's nanny sets it to 65536, and also writes it into the
    starting process's ``os.environ``, so an earlier default cluster would pass it on. It
    makes glibc hand memory back sooner, but it also pins the mmap threshold at 128 KiB, so
    every large array is a fresh mapping whose pages fault in one by one: about 10% more CPU
    per bifurcation sweep, measured.) The settings hold for this cluster's scheduler and
    workers only; the global Dask configuration and ``os.environ`` are left as they were.

    Parameters
    ----------
    n_workers : int
        Worker processes (default 2).
    lean : bool
        Apply :data:`LEAN_DASK_CONFIG` (default); ``False`` gives Dask's defaults.
    **kwargs
        Passed on to ``LocalCluster`` (they override ``threads_per_worker=1``,
        ``processes=True`` and ``dashboard_address=None``).

    Returns
    -------
    distributed.LocalCluster
        Use as a context manager, with a ``Client`` on it.

    Examples
    --------
    >>> from dask.distributed import Client                      # doctest: +SKIP
    >>> import rnnexplore as rx                                  # doctest: +SKIP
    >>> with rx.parallel.local_cluster(2) as cluster, Client(cluster) as client:  # doctest: +SKIP
    ...     bm = rx.sweep(rx.paper_gt16(), grid, max_order=16, executor=client.get_executor())
    """
    n_workers = check_int(n_workers, "n_workers", minimum=1)
    if not isinstance(lean, bool):
        raise ValueError(f"lean must be True or False, got {lean!r}")
    import dask
    from distributed import LocalCluster

    options = {"threads_per_worker": 1, "processes": True, "dashboard_address": None, **kwargs}
    if not lean:
        return LocalCluster(n_workers=n_workers, **options)
    with dask.config.set({**LEAN_DASK_CONFIG, f"distributed.nanny.pre-spawn-environ.{_TRIM}": None}), \
            _without_env(_TRIM):
        return LocalCluster(n_workers=n_workers, **options)


_TRIM = "MALLOC_TRIM_THRESHOLD_"


@contextmanager
def _without_env(name: str) -> Iterator[None]:
    """``name`` out of ``os.environ`` while the block runs (processes started in it lack it)."""
    old = os.environ.pop(name, None)
    try:
        yield
    finally:
        if old is not None:
            os.environ[name] = old


# =========================================================================== resident state
_STATES: dict[tuple[str, Any], Any] = {}  # worker side: (session token, key) -> state
_STATES_LOCK = threading.Lock()


def _dask_client(executor: Any) -> Any:
    """The ``dask.distributed.Client`` behind an executor (a Client or its ``get_executor()``), or None."""
    if executor is None:
        return None
    client = getattr(executor, "_client", executor)
    if type(client).__module__.startswith("distributed") and hasattr(client, "scheduler_info"):
        return client
    return None


def _resident_call(func: Callable[[Any, Any], tuple[Any, Any]], token: str, key: Any, item: Any,
                   has_state: bool) -> Any:
    """Worker side of :class:`Resident` on Dask: the key's state from this process, one step."""
    with _STATES_LOCK:
        state = _STATES.pop((token, key), None)
    if has_state and state is None:
        raise RuntimeError(f"the state of {key!r} is not on this worker any more (was the worker restarted?)")
    with batch_friendly_malloc():
        state, result = func(state, item)
    if state is not None:
        with _STATES_LOCK:
            _STATES[(token, key)] = state
    return result, state is not None


_PIPELINE = 2  # calls sent to a worker's runner at a time, per worker thread
_RUNNERS: "weakref.WeakKeyDictionary[Any, dict[str, tuple]]" = weakref.WeakKeyDictionary()  # client -> runners


class _Runner:
    """A Dask actor on one worker: runs :class:`Resident` steps on the worker's own task
    threads (as many at a time as the worker has threads). A call goes from the client
    straight to the worker and back (no scheduler task per step)."""

    async def step(self, func: Callable[[Any, Any], tuple[Any, Any]], token: str, key: Any, item: Any,
                   has_state: bool) -> tuple[Any, bool]:
        import asyncio

        from distributed import get_worker

        pool = get_worker().executors["default"]
        return await asyncio.get_running_loop().run_in_executor(
            pool, _resident_call, func, token, key, item, has_state)


async def _first_done(futures: list[Any]) -> list[tuple[int, bool, Any]]:
    """Client loop: wait for the first of some actor calls; ``(index, ok, result or error)``
    of every one that has finished."""
    import asyncio

    async def outcome(f: Any) -> tuple[bool, Any]:
        try:
            return True, await f
        except Exception as exc:  # handed to the caller, which raises it
            return False, exc

    tasks = [asyncio.ensure_future(outcome(f)) for f in futures]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    out = [(n, *t.result()) for n, t in enumerate(tasks) if t.done()]
    for t in tasks:
        if not t.done():
            t.cancel()
    return out


def _shipped_call(func: Callable[[Any, Any], tuple[Any, Any]], state: Any, item: Any) -> tuple[Any, Any]:
    with batch_friendly_malloc():
        return func(state, item)


def _drop_states(token: str) -> int:
    with _STATES_LOCK:
        keys = [k for k in _STATES if k[0] == token]
        for k in keys:
            del _STATES[k]
    return len(keys)


class Resident:
    """Keyed work whose state stays where it runs between steps.

    ``func(state, item) -> (state, result)`` is one step of the work of a key: ``state`` is
    what the key's previous step returned (``None`` the first time); returning ``None`` as
    the state ends the key. The state never comes back to the caller unless the executor
    cannot keep it:

    - ``None`` (in-process): states in a dict here;
    - a Dask client or its ``get_executor()``: a runner actor on each worker runs the steps
      on the worker's task threads, each call straight from here to its worker and back (no
      scheduler task per step; a worker takes a second call per thread while it runs one, so
      it never waits for this side); steps wait here, highest priority first, for a free
      slot: a key's first step on the least busy worker, later steps on the same worker,
      whose process keeps the state (a step ships its item and result only);
    - any other executor (thread or process pools): the state travels with each step
      (pickled for process pools).

    Steps go in as a batch (:meth:`map`: one step for each of some keys, results in order)
    or one at a time (:meth:`submit`, then :meth:`next_done` as they finish, so the caller
    can start a key's next step as soon as what it needs is there, without waiting for a
    whole round). The results never depend on the executor: the same steps run on the same
    states. Use as a context manager (or call :meth:`close`) so worker-side states are freed.

    Examples
    --------
    >>> def count(state, item):
    ...     state = (state or 0) + item
    ...     return state, state
    >>> with Resident() as res:
    ...     res.map(count, {"a": 1, "b": 10})
    ...     res.map(count, {"a": 2})
    ...     res.submit(count, "b", 5)
    ...     res.next_done()
    [1, 10]
    [3]
    ('b', 15)
    """

    _ids = itertools.count()

    def __init__(self, executor: Executor | None = None) -> None:
        self.executor = check_executor(executor)
        self.client = _dask_client(self.executor)
        self.token = f"{uuid.uuid4().hex}-{next(self._ids)}"
        self.where: dict[Any, str] = {}  # Dask: key -> worker address
        self.states: dict[Any, Any] = {}  # elsewhere: key -> state
        self._running: dict[Any, Any] = {}  # key -> future (in-process: (func, item); Dask: (call, worker))
        self._done: list[tuple[Any, Any]] = []  # finished steps not handed out yet
        # Dask: one runner actor per worker; steps wait here, highest priority first, for a free
        # call slot on their key's worker (a key's first step: on the least busy worker)
        self._runners: dict[str, Any] = {}  # worker address -> (actor future, actor)
        self._slots: dict[str, int] = {}  # worker address -> calls it takes at a time
        self._free: dict[str, int] = {}  # worker address -> its free call slots
        self._runners_at = 0.0
        self._queued: dict[Any, tuple[int, int, Callable, Any]] = {}  # key -> (-priority, order, func, item)
        self._order = itertools.count()

    @property
    def running(self) -> int:
        """Number of submitted steps whose results :meth:`next_done` has not returned yet."""
        return len(self._running) + len(self._done) + len(self._queued)

    def submit(self, func: Callable[[Any, Any], tuple[Any, Any]], key: Any, item: Any, priority: int = 0) -> None:
        """Start one step of ``key`` (which must have no step running); higher ``priority``
        runs first where the executor has a choice. Its result comes from :meth:`next_done`."""
        check_callable(func, "func", allow_none=False)
        if key in self._running or key in self._queued or any(k == key for k, _ in self._done):
            raise ValueError(f"key {key!r} already has a step running")
        if self.executor is None:
            self._running[key] = (func, item)
        elif self.client is not None:
            self._start_runners(self.where.get(key))
            if key in self.where and self.where[key] not in self._runners:
                raise RuntimeError(f"the worker holding the state of {key!r} ({self.where[key]}) is gone")
            self._queued[key] = (-priority, next(self._order), func, item)
            self._dispatch()
        else:
            self._running[key] = self.executor.submit(_shipped_call, func, self.states.pop(key, None), item)

    def _start_runners(self, need: str | None = None) -> None:
        """Dask: a runner actor on every worker not yet served, when none are known, ``need``
        is not among them, or the list is older than a second; workers that left are dropped.
        The actors hold no state (that is in the worker's process, by token), so every
        :class:`Resident` on a client shares them."""
        if self._runners and (need is None or need in self._runners) and time.monotonic() - self._runners_at < 1.0:
            return
        workers = self.client.nthreads()
        self._runners_at = time.monotonic()
        shared = _RUNNERS.setdefault(self.client, {})
        for w in [w for w in shared if w not in workers]:
            del shared[w]
        new = {w: self.client.submit(_Runner, actor=True, workers=[w], allow_other_workers=False, pure=False)
               for w in workers if w not in shared}
        for w, fut in new.items():
            shared[w] = (fut, fut.result())
        for w in [w for w in self._runners if w not in shared]:
            del self._runners[w], self._free[w], self._slots[w]
        for w, runner in shared.items():
            if w not in self._runners:
                self._runners[w] = runner
                # a worker takes a second call per thread while it runs one (the call waits
                # there, so the worker never waits for this side between steps)
                self._slots[w] = self._free[w] = max(1, workers[w]) * _PIPELINE

    def _dispatch(self) -> None:
        """Dask: send queued steps, highest priority first, to workers with a free call slot."""
        for key, (_, _, func, item) in sorted(self._queued.items(), key=lambda kv: kv[1][:2]):
            w = self.where.get(key)
            if w is None:  # a first step: the least busy worker (in address order on ties)
                w = max(self._runners, key=lambda a: (self._free[a] / self._slots[a], a))
            if not self._free[w]:
                continue
            del self._queued[key]
            self._free[w] -= 1
            call = self._runners[w][1].step(func, self.token, key, item, key in self.where)
            self._running[key] = (call, w)

    def next_done(self) -> tuple[Any, Any]:
        """``(key, result)`` of a submitted step that has finished (waits for one; in-process,
        runs the oldest). Raises what the step raised."""
        if not self._done:
            if not self._running and not self._queued:
                raise ValueError("no step is running")
            self._done = self._collect()
        return self._done.pop(0)

    def _collect(self) -> list[tuple[Any, Any]]:
        """Every finished step (at least one), in submission order."""
        if self.executor is None:
            key = next(iter(self._running))
            func, item = self._running.pop(key)
            state, res = func(self.states.pop(key, None), item)
            if state is not None:
                self.states[key] = state
            return [(key, res)]
        if self.client is not None:
            return self._collect_dask()
        futs = list(self._running.values())
        if all(isinstance(f, concurrent.futures.Future) for f in futs):
            done = concurrent.futures.wait(futs, return_when=concurrent.futures.FIRST_COMPLETED).done
        else:  # an executor whose handles only have result() (e.g. an app's streaming wrapper): the oldest
            done = {futs[0]}
        out = []
        for k in [k for k, f in self._running.items() if f in done]:
            state, res = self._running.pop(k).result()
            if state is not None:
                self.states[k] = state
            out.append((k, res))
        return out

    def _collect_dask(self) -> list[tuple[Any, Any]]:
        """Dask: the steps that have finished (at least one); then the queued steps that now
        have a free slot go out, also when a step failed (its error is raised, the other
        results are kept for :meth:`next_done`)."""
        keys = list(self._running)
        finished = self.client.sync(_first_done, [self._running[k][0] for k in keys])
        out, error = [], None
        for n, ok, value in finished:
            key = keys[n]
            w = self._running.pop(key)[1]
            if w in self._free:
                self._free[w] += 1
            if not ok:  # the step took its state with it (as on every executor): the key starts again
                self.where.pop(key, None)
                error = error or value
                continue
            res, kept = value
            if kept:
                self.where[key] = w
            else:
                self.where.pop(key, None)
            out.append((key, res))
        self._dispatch()
        if error is not None:
            self._done.extend(out)  # the others' results stay for the next calls
            raise error
        return out

    def map(self, func: Callable[[Any, Any], tuple[Any, Any]], items: Mapping[Any, Any],
            progress: bool | str = False) -> list[Any]:
        """One step for every key of ``items`` (``{key: item}``, submitted in that order, the
        first with the highest priority); returns the results in the same order."""
        check_callable(func, "func", allow_none=False)
        if self.running:
            raise ValueError("map needs every submitted step collected first (next_done)")
        keys = list(items)
        for n, k in enumerate(keys):
            self.submit(func, k, items[k], priority=len(keys) - n)
        results = {}
        with progress_bar(progress, len(keys)) as bar:
            while len(results) < len(keys):
                k, res = self.next_done()
                results[k] = res
                bar.update(1)
        return [results[k] for k in keys]

    def close(self) -> None:
        """Free every state still held (here and on the workers)."""
        self.states.clear()
        if self.client is not None and self.where:
            try:
                self.client.run(_drop_states, self.token)
            except Exception:  # pragma: no cover - cluster already gone; its states went with it
                pass
            self.where.clear()
        self._runners.clear()  # the actors stay with the client (they hold no state)
        self._free.clear()
        self._slots.clear()

    def __enter__(self) -> Resident:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
