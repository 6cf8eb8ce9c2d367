"""A territory on a configured instance (Postgres, queued runs, `dagster-daemon run`): its tiles
and scenarios registered as partitions, its assets submitted as one asset backfill that the
daemon runs in dependency order, each run through the run queue and its concurrency limits."""

from __future__ import annotations

import time
from collections.abc import Sequence

import dagster as dg

# Backfills have no public constructor: these are the objects the UI's launch mutation submits.
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.utils import make_new_backfill_id
from dagster._time import get_current_timestamp

from jnft.orchestration.partitions import (
    register,
    register_tiles,
    scenario_tiles,
    scenarios_partitions,
    tiles_partitions,
)

FINISHED = {
    BulkActionStatus.COMPLETED,
    BulkActionStatus.COMPLETED_SUCCESS,
    BulkActionStatus.COMPLETED_FAILED,
    BulkActionStatus.FAILED,
    BulkActionStatus.CANCELED,
}
# The backfill daemon's heartbeat: older than this, nobody is launching the runs.
DAEMON_HEARTBEAT_MAX_AGE_S = 120.0


def partition_keys(
    partitions: dg.PartitionsDefinition, tiles: Sequence[str], scenarios: Sequence[str]
) -> list[str]:
    """The keys of the territory in one of our partitions definitions."""
    if partitions == tiles_partitions:
        return list(tiles)
    if partitions == scenario_tiles:
        return [
            dg.MultiPartitionKey({"scenario": scenario, "tile": tile})
            for scenario in scenarios
            for tile in tiles
        ]
    raise ValueError(f"no territory keys for the partitions {partitions}")


def launch_backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    tiles: Sequence[str],
    scenarios: Sequence[str],
    assets: Sequence[dg.AssetKey] | None = None,
) -> str:
    """Register the tiles and scenarios, then submit a backfill of `assets` (default: every
    asset) on them; returns its id. The daemon launches its runs, parents before children;
    an empty `scenarios` leaves the floods out."""
    register_tiles(instance, list(tiles))
    register(instance, list(scenarios), scenarios_partitions)
    graph = defs.resolve_asset_graph()
    keys = assets if assets is not None else sorted(graph.materializable_asset_keys)
    partitioned, whole = {}, set()
    for key in keys:
        partitions = graph.get(key).partitions_def
        if partitions is None:
            whole.add(key)
            continue
        chosen = partition_keys(partitions, tiles, scenarios)
        if chosen:
            partitioned[key] = partitions.subset_with_partition_keys(chosen)
    if not partitioned and not whole:
        raise ValueError("nothing to backfill: no tile, or no asset selected")
    backfill = PartitionBackfill.from_asset_graph_subset(
        backfill_id=make_new_backfill_id(),
        backfill_timestamp=get_current_timestamp(),
        tags={},
        dynamic_partitions_store=instance,
        # Its serdes decorator hides the NamedTuple's fields from mypy.
        asset_graph_subset=AssetGraphSubset(  # type: ignore[call-arg]
            partitions_subsets_by_asset_key=partitioned, non_partitioned_asset_keys=whole
        ),
        title=f"territory: {len(tiles)} tile(s) × {len(scenarios)} scenario(s)",
        description=f"tiles {', '.join(tiles)}; scenarios {', '.join(scenarios) or 'none'}",
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


def daemon_running(instance: dg.DagsterInstance) -> bool:
    """Whether a daemon processing backfills has reported in lately: without one, a submitted
    backfill waits."""
    heartbeat = instance.get_daemon_heartbeats().get("BACKFILL")
    return (
        heartbeat is not None
        and get_current_timestamp() - heartbeat.timestamp < DAEMON_HEARTBEAT_MAX_AGE_S
    )


def wait_for_backfill(
    instance: dg.DagsterInstance, backfill_id: str, timeout_s: float, poll_s: float = 2.0
) -> BulkActionStatus:
    """The backfill's final status, once every run it launched has finished."""
    deadline = time.monotonic() + timeout_s
    while True:
        backfill = instance.get_backfill(backfill_id)
        if backfill is None:
            raise KeyError(f"no backfill {backfill_id} on this instance")
        if backfill.status in FINISHED:
            return backfill.status
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"backfill {backfill_id} still {backfill.status.value} after {timeout_s:.0f} s"
            )
        time.sleep(poll_s)
