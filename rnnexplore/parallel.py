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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

from rnnexplore._validation import check_callable, check_executor, check_int

__all__ = ["parallel_map", "chunked", "n_workers", "progress_bar"]


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
    return [func(item) for item in chunk]


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
