"""OGC API – Processes: `flood-scenario` runs a scenario's `simulation/flood` partitions (one per
tile) and rebuilds `lakehouse.duckdb`, then answers with the maps (COG hrefs and URLs, from
`flood_maps`) and the exposure rows of the scenario.

The scenario is one of the project's `scenarios/` by id, or inline YAML, validated like a file
and written into `scenarios/` (the `scenarios_sensor` would register it the same way). The runs
are in-process (`dagster.materialize`) on the project's Dagster instance, one flood at a time, so
they show in the UI; pygeoapi's job manager runs an asynchronous job in a thread of the server.
A production deployment would instead submit the partitions to the Dagster daemon's run queue
(the GraphQL client's `submit_job_execution` on a queued run coordinator, runs on their own
workers), keep jobs in pygeoapi's PostgreSQL manager and follow the Dagster runs' status.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import dagster as dg
import yaml
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from jnft.lakehouse.store import Lakehouse
from jnft.ogcapi.provider import cursor
from jnft.settings import Settings, load_settings
from jnft.simulation.scenario import Scenario, ScenarioError, load_scenario

PROCESS_ID = "flood-scenario"
PROCESSOR = "jnft.ogcapi.process.FloodScenarioProcessor"
# One flood at a time: the runs share the cores and the domains' cache.
_RUNNING = threading.Lock()

PROCESS_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": PROCESS_ID,
    "title": "Flood scenario",
    "description": "Runs a flood scenario (river flood or coastal submersion) on every tile of "
    "the territory — one of the project's scenarios by id, or a scenario given as YAML — and "
    "returns its maps (max depth, max speed, arrival, screening depth as COGs) and the exposure "
    "of buildings, dwellings and residents by commune and depth class.",
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["inondation", "submersion", "flood", "exposure"],
    "links": [],
    "inputs": {
        "scenario": {
            "title": "Scenario id",
            "description": "A scenario of the project's `scenarios/` (e.g. crue_q100); or the id "
            "of the inline scenario.",
            "schema": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "scenario_yaml": {
            "title": "Scenario (YAML)",
            "description": "A scenario file's content (id, title, description, kind, river or "
            "coastal, duration_h…), written into the project's `scenarios/`.",
            "schema": {"type": "string", "contentMediaType": "application/yaml"},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "tiles": {
            "title": "Tiles",
            "description": "The tiles to run (default: every tile of the territory).",
            "schema": {"type": "array", "items": {"type": "string"}},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
    },
    "outputs": {
        "flood": {
            "title": "Flood results",
            "description": "The scenario, its tiles, its maps (`href`: the COG in the lakehouse, "
            "`url`: the COG over HTTP) and its exposure and equipment rows.",
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    },
    "example": {"inputs": {"scenario": "crue_q100"}},
}


def processor_definition(settings: Settings, maps_url: str) -> dict[str, Any]:
    """The processor's entry of the pygeoapi configuration: where the project is."""
    return {
        "name": PROCESSOR,
        "project": str(settings.project),
        "lakehouse": str(settings.lakehouse),
        "lakehouse_url": settings.lakehouse_url,
        "sources": str(settings.sources),
        "inbox": str(settings.inbox),
        "dagster_home": str(settings.dagster_home),
        "maps_url": maps_url,
    }


def declare_scenario(settings: Settings, text: str) -> Scenario:
    """Validate an inline scenario and write it into the project's `scenarios/`; a project
    scenario of the same id and another content is never replaced."""
    data = yaml.safe_load(text) if text.strip() else None
    ident = data.get("id") if isinstance(data, dict) else None
    if not isinstance(ident, str):
        raise ScenarioError("scenario_yaml: a mapping with an `id` (and the scenario's fields)")
    with tempfile.TemporaryDirectory() as folder:
        draft = Path(folder) / f"{ident}.yaml"
        draft.write_text(text, encoding="utf-8")
        scenario = load_scenario(draft)  # validated before it reaches the project
    target = settings.scenarios / f"{scenario.id}.yaml"
    if target.exists():
        if load_scenario(target) != scenario:
            raise ScenarioError(
                f"scenario_yaml: {target} already declares {scenario.id!r} differently; "
                "give the inline scenario another id"
            )
        return scenario
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    return scenario


def _rows(con: Any, sql: str, scenario: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql, [scenario])
    names = [d[0] for d in cursor.description]
    return [
        {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


def flood_results(store: Lakehouse, scenario: str, maps_url: str) -> dict[str, Any]:
    """What the lakehouse holds of a scenario: maps (with their URL), exposure, equipment."""
    with cursor(store.fetch(store.duckdb_path)) as con:
        maps = _rows(
            con,
            "SELECT tile, product, unit, resolution, maximum, wet_cells, href FROM flood_maps "
            "WHERE scenario = ? ORDER BY tile, product",
            scenario,
        )
        exposure = _rows(
            con,
            "SELECT * EXCLUDE (scenario) FROM exposure WHERE scenario = ? ORDER BY ALL",
            scenario,
        )
        equipment = _rows(
            con,
            "SELECT * EXCLUDE (scenario) FROM exposure_equipment WHERE scenario = ? ORDER BY ALL",
            scenario,
        )
    served = store.href("gold/simulation") + "/"
    for row in maps:
        row["url"] = f"{maps_url.rstrip('/')}/{row['href'].removeprefix(served)}"
    return {"maps": maps, "exposure": exposure, "equipment": equipment}


def run_flood_scenario(
    settings: Settings,
    scenario: Scenario,
    tiles: Sequence[str],
    instance: dg.DagsterInstance,
) -> list[str]:
    """Materialize the scenario's flood on each tile, then `lakehouse.duckdb`; returns the
    Dagster run ids. Raises with one line per refused file or failed step."""
    from jnft.assets.simulation import FLOOD_KEY
    from jnft.orchestration.definitions import build_definitions
    from jnft.orchestration.demo import materialize_quietly, problems_of
    from jnft.orchestration.partitions import register, register_tiles, scenarios_partitions
    from jnft.orchestration.resources import LakehouseResource

    register_tiles(instance, list(tiles))
    register(instance, [scenario.id], scenarios_partitions)
    # Definitions type their assets as any asset-like object: ours are AssetsDefinitions.
    assets = cast(list[dg.AssetsDefinition], list(build_definitions(settings).assets or []))
    resources = {"lakehouse": LakehouseResource.from_settings(settings)}
    steps: list[dict[str, Any]] = [
        dict(
            selection=[FLOOD_KEY],
            partition_key=dg.MultiPartitionKey({"scenario": scenario.id, "tile": tile}),
        )
        for tile in tiles
    ]
    steps.append(dict(selection=[dg.AssetKey("lakehouse_duckdb")]))
    runs, problems = [], []
    with _RUNNING:
        for step in steps:
            result = materialize_quietly(assets, instance, resources, **step)
            runs.append(result.run_id)
            problems += problems_of(result)
            if not result.success:
                break  # the next tiles would read the same refused inputs
    if problems:
        raise ProcessorExecuteError(user_msg="; ".join(problems))
    return runs


class FloodScenarioProcessor(BaseProcessor):
    """The `flood-scenario` process of the project named by its definition."""

    def __init__(self, processor_def: dict[str, Any]) -> None:
        super().__init__(processor_def, PROCESS_METADATA)
        self.settings = Settings(
            project=Path(processor_def["project"]),
            lakehouse=Path(processor_def["lakehouse"]),
            sources=Path(processor_def["sources"]),
            inbox=Path(processor_def["inbox"]),
            dagster_home=Path(processor_def["dagster_home"]),
            lakehouse_url=processor_def.get("lakehouse_url"),
        )
        self.maps_url: str = processor_def["maps_url"]

    def _scenario(self, data: dict[str, Any]) -> Scenario:
        text, ident = data.get("scenario_yaml"), data.get("scenario")
        try:
            if text:
                scenario = declare_scenario(self.settings, text)
                if ident and ident != scenario.id:
                    raise ScenarioError(f"scenario {ident!r} and scenario_yaml's id differ")
                return scenario
            if not ident:
                raise ScenarioError("give `scenario` (an id) or `scenario_yaml`")
            path = self.settings.scenarios / f"{ident}.yaml"
            if not path.exists():
                raise ScenarioError(f"no scenario {ident!r} in {self.settings.scenarios}")
            return load_scenario(path)
        except ScenarioError as error:
            raise ProcessorExecuteError(user_msg=str(error)) from None

    def execute(
        self, data: dict[str, Any], outputs: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        from jnft.orchestration.partitions import territory_tiles

        # The flood asset reads its scenario from the project in force: it must be this one.
        in_force = load_settings().project
        if in_force != self.settings.project:
            raise ProcessorExecuteError(
                user_msg=f"the server's project {self.settings.project} is not the project in "
                f"force {in_force}: start the server with JNFT_PROJECT_DIR set to it"
            )
        scenario = self._scenario(data)
        territory = territory_tiles(self.settings.sources)
        tiles = data.get("tiles") or territory
        unknown = sorted(set(tiles) - set(territory))
        if unknown:
            raise ProcessorExecuteError(
                user_msg=f"tiles {unknown} are not the territory's ({', '.join(territory)})"
            )
        self.settings.dagster_home.mkdir(parents=True, exist_ok=True)
        with dg.DagsterInstance.from_config(str(self.settings.dagster_home)) as instance:
            runs = run_flood_scenario(self.settings, scenario, tiles, instance)
        store = Lakehouse.of(self.settings)
        return "application/json", {
            "id": "flood",
            "scenario": scenario.id,
            "title": scenario.title,
            "tiles": list(tiles),
            "dagster_runs": runs,
            **flood_results(store, scenario.id, self.maps_url),
        }

    def __repr__(self) -> str:
        return f"<FloodScenarioProcessor> {self.settings.project}"
