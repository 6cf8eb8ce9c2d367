"""Where the out-of-core screening's tasks run: the Dask scheduler that Dask's own
configuration names (`scheduler-address`: the environment variable `DASK_SCHEDULER_ADDRESS`,
or a YAML file of `DASK_CONFIG` / `~/.config/dask/`, as in `infra/dask/`), else a
`LocalCluster` of worker processes on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dask
from distributed import Client, LocalCluster


def scheduler_address() -> str | None:
    """The configured scheduler, if any."""
    return dask.config.get("scheduler-address", None) or None


@contextmanager
def dask_client(n_workers: int | None = None, memory_limit: str = "auto") -> Iterator[Client]:
    """A client of the configured cluster, or of a LocalCluster (one single-threaded worker
    process per core unless `n_workers`; the kernels run one thread per worker)."""
    address = scheduler_address()
    if address:
        with Client(address) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=":0",
            env={"NUMBA_NUM_THREADS": "1"},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
