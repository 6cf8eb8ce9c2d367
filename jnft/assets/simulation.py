"""Flood simulation as an asset partitioned by scenario × tile: the inputs gathered once from
the concepts that fill the models' roles, one call to `simulation.run.flood_tile`, and its
maps and exposure written through `publish/`."""

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jnft.assets.factory import silver_key
from jnft.assets.metadata import png_markdown
from jnft.assets.pods import FLOOD_CONTAINER, k8s_op_tags
from jnft.formats import preview
from jnft.lakehouse import read
from jnft.lakehouse.store import Lakehouse
from jnft.publish.floodmaps import write_flood
from jnft.quality.checks import BLOCKING, is_blocking
from jnft.quality.fiche import Fiche, filling
from jnft.settings import load_settings
from jnft.simulation import exposure as ex
from jnft.simulation.run import (
    Features,
    FloodInputs,
    Terrain,
    TileFlood,
    flood_tile,
    with_population,
)
from jnft.simulation.scenario import Scenario, load_scenario, load_scenarios

SIMULATION_GROUP = "simulation"
FLOOD_KEY = dg.AssetKey(["simulation", "flood"])
VOLUME_CHECK = "volume_conserved"
MAX_VOLUME_ERROR = 1e-3  # relative: 0.1 % of the volume that went through
ROLES = (
    "terrain",
    "watercourses",
    "buildings",
    "residents",
    "admin_units",
    "equipment",
    "populations",
)
OPTIONAL_ROLES = ROLES[1:-1]  # the layers a flood reads (populations join the admin units)


def features(store: Lakehouse, fiche: Fiche | None, role: str) -> Features | None:
    """A role's layer: geometries, the role's columns under their role keys, tiles (None
    when no concept fills the role)."""
    if fiche is None:
        return None
    columns = fiche.roles[role]
    rows = read.layer(store, fiche.id, ["geometry", "tile", *columns.values()])
    return Features(
        read.geometries(rows),
        {k: rows[c].to_numpy(zero_copy_only=False) for k, c in columns.items()},
        rows["tile"].to_numpy(zero_copy_only=False),
    )


def admin_units(store: Lakehouse, fiches: list[Fiche]) -> Features | None:
    """The admin units' layer, with the populations of the `populations` table joined by
    code when the layer has no population of its own (communes and INSEE's table)."""
    units = features(store, filling(fiches, "admin_units", required=False), "admin_units")
    table = filling(fiches, "populations", required=False)
    if units is None or table is None or "population" in units.columns:
        return units
    columns = table.roles["populations"]
    rows = read.layer(store, table.id, [columns["code"], columns["count"]])
    codes, counts = rows[columns["code"]].to_pylist(), rows[columns["count"]].to_numpy()
    return with_population(units, codes, counts)


def gather_inputs(store: Lakehouse, scenario: Scenario, fiches: list[Fiche]) -> FloodInputs:
    """Everything the flood reads, once: the DEM over the model grid, the layers filling the
    optional roles, the gauge and tide series the scenario names."""
    terrain = filling(fiches, "terrain")
    assert terrain is not None  # required: filling raises with the fix
    series = read.scenario_series(store, scenario.series())
    layers = {
        role: features(store, filling(fiches, role, required=False), role)
        for role in OPTIONAL_ROLES
    }
    layers["admin_units"] = admin_units(store, fiches)
    return FloodInputs(
        Terrain(*read.dem_over_grid(store, terrain.id, scenario.resolution_m)), series, **layers
    )


def blocked_by(instance: dg.DagsterInstance, fiches: list[Fiche]) -> list[str]:
    """Blocking criteria (of `calcul` concepts) whose latest check failed: they gate runs."""
    failed = []
    for fiche in fiches:
        for criterion in BLOCKING:
            if not is_blocking(fiche, criterion):
                continue
            key = dg.AssetCheckKey(silver_key(fiche.id), criterion)
            records = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
            if records and records[0].status.value == "FAILED":
                failed.append(f"{fiche.id}.{criterion}")
    return failed


def exposure_markdown(exposure: pa.Table, equipment: pa.Table) -> str:
    lines = ["| commune | depth (m) | buildings | dwellings | residents |", "|---|---|---|---|---|"]
    for r in exposure.to_pylist():
        lines.append(
            f"| {r['commune'] or '—'} | {r['depth_class']} | {r['buildings']} | "
            f"{r['dwellings']} | {r['residents']:.0f} |"
        )
    if equipment.num_rows:
        lines += ["", "| commune | depth (m) | equipment | count |", "|---|---|---|---|"]
        lines += [
            f"| {r['commune'] or '—'} | {r['depth_class']} | {r['kind']} | {r['count']} |"
            for r in equipment.to_pylist()
        ]
    return "\n".join(lines) if exposure.num_rows or equipment.num_rows else "Nothing exposed."


def build_flood_asset(
    fiches: list[Fiche], partitions: dg.MultiPartitionsDefinition
) -> dg.AssetsDefinition:
    series = {
        g.concept for s in load_scenarios(load_settings().scenarios) for g in s.gauges().values()
    }
    used = [f for f in fiches if set(f.roles) & set(ROLES) or f.id in series]
    deps = [
        dg.AssetDep(silver_key(f.id), partition_mapping=dg.AllPartitionMapping())
        if f.tiled
        else dg.AssetDep(silver_key(f.id))
        for f in used
    ]

    @dg.asset(
        key=FLOOD_KEY,
        group_name=SIMULATION_GROUP,
        deps=deps,
        partitions_def=partitions,
        description="Flood of a scenario (`scenarios/<id>.yaml`) on a tile: max depth, max "
        "velocity, arrival time and screening depth as COGs in gold/simulation/<scenario>/"
        "<tile>/, exposure by commune and depth class in the `exposure` and "
        "`exposure_equipment` tables. The model runs on the area hydraulically connected to "
        "the tile (tiles are seamless).",
        owners=["team:risques"],
        tags={"layer": "gold", "theme": "inondation"},
        op_tags=k8s_op_tags(FLOOD_CONTAINER),
        kinds={"numba", "cog", "delta"},
        required_resource_keys={"lakehouse"},
        check_specs=[
            dg.AssetCheckSpec(
                VOLUME_CHECK,
                asset=FLOOD_KEY,
                description="The run's water volume balances (inflow, sea, outflow) to 0.1 %.",
            )
        ],
    )
    def flood(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        keys = context.partition_key.keys_by_dimension
        scenario_id, tile = keys["scenario"], keys["tile"]
        blocked = blocked_by(context.instance, used)
        if blocked:
            raise dg.Failure(f"upstream blocking checks failed: {blocked}; fix the data first")
        store = context.resources.lakehouse.store()
        scenario = load_scenario(load_settings().scenarios / f"{scenario_id}.yaml")
        inputs = gather_inputs(store, scenario, fiches)
        cache = store.simulation_dir(scenario.id) / "domains"
        result = flood_tile(scenario, inputs, tile, cache)
        depth_cog = write_flood(store, result)
        depth = np.nan_to_num(result.products["max_depth"])
        exposed = result.exposure
        return dg.MaterializeResult(
            metadata={
                **result.run,
                "design_event": dg.MetadataValue.json(result.design),
                "flooded_km2": float((depth > ex.WET).sum() * result.transform.a**2 / 1e6),
                "max_depth_m": float(depth.max(initial=0.0)),
                "buildings_flooded": int(pc.sum(exposed["buildings"]).as_py() or 0),
                "residents_flooded": float(pc.sum(exposed["residents"]).as_py() or 0.0),
                "unlocated_residents": result.unlocated_residents,
                "exposure": dg.MetadataValue.md(exposure_markdown(exposed, result.equipment)),
                **preview_of(depth_cog, f"{scenario.title} — {tile}"),
            },
            check_results=[volume_check(result)],
        )

    return flood


def preview_of(depth_cog: str | None, title: str) -> dict[str, dg.MetadataValue]:
    """The max-depth map as an image in the UI (none where the terrain does not reach)."""
    if depth_cog is None:
        return {"terrain": dg.MetadataValue.text("the terrain does not cover this tile")}
    image = preview.raster_preview([depth_cog], title, cmap="Blues")
    return {"preview": png_markdown(image, "max depth")}


def volume_check(result: TileFlood) -> dg.AssetCheckResult:
    """Volume conservation of the tile's run (a dry tile runs nothing: it passes)."""
    error = result.volume_error
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=abs(error) <= MAX_VOLUME_ERROR,
        metadata={"volume_error": float(error), "max_volume_error": MAX_VOLUME_ERROR},
    )
