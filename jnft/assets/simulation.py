"""Flood simulation as an asset partitioned by scenario × tile: the scenario's design event
from the lakehouse's series, the model on the tile's hydraulically connected domain, the
tile's maps (COGs) and exposure (Delta), with a depth preview and the exposure table."""

import math
from dataclasses import dataclass

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import rasterio.features
import rasterio.transform
import shapely

from jnft.assets.factory import silver_key
from jnft.assets.metadata import png_markdown
from jnft.formats import preview, raster
from jnft.lakehouse import read as terr
from jnft.lakehouse.store import Lakehouse
from jnft.publish.floodmaps import replace_rows, write_maps
from jnft.quality.checks import BLOCKING, is_blocking
from jnft.quality.fiche import Fiche
from jnft.settings import load_settings
from jnft.simulation import exposure as ex
from jnft.simulation.flood import Grid, coarsen, domain_for, run_domain
from jnft.simulation.plan import Plan, plan_scenario
from jnft.simulation.scenario import Scenario, load_scenario
from jnft.tiles import TARGET_CRS

SIMULATION_GROUP = "simulation"
FLOOD_KEY = dg.AssetKey(["simulation", "flood"])
VOLUME_CHECK = "volume_conserved"
MAX_VOLUME_ERROR = 1e-3  # relative: 0.1 % of the volume that went through
# The layers a flood reads: DEM, watercourses, buildings, population, equipment, communes.
LAYERS = (
    "mnt",
    "troncon_hydrographique",
    "batiment",
    "population_carroyee",
    "zone_d_activite_ou_d_interet",
    "commune",
)
SERIES = ("hydrometrie", "maregraphe")
BOUNDS = ("bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax")


@dataclass
class Territory:
    grid: Grid
    dem: np.ndarray
    channel: np.ndarray


def territory(store: Lakehouse, scenario: Scenario) -> Territory:
    """The DEM averaged to the scenario's grid over the lakehouse's DEM tiles (cell centres on
    multiples of the resolution) and the watercourses burnt into it."""
    res = scenario.resolution_m
    index = terr.layer(store, scenario.dem, ["path", "resolution", *BOUNDS])
    source = index["resolution"][0].as_py()
    factor = round(res / source)
    if not math.isclose(factor * source, res):
        raise ValueError(f"resolution {res} m is not a multiple of the DEM's {source} m")
    lo = [math.floor(min(index[c].to_pylist()) / res) * res for c in BOUNDS[:2]]
    hi = [math.ceil(max(index[c].to_pylist()) / res) * res for c in BOUNDS[2:]]
    bounds = (lo[0] - res / 2, lo[1] + res / 2, hi[0] - res / 2, hi[1] + res / 2)
    dem = coarsen(terr.dem_mosaic(store, scenario.dem, bounds, source), factor)
    grid = Grid(bounds[0], bounds[3], res, *dem.shape)
    lines = terr.geometries(terr.layer(store, scenario.watercourses, ["geometry"]))
    channel = rasterio.features.rasterize(
        ((g, 1) for g in lines),
        out_shape=dem.shape,
        transform=rasterio.transform.from_origin(grid.x0, grid.y1, res, res),
        all_touched=True,
    ).astype(bool)
    return Territory(grid, dem, channel)


def series_of(store: Lakehouse, scenario: Scenario) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    gauges = {}
    if scenario.river is not None:
        gauges["gauge"] = scenario.river.gauge
        if scenario.river.sea_level is not None:
            gauges["tide"] = scenario.river.sea_level
    else:
        gauges["tide"] = scenario.coastal.tide_gauge
    out = {}
    for name, g in gauges.items():
        frame = terr.station_series(store, g.concept, g.station, g.variable)
        out[name] = (frame["time"].to_numpy(), frame["value"].to_numpy())
    return out


@dataclass
class TileRun:
    products: dict[str, np.ndarray]
    transform: rasterio.Affine
    domain: tuple[int, int, int, int] | None
    metadata: dict


def run_tile(store: Lakehouse, plan: Plan, tile: str) -> TileRun:
    """The tile's maps: the model on its connected domain (shared by the tiles of the same
    flood through the cache), cropped to the tile."""
    grid, res = plan.grid, plan.grid.resolution
    r0, r1, c0, c1 = grid.window_of(raster.tile_grid_bounds(tile, res))
    transform = rasterio.Affine(res, 0, grid.x0 + c0 * res, 0, -res, grid.y1 - r0 * res)
    shape = (max(r1 - r0, 0), max(c1 - c0, 0))
    products = {
        "max_depth": np.zeros(shape),
        "max_speed": np.zeros(shape),
        "arrival": np.full(shape, np.nan),
        "screening_depth": plan.screening_depth[r0:r1, c0:c1],
    }
    margin = round(plan.scenario.margin_m / res)
    domain = domain_for(plan.flooded, (r0, r1, c0, c1), margin) if min(shape) > 0 else None
    metadata: dict = {"domain_cells": 0}
    if domain is not None:
        cache = store.simulation_dir(plan.scenario.id) / "domains"
        duration = plan.scenario.duration_h * 3600.0
        result = run_domain(plan.z, plan.manning, plan.forcing, domain, res, duration, cache)
        # The domain and the tile overlap: paste the run's cells there (dry elsewhere).
        d0, d1, e0, e1 = domain
        o0, o1, p0, p1 = max(r0, d0), min(r1, d1), max(c0, e0), min(c1, e1)
        tile_part = (slice(o0 - r0, o1 - r0), slice(p0 - c0, p1 - c0))
        run_part = (slice(o0 - d0, o1 - d0), slice(p0 - e0, p1 - e0))
        for name, values in (
            ("max_depth", result.max_depth),
            ("max_speed", result.max_speed),
            ("arrival", result.arrival),
        ):
            products[name][tile_part] = values[run_part]
        metadata = {
            "domain_cells": int((domain[1] - domain[0]) * (domain[3] - domain[2])),
            "steps": int(result.steps),
            "cell_updates": int(result.cell_updates),
            "model_seconds": round(float(result.seconds), 1),
            "volume_error": float(result.volume.error),
        }
    return TileRun(products, transform, domain, metadata)


def tile_exposure(
    store: Lakehouse, scenario: str, tile: str, run: TileRun
) -> tuple[pa.Table, pa.Table, float]:
    """(exposure, equipment, unlocated residents) of the tile's buildings and equipment."""
    depth = np.nan_to_num(run.products["max_depth"], nan=0.0)
    t = run.transform
    grid = ex.DepthGrid(depth, t.c, t.f, t.a)
    buildings = terr.layer(store, "batiment", ["geometry", "nombre_de_logements", "tile"])
    points = shapely.centroid(terr.geometries(buildings))
    dwellings = np.nan_to_num(
        buildings["nombre_de_logements"].to_numpy(zero_copy_only=False).astype(float)
    )
    squares = terr.layer(store, "population_carroyee", ["geometry", "ind"])
    people, unlocated = ex.residents(
        points, dwellings, terr.geometries(squares), squares["ind"].to_numpy()
    )
    communes = terr.layer(store, "commune", ["geometry", "insee_com", "nom"])
    towns = (
        terr.geometries(communes),
        communes["insee_com"].to_pylist(),
        communes["nom"].to_pylist(),
    )
    # Residents are shared among all the buildings of a square (squares straddle tiles); only
    # the tile's buildings are counted.
    mine = pc.equal(buildings["tile"], tile).to_numpy(zero_copy_only=False)
    exposed = ex.building_exposure(
        scenario, tile, grid, points[mine], dwellings[mine], people[mine], towns
    )
    zai = terr.layer(
        store, "zone_d_activite_ou_d_interet", ["geometry", "categorie", "nature", "tile"]
    )
    zai = zai.filter(pc.equal(zai["tile"], tile))
    equipment = ex.equipment_exposure(
        scenario, tile, grid, shapely.centroid(terr.geometries(zai)),
        zai["categorie"].to_pylist(), zai["nature"].to_pylist(), towns,
    )  # fmt: skip
    return exposed, equipment, unlocated


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
    used = [f for f in fiches if f.id in LAYERS + SERIES]
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
        land = territory(store, scenario)
        plan = plan_scenario(
            scenario, land.grid, land.dem, land.channel, series_of(store, scenario)
        )
        run = run_tile(store, plan, tile)
        maps = write_maps(store, scenario.id, tile, run.products, run.transform, TARGET_CRS)
        exposed, equipment, unlocated = tile_exposure(store, scenario.id, tile, run)
        for name, rows, schema in (
            ("exposure", exposed, ex.EXPOSURE_SCHEMA),
            ("equipment", equipment, ex.EQUIPMENT_SCHEMA),
        ):
            replace_rows(store.simulation_table(name), rows, schema, scenario.id, tile)
        depth_cog = maps.filter(pc.equal(maps["product"], "max_depth"))["path"][0].as_py()
        image = preview.raster_preview(
            [str(store.root / depth_cog)], f"{scenario.title} — {tile}", cmap="Blues"
        )
        flooded = np.nan_to_num(run.products["max_depth"]) > ex.WET
        return dg.MaterializeResult(
            metadata={
                **run.metadata,
                "design_event": dg.MetadataValue.json(plan.design),
                "flooded_km2": float(flooded.sum() * plan.grid.resolution**2 / 1e6),
                "max_depth_m": float(np.nanmax(run.products["max_depth"], initial=0.0)),
                "buildings_flooded": int(pc.sum(exposed["buildings"]).as_py() or 0),
                "residents_flooded": float(pc.sum(exposed["residents"]).as_py() or 0.0),
                "unlocated_residents": unlocated,
                "exposure": dg.MetadataValue.md(exposure_markdown(exposed, equipment)),
                "preview": png_markdown(image, "max depth"),
            },
            check_results=[volume_check(run)],
        )

    return flood


def volume_check(run: TileRun) -> dg.AssetCheckResult:
    """Volume conservation of the tile's run (a dry tile runs nothing: it passes)."""
    error = run.metadata.get("volume_error", 0.0)
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=abs(error) <= MAX_VOLUME_ERROR,
        metadata={"volume_error": float(error), "max_volume_error": MAX_VOLUME_ERROR},
    )
