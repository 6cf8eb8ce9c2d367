"""The main job on the embedded default: generate the sample territory, materialize every asset
into the local lakehouse with a SQLite-backed Dagster instance, then serve the UI."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import dagster as dg

from jnft.settings import load_settings

log = logging.getLogger("jnft.demo")
# Step events at INFO, not the DEBUG stream of every event: the UI has them all.
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def ensure_dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(load_settings().dagster_home)))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


def materialize_all(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    tiles: list[str],
    resources: dict,
    scenarios: Sequence[str] = (),
) -> list[dg.ExecuteInProcessResult]:
    """Every asset: sources, the tile-partitioned layers one run per tile, the other layers,
    the floods one run per scenario and tile, then the lakehouse-wide derived assets."""
    from jnft.assets.factory import LAYERS_GROUP, SOURCES_GROUP
    from jnft.assets.simulation import FLOOD_KEY
    from jnft.orchestration.partitions import tiles_partitions

    # Definitions types its assets as any asset-like object: ours are all AssetsDefinitions.
    assets = cast(list[dg.AssetsDefinition], list(defs.assets or []))
    by_tile = [a for a in assets if a.partitions_def == tiles_partitions]
    unpartitioned = dg.AssetSelection.assets(*[a for a in assets if a.partitions_def is None])
    sources = dg.AssetSelection.groups(SOURCES_GROUP) & unpartitioned
    layers = dg.AssetSelection.groups(LAYERS_GROUP) & unpartitioned
    steps: list[tuple[str, dict[str, Any]]] = [("sources", dict(selection=sources))]
    # One run per partition: checks are recorded per partition.
    steps += [
        (f"tiled layers, tile {tile}", dict(selection=by_tile, partition_key=tile))
        for tile in tiles
    ]
    steps.append(("other layers", dict(selection=layers)))
    steps += [
        (
            f"flood {scenario}, tile {tile}",
            dict(
                selection=[FLOOD_KEY],
                partition_key=dg.MultiPartitionKey({"scenario": scenario, "tile": tile}),
            ),
        )
        for scenario in scenarios
        for tile in tiles
    ]
    steps.append(("derived", dict(selection=unpartitioned - sources - layers)))
    results = []
    for label, kwargs in steps:
        started = time.perf_counter()
        log.info("materializing %s ...", label)
        result = dg.materialize(
            assets, instance=instance, resources=resources, run_config=QUIET, **kwargs
        )
        log.info("%s done in %.1f s", label, time.perf_counter() - started)
        results.append(result)
    return results


def run_demo(serve: bool) -> None:
    from jnft.lakehouse.store import Lakehouse
    from jnft.orchestration.partitions import (
        declared_scenarios,
        register,
        register_tiles,
        scenarios_partitions,
        territory_tiles,
    )
    from jnft.orchestration.resources import LakehouseResource
    from jnft.sampledata.generate import generate

    ensure_dagster_home()
    settings = load_settings()
    resource = LakehouseResource.from_settings(settings)
    if not (resource.sources_dir / "territory.yaml").exists():
        log.info("generating the sample territory into %s", resource.sources_dir)
        generate(resource.sources_dir)
    from jnft.orchestration.definitions import defs

    instance = dg.DagsterInstance.get()
    tiles = territory_tiles(resource.sources_dir)
    register_tiles(instance, tiles)
    scenarios = declared_scenarios(settings.scenarios)
    register(instance, scenarios, scenarios_partitions)
    materialize_all(instance, defs, tiles, {"lakehouse": resource}, scenarios)
    store = Lakehouse.at(resource.root)
    log.info(
        'lakehouse ready: %s  (try: jnft sql "SELECT count(*) FROM batiment")', store.duckdb_path
    )
    if serve:
        log.info("serving the Dagster UI on http://127.0.0.1:3000 (Ctrl-C to stop)")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "dagster",
                "dev",
                "-w",
                str(settings.workspace),
                "-h",
                "127.0.0.1",
                "-p",
                os.environ.get("JNFT_PORT", "3000"),
            ],
            check=False,
        )
