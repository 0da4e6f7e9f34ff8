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


def test_progress_bar_is_closed_on_errors_and_a_no_op_when_off():
    from rnnexplore.parallel import progress_bar

    with progress_bar(False, 5) as bar:
        bar.update(2)
        bar.set_postfix(loss="1")
    pytest.importorskip("tqdm")
    with pytest.raises(RuntimeError):
        with progress_bar("work", 5, leave=False) as bar:
            bar.update(1)
            raise RuntimeError("boom")
    assert bar.n == 1 and bar.desc.startswith("work")
    assert bar not in type(bar)._instances  # closed when the block raised
