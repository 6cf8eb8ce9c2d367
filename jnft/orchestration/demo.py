"""The main job on the embedded default: materialize every asset of the project's territory (the
sample territory generated first when it is the sample project) into its lakehouse with a
SQLite-backed Dagster instance, report what was refused, then serve the UI."""

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


def problems_of(result: dg.ExecuteInProcessResult) -> list[str]:
    """What a person must read after a run, in one line each: the files rejected whole and
    why, the deliveries kept staged with the blocking checks that refused them, and the steps
    that failed with their error (not a traceback: the UI has it)."""
    lines = []
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        key = materialization.asset_key.to_user_string()
        where = f" tile {materialization.partition}" if materialization.partition else ""
        rejected = materialization.metadata.get("rejected_files")
        for reason in cast(list[str], rejected.value if rejected is not None else []):
            lines.append(f"{key}{where}: file rejected — {reason}")
        refused = materialization.metadata.get("refused")
        if refused is not None and refused.value:
            lines.append(
                f"{key}{where}: kept staged, not published — "
                f"{'; '.join(cast(list[str], refused.value))}"
            )
    for event in result.all_events:
        failure = event.step_failure_data if event.is_step_failure else None
        if failure is None or failure.error is None:
            continue
        if failure.error.cls_name == "DagsterAssetCheckFailedError":
            continue  # the refusal is reported above, with its reasons
        error = failure.error.cause or failure.error
        lines.append(f"step {event.step_key} failed: {error.message.strip()}")
    return lines


def materialize_quietly(
    assets: Sequence[dg.AssetsDefinition],
    instance: dg.DagsterInstance,
    resources: dict,
    **selection: Any,
) -> dg.ExecuteInProcessResult:
    """One in-process run that reports instead of raising: a refused delivery or a failed
    step stops its own run's downstream assets, never the next runs (the lakehouse database
    still gets built, holding the reasons)."""
    return dg.materialize(
        assets,
        instance=instance,
        resources=resources,
        run_config=QUIET,
        raise_on_error=False,
        **selection,
    )


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
    whole = [a for a in assets if a.partitions_def is None]

    def in_group(name: str) -> list[dg.AssetsDefinition]:
        return [a for a in whole if name in a.group_names_by_key.values()]

    sources, layers = in_group(SOURCES_GROUP), in_group(LAYERS_GROUP)
    derived = [a for a in whole if all(a is not b for b in sources + layers)]
    # One run per partition: checks are recorded per partition. A territory may have no
    # tiled concept (series and tables only), or no untiled layer: empty runs are skipped.
    steps: list[tuple[str, dict[str, Any]]] = [("sources", dict(selection=sources))]
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
    steps.append(("derived", dict(selection=derived)))
    steps = [(label, kwargs) for label, kwargs in steps if kwargs["selection"]]
    results = []
    for label, kwargs in steps:
        started = time.perf_counter()
        log.info("materializing %s ...", label)
        result = materialize_quietly(assets, instance, resources, **kwargs)
        log.info("%s done in %.1f s", label, time.perf_counter() - started)
        for line in problems_of(result):
            log.warning("%s", line)
        results.append(result)
    return results


def run_demo(serve: bool) -> int:
    """Materialize the project's territory, then serve the UI; returns how many problems
    (refused deliveries, failed steps) were reported."""
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
        if not settings.sample:
            raise FileNotFoundError(
                f"no territory.yaml in {resource.sources_dir}: run `jnft territory add "
                "DELIVERY_DIR` first (or `jnft init --sample DIR` for the sample territory)"
            )
        log.info("generating the sample territory into %s", resource.sources_dir)
        generate(resource.sources_dir)
    from jnft.orchestration.definitions import build_definitions

    defs = build_definitions(settings)

    instance = dg.DagsterInstance.get()
    tiles = territory_tiles(resource.sources_dir)
    register_tiles(instance, tiles)
    scenarios = declared_scenarios(settings.scenarios)
    register(instance, scenarios, scenarios_partitions)
    results = materialize_all(instance, defs, tiles, {"lakehouse": resource}, scenarios)
    problems = [line for result in results for line in problems_of(result)]
    store = resource.store()
    log.info('lakehouse ready: %s  (try: jnft sql "SHOW TABLES")', store.uri(store.duckdb_path))
    if problems:
        log.warning(
            "%d problem(s), the territory keeps what was published before:\n  %s\n"
            'staged deliveries and their reasons: jnft sql "SELECT * FROM <concept>_staged"',
            len(problems),
            "\n  ".join(problems),
        )
    if serve:
        # The UI's code server and the viewer read the same project, wherever started from.
        environment = {**os.environ, "JNFT_PROJECT_DIR": str(settings.project)}
        viewer_port = environment.get("JNFT_VIEWER_PORT", "8000")
        log.info("serving the viewer and the OGC APIs on http://127.0.0.1:%s", viewer_port)
        viewer = subprocess.Popen(
            [sys.executable, "-c", "from jnft.orchestration.cli import main; main(['serve'])"],
            env=environment,
        )
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
            env=environment,
        )
        viewer.terminate()
    return len(problems)
