from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from rnnexplore.parallel import chunked, parallel_map


def _square(x):
    return x * x


def test_serial_thread_and_process_agree():
    items = list(range(23))
    want = [x * x for x in items]
    assert parallel_map(_square, items) == want
    with ThreadPoolExecutor(2) as ex:
        assert parallel_map(_square, items, executor=ex, chunksize=5) == want
    with ProcessPoolExecutor(2) as ex:
        assert parallel_map(_square, items, executor=ex) == want


def test_progress_bar_and_empty():
    assert parallel_map(_square, [], progress=True) == []
    assert parallel_map(_square, [3], progress="squares") == [9]


def test_chunked_and_errors():
    assert chunked([1, 2, 3], 2) == [[1, 2], [3]]
    with pytest.raises(ValueError, match="chunksize"):
        chunked([1], 0)
    with pytest.raises(ValueError, match="callable"):
        parallel_map(3, [1])
