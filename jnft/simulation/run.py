"""The one entry point of a flood: a scenario, the territory's inputs (arrays and geometries,
gathered once by the caller) and a tile in; the tile's maps, design event, run figures and
exposure out. Nothing here reads or writes the lakehouse, but the cache of shared runs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import rasterio
import rasterio.features
import rasterio.transform
import shapely

from jnft.simulation import exposure as ex
from jnft.simulation.flood import Grid, coarsen, derived_network, domain_for, run_domain
from jnft.simulation.plan import Plan, plan_scenario
from jnft.simulation.scenario import Scenario
from jnft.tiles import model_resolution, tile_grid_bounds


@dataclass(frozen=True)
class Terrain:
    """The DEM on its own grid: `dem[0, 0]` is the cell whose north-west corner is (x0, y1)."""

    dem: np.ndarray  # NaN where no tile has data
    x0: float
    y1: float
    resolution: float


@dataclass(frozen=True)
class Features:
    """Geometries of a layer with the columns a model reads (by role), and their tiles."""

    geometries: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    tiles: np.ndarray | None = None


@dataclass(frozen=True)
class FloodInputs:
    """What a flood reads of the territory, gathered once for every tile of a scenario. Only
    the terrain is required: without watercourses the network is derived from the terrain,
    without buildings there are maps and no exposure, without residents they are apportioned
    from the admin units' populations, without admin units the territory is one unit."""

    terrain: Terrain
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    watercourses: Features | None = None
    buildings: Features | None = None  # columns: dwellings, height (both optional)
    residents: Features | None = None  # squares; columns: count
    admin_units: Features | None = None  # columns: code, name, population (optional)
    equipment: Features | None = None  # columns: category, nature (optional)


@dataclass(frozen=True)
class TerrainGrid:
    """The DEM averaged to the scenario's grid, and the watercourses burnt into it."""

    grid: Grid
    dem: np.ndarray
    channel: np.ndarray
    grid_from: str  # how the model grid was made of the DEM
    network: str  # where the watercourses come from
    head: tuple[int, int] | None = None  # a derived network's main stream starts here


@dataclass
class TileFlood:
    scenario: str
    tile: str
    products: dict[str, np.ndarray]  # max_depth, max_speed, arrival, screening_depth
    transform: rasterio.Affine
    run: dict  # domain cells, steps, cell updates, seconds, volume error
    design: dict  # the design event's figures
    exposure: pa.Table
    equipment: pa.Table
    unlocated_residents: float

    @property
    def volume_error(self) -> float:
        return float(self.run.get("volume_error", 0.0))


def terrain_grid(
    scenario: Scenario, terrain: Terrain, watercourses: Features | None
) -> TerrainGrid:
    """The model grid: block means of the DEM to the scenario's resolution (rounded to a
    multiple of the DEM's, stated), with the watercourses — the layer's, or derived."""
    res = model_resolution(scenario.resolution_m, terrain.resolution)
    factor = round(res / terrain.resolution)
    grid_from = f"block means of {factor}×{factor} DEM cells of {terrain.resolution:g} m"
    if not math.isclose(res, scenario.resolution_m):
        grid_from += f" (resolution_m {scenario.resolution_m:g} rounded to a multiple of the DEM's)"
    dem = coarsen(terrain.dem, factor)
    grid = Grid(terrain.x0, terrain.y1, res, *dem.shape)
    if watercourses is None:
        threshold = scenario.network_threshold_km2
        channel, head = derived_network(dem, res, threshold)
        network = f"derived from the terrain: cells draining at least {threshold} km²"
        return TerrainGrid(grid, dem, channel, grid_from, network, head)
    channel = rasterio.features.rasterize(
        ((g, 1) for g in watercourses.geometries),
        out_shape=dem.shape,
        transform=rasterio.transform.from_origin(grid.x0, grid.y1, res, res),
        all_touched=True,
    ).astype(bool)
    return TerrainGrid(grid, dem, channel, grid_from, "the watercourse layer")


def _run_tile(plan: Plan, tile: str, cache: Path) -> tuple[dict, rasterio.Affine, dict]:
    """The tile's maps: the model on its connected domain (shared by the tiles of the same
    flood through the cache), cropped to the tile."""
    grid, res = plan.grid, plan.grid.resolution
    r0, r1, c0, c1 = grid.window_of(tile_grid_bounds(tile, res))
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
    figures: dict = {"domain_cells": 0}
    if domain is not None:
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
        figures = {
            "domain_cells": int((d1 - d0) * (e1 - e0)),
            "steps": int(result.steps),
            "cell_updates": int(result.cell_updates),
            "model_seconds": round(float(result.seconds), 1),
            "volume_error": float(result.volume.error),
        }
    return products, transform, figures


# Without admin units the territory is one unit (no commune code nor name).
NO_UNITS: tuple[np.ndarray, list[str], list[str]] = (np.empty(0, dtype=object), [], [])


def with_population(units: Features, codes: list[str], counts: np.ndarray) -> Features:
    """The admin units with a `population` column joined from a table by code (NaN where
    the table has no row for a unit's code)."""
    by_code = dict(zip(codes, counts.astype(float), strict=True))
    population = np.array([by_code.get(c, np.nan) for c in units.columns["code"]])
    return Features(units.geometries, {**units.columns, "population": population}, units.tiles)


def _dwellings(buildings: Features) -> tuple[np.ndarray, str]:
    """Each building's dwellings, and where they come from: the layer's, or estimated."""
    if "dwellings" in buildings.columns:
        return np.nan_to_num(buildings.columns["dwellings"].astype(float)), "building layer"
    heights = buildings.columns.get("height")
    return ex.estimated_dwellings(buildings.geometries, heights), ex.ESTIMATED_DWELLINGS


def _residents(
    points: np.ndarray, dwellings: np.ndarray, inputs: FloodInputs
) -> tuple[np.ndarray, float, str]:
    """(residents per building, unlocated residents, where they come from): the population
    grid's squares, else the admin units' populations, shared by dwellings."""
    squares, units = inputs.residents, inputs.admin_units
    if squares is not None:
        people, unlocated = ex.residents(
            points, dwellings, squares.geometries, squares.columns["count"]
        )
        return people, unlocated, "population grid, shared by dwellings"
    if units is not None and "population" in units.columns:
        counts = np.nan_to_num(units.columns["population"].astype(float))
        people, unlocated = ex.residents(points, dwellings, units.geometries, counts)
        return people, unlocated, "admin units' populations, shared by dwellings"
    return np.zeros(len(points)), 0.0, "none: no population grid nor admin units' population"


def _exposure(
    scenario: str, tile: str, depth: ex.DepthGrid, inputs: FloodInputs
) -> tuple[pa.Table, pa.Table, float]:
    """(exposure, equipment, unlocated residents) of the tile's buildings and equipment."""
    units = inputs.admin_units
    towns = (
        (units.geometries, list(units.columns["code"]), list(units.columns["name"]))
        if units is not None
        else NO_UNITS
    )
    exposed, unlocated = ex.EXPOSURE_SCHEMA.empty_table(), 0.0
    buildings = inputs.buildings
    if buildings is not None:
        points = shapely.centroid(buildings.geometries)
        dwellings, dwellings_from = _dwellings(buildings)
        people, unlocated, residents_from = _residents(points, dwellings, inputs)
        # Residents are shared among all the buildings of a square (squares straddle tiles);
        # only the tile's buildings are counted.
        mine = buildings.tiles == tile
        exposed = ex.building_exposure(
            scenario, tile, depth, points[mine], dwellings[mine], people[mine], towns,
            (dwellings_from, residents_from),
        )  # fmt: skip
    equipped = ex.EQUIPMENT_SCHEMA.empty_table()
    equipment = inputs.equipment
    if equipment is not None:
        here = equipment.tiles == tile
        categories = equipment.columns["category"][here]
        natures = equipment.columns.get("nature", categories)[here]
        equipped = ex.equipment_exposure(
            scenario, tile, depth, shapely.centroid(equipment.geometries[here]),
            list(categories), list(natures), towns,
        )  # fmt: skip
    return exposed, equipped, unlocated


def flood_tile(scenario: Scenario, inputs: FloodInputs, tile: str, cache: Path) -> TileFlood:
    """The scenario's flood on a tile: design event, screening of the whole territory, the
    model on the tile's hydraulically connected domain, the tile's maps and exposure."""
    land = terrain_grid(scenario, inputs.terrain, inputs.watercourses)
    plan = plan_scenario(scenario, land.grid, land.dem, land.channel, inputs.series, land.head)
    plan.design |= {"model_grid": land.grid_from, "watercourses": land.network}
    products, transform, figures = _run_tile(plan, tile, cache)
    depth = np.nan_to_num(products["max_depth"], nan=0.0)
    grid = ex.DepthGrid(depth, transform.c, transform.f, transform.a)
    exposed, equipment, unlocated = _exposure(scenario.id, tile, grid, inputs)
    return TileFlood(
        scenario.id, tile, products, transform, figures, plan.design, exposed, equipment, unlocated
    )
