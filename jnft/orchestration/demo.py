"""The main job on the embedded default: generate the sample territory, materialize every asset
into the local lakehouse with a SQLite-backed Dagster instance, then serve the UI."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from jnft.paths import PROJECT_DIR

log = logging.getLogger("jnft.demo")
DAGSTER_HOME = "./.jnft/dagster_home"
# Step events at INFO, not the DEBUG stream of every event: the UI has them all.
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def ensure_dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(DAGSTER_HOME).resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


def materialize_all(
    instance: dg.DagsterInstance, defs: dg.Definitions, tiles: list[str], resources: dict
) -> list[dg.ExecuteInProcessResult]:
    """Every asset: sources, then the tile-partitioned layers one run per tile, then the
    unpartitioned layers and the derived assets."""
    assets = list(defs.assets or [])
    partitioned = [a for a in assets if a.partitions_def is not None]
    unpartitioned = [a for a in assets if a.partitions_def is None]
    sources = dg.AssetSelection.groups("sources")
    steps = [("sources", dict(selection=sources & dg.AssetSelection.assets(*unpartitioned)))]
    # One run per tile: checks are recorded per partition.
    steps += [
        (
            f"tiled layers, tile {tile}",
            dict(selection=dg.AssetSelection.assets(*partitioned), partition_key=tile),
        )
        for tile in tiles
    ]
    steps.append(
        (
            "other layers and derived",
            dict(selection=dg.AssetSelection.assets(*unpartitioned) - sources),
        )
    )
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
    from jnft.orchestration.partitions import register_tiles, territory_tiles
    from jnft.orchestration.resources import LakehouseResource
    from jnft.sampledata.generate import generate

    ensure_dagster_home()
    resource = LakehouseResource.from_env()
    if not (resource.sources_dir / "territory.yaml").exists():
        log.info("generating the sample territory into %s", resource.sources_dir)
        generate(resource.sources_dir)
    from jnft.orchestration.definitions import defs

    instance = dg.DagsterInstance.get()
    tiles = territory_tiles(resource.sources_dir)
    register_tiles(instance, tiles)
    materialize_all(instance, defs, tiles, {"lakehouse": resource})
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
                str(PROJECT_DIR / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                os.environ.get("JNFT_PORT", "3000"),
            ],
            check=False,
        )
