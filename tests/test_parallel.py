import os
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


def _running_sum(state, item):
    """A Resident step: the state is the running sum; item None ends the key."""
    if item is None:
        return None, state
    state = (state or 0) + item
    return state, state


def _rounds(executor):
    from rnnexplore.parallel import Resident

    with Resident(executor) as res:
        out = [res.map(_running_sum, {"a": 1, "b": 10, "c": 100})]
        out.append(res.map(_running_sum, {"c": 5, "a": 2}))  # any subset, any order
        out.append(res.map(_running_sum, {"a": None, "b": None, "c": None}))
        out.append(res.map(_running_sum, {"a": 7}))  # an ended key starts again from None
    return out


def test_resident_keeps_each_keys_state_on_every_executor():
    want = [[1, 10, 100], [105, 3], [3, 10, 105], [7]]
    assert _rounds(None) == want
    with ThreadPoolExecutor(2) as ex:
        assert _rounds(ex) == want
    with ProcessPoolExecutor(2) as ex:
        assert _rounds(ex) == want
    with pytest.raises(ValueError, match="callable"):
        from rnnexplore.parallel import Resident

        Resident().map(3, {"a": 1})


def _one_at_a_time(executor):
    """Keys stepped one at a time: a key's next step goes in when its last result is out."""
    from rnnexplore.parallel import Resident

    with Resident(executor) as res:
        for k in range(4):
            res.submit(_running_sum, k, k + 1, priority=k)
        with pytest.raises(ValueError, match="already has a step running"):
            res.submit(_running_sum, 2, 1)
        got, left = {}, {k: 3 for k in range(4)}  # three more steps per key, each adding 10
        while res.running:
            k, value = res.next_done()
            got.setdefault(k, []).append(value)
            if left[k]:
                left[k] -= 1
                res.submit(_running_sum, k, 10)
        with pytest.raises(ValueError, match="no step is running"):
            res.next_done()
    return got


def test_resident_steps_one_at_a_time_on_every_executor():
    want = {k: [k + 1, k + 11, k + 21, k + 31] for k in range(4)}  # closed form of the running sums
    assert _one_at_a_time(None) == want
    with ThreadPoolExecutor(3) as ex:
        assert _one_at_a_time(ex) == want
    with ProcessPoolExecutor(2) as ex:
        assert _one_at_a_time(ex) == want
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        assert _one_at_a_time(client.get_executor()) == want


def test_resident_on_dask_pins_keys_to_their_worker_and_frees_states():
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    import rnnexplore.parallel as par

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        assert _rounds(client.get_executor()) == [[1, 10, 100], [105, 3], [3, 10, 105], [7]]
        res = par.Resident(client)  # a Client works as well as its executor
        res.map(_running_sum, {k: k for k in range(6)})
        where = dict(res.where)
        assert set(where.values()) <= set(client.scheduler_info()["workers"])
        assert res.map(_running_sum, {k: 1 for k in range(6)}) == [k + 1 for k in range(6)]
        assert res.where == where  # every later step ran where the key's state lives
        assert sum(k[0] == res.token for k in par._STATES) == 6  # in-process workers: visible here
        res.close()
        assert not any(k[0] == res.token for k in par._STATES)
        with pytest.raises(RuntimeError, match="not on this worker"):  # a state lost on its worker
            res.where = where
            res.map(_running_sum, {0: 1})
        res.where = {0: "tcp://127.0.0.1:1"}
        with pytest.raises(RuntimeError, match="is gone"):  # its worker left the cluster
            res.map(_running_sum, {0: 1})


def test_batch_friendly_malloc_nests_and_is_a_no_op_without_the_variable(monkeypatch):
    import rnnexplore.parallel as par

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with par.batch_friendly_malloc():
        assert par._MALLOC_USERS[0] == 0
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with ThreadPoolExecutor(3) as ex:
        assert parallel_map(_square, range(9), executor=ex, chunksize=1) == [x * x for x in range(9)]
    with par.batch_friendly_malloc(), par.batch_friendly_malloc():  # nested
        assert par._MALLOC_USERS[0] == (2 if par._glibc() is not None else 0)
    assert par._MALLOC_USERS[0] == 0


def _worker_settings(dask_worker=None):
    import dask

    return {"profile": dask.config.get("distributed.worker.profile.enabled"),
            "profiling": "profile" in dask_worker.periodic_callbacks,
            "memory": dask.config.get("distributed.worker.memory.monitor-interval"),
            "nthreads": dask_worker.state.nthreads, "trim": os.environ.get("MALLOC_TRIM_THRESHOLD_")}


def test_local_cluster_is_lean_only_for_its_own_processes(monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as an earlier default cluster's nanny leaves it
    import dask
    from dask.distributed import Client

    import rnnexplore.parallel as par

    before = {k: dask.config.get(k) for k in par.LEAN_DASK_CONFIG}
    with par.local_cluster(2) as cluster, Client(cluster) as client:
        settings = list(client.run(_worker_settings).values())
        assert len(settings) == 2
        assert settings[0] == settings[1] == {"profile": False, "profiling": False, "memory": "500ms", "nthreads": 1,
                                              "trim": None}
        assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # this process's environment as it was
        assert "stealing" not in cluster.scheduler.extensions
        assert {k: dask.config.get(k) for k in par.LEAN_DASK_CONFIG} == before  # the global config is untouched
        # the same results as in-process, on worker processes that keep the keys' states
        assert _one_at_a_time(client.get_executor()) == {k: [k + 1, k + 11, k + 21, k + 31] for k in range(4)}
    with par.local_cluster(1, lean=False) as cluster, Client(cluster) as client:
        got = list(client.run(_worker_settings).values())[0]
        assert got["profiling"] == before["distributed.worker.profile.enabled"] and got["trim"] == "65536"
        assert "stealing" in cluster.scheduler.extensions
    with pytest.raises(ValueError, match="n_workers"):
        par.local_cluster(0)
    with pytest.raises(ValueError, match="lean"):
        par.local_cluster(2, lean="yes")


def _slow_step(state, item):
    import time

    time.sleep(item)
    return (state or 0) + 1, item


def test_resident_on_dask_runs_the_highest_priority_first_on_the_least_busy_worker():
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    import rnnexplore.parallel as par

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client, par.Resident(client) as res:
        # the only runner takes two calls (one runs, one waits there); the rest wait on this side
        res.submit(_slow_step, "busy", 0.3)
        res.submit(_slow_step, "next", 0.0)
        for key, priority in [("low", 1), ("high", 3), ("mid", 2)]:
            res.submit(_slow_step, key, 0.0, priority=priority)
        assert res.running == 5
        assert [res.next_done()[0] for _ in range(5)] == ["busy", "next", "high", "mid", "low"]  # one runner
        # a failing step: its error is raised, and the steps waiting on this side still go out
        for key in ("fail", "w1", "w2", "w3"):
            res.submit(_fail_on_two, key, 2 if key == "fail" else 3)
        with pytest.raises(ZeroDivisionError):
            res.next_done()
        assert sorted(res.next_done()[0] for _ in range(3)) == ["w1", "w2", "w3"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client, par.Resident(client) as res:
        assert res.map(_slow_step, {k: 0.2 for k in range(4)}) == [0.2] * 4
        placed = sorted(res.where.values())
        assert len(set(placed)) == 2 and placed.count(placed[0]) == 2  # first steps: two on each worker
        where = dict(res.where)
        assert res.map(_slow_step, {k: 0.0 for k in range(4)}) == [0.0] * 4
        assert res.where == where  # later steps where the states are
        with pytest.raises(ZeroDivisionError):  # a failing step raises here, the others run on
            res.map(_fail_on_two, {k: k for k in range(4)})
        rest = {}
        while res.running:
            k, value = res.next_done()
            rest[k] = value
        assert rest.items() <= {0: -0.5, 1: -1.0, 3: 1.0}.items()
        assert res.map(_slow_step, {k: 0.0 for k in range(4)}) == [0.0] * 4  # every runner is free again
        assert 2 in res.where  # the failed key started again from no state


def _fail_on_two(state, item):
    return state, 1 / (item - 2)


_BARRIER = None


def _meet(state, item):
    _BARRIER.wait(timeout=20)  # returns only when the other step runs at the same time
    return state, item


def test_resident_on_dask_runs_as_many_steps_at_a_time_as_a_worker_has_threads():
    pytest.importorskip("dask.distributed")
    import threading

    from dask.distributed import Client, LocalCluster

    import rnnexplore.parallel as par

    global _BARRIER
    _BARRIER = threading.Barrier(2)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client, par.Resident(client) as res:
        assert res.map(_meet, {"a": 1, "b": 2}) == [1, 2]  # on one worker, both steps at once
