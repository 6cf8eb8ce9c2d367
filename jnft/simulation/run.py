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
from jnft.simulation.flood import Grid, coarsen, domain_for, run_domain
from jnft.simulation.plan import Plan, plan_scenario
from jnft.simulation.scenario import Scenario
from jnft.tiles import tile_grid_bounds


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
    """What a flood reads of the territory, gathered once for every tile of a scenario."""

    terrain: Terrain
    watercourses: Features
    series: dict[str, tuple[np.ndarray, np.ndarray]]  # "gauge" / "tide": (times, values)
    buildings: Features  # columns: dwellings
    residents: Features  # squares; columns: count
    admin_units: Features  # columns: code, name
    equipment: Features  # columns: category, nature


@dataclass(frozen=True)
class TerrainGrid:
    """The DEM averaged to the scenario's grid, and the watercourses burnt into it."""

    grid: Grid
    dem: np.ndarray
    channel: np.ndarray


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


def terrain_grid(scenario: Scenario, terrain: Terrain, watercourses: Features) -> TerrainGrid:
    res = scenario.resolution_m
    factor = round(res / terrain.resolution)
    if factor < 1 or not math.isclose(factor * terrain.resolution, res):
        raise ValueError(
            f"scenario {scenario.id}: resolution_m {res} is not a multiple of the DEM's "
            f"{terrain.resolution} m"
        )
    dem = coarsen(terrain.dem, factor)
    grid = Grid(terrain.x0, terrain.y1, res, *dem.shape)
    channel = rasterio.features.rasterize(
        ((g, 1) for g in watercourses.geometries),
        out_shape=dem.shape,
        transform=rasterio.transform.from_origin(grid.x0, grid.y1, res, res),
        all_touched=True,
    ).astype(bool)
    return TerrainGrid(grid, dem, channel)


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


def _exposure(
    scenario: str, tile: str, depth: ex.DepthGrid, inputs: FloodInputs
) -> tuple[pa.Table, pa.Table, float]:
    """(exposure, equipment, unlocated residents) of the tile's buildings and equipment."""
    buildings = inputs.buildings
    points = shapely.centroid(buildings.geometries)
    dwellings = np.nan_to_num(buildings.columns["dwellings"].astype(float))
    squares = inputs.residents
    people, unlocated = ex.residents(
        points, dwellings, squares.geometries, squares.columns["count"]
    )
    units = inputs.admin_units
    towns = (units.geometries, list(units.columns["code"]), list(units.columns["name"]))
    # Residents are shared among all the buildings of a square (squares straddle tiles); only
    # the tile's buildings are counted.
    mine = buildings.tiles == tile
    exposed = ex.building_exposure(
        scenario, tile, depth, points[mine], dwellings[mine], people[mine], towns
    )
    equipment = inputs.equipment
    here = equipment.tiles == tile
    equipped = ex.equipment_exposure(
        scenario, tile, depth, shapely.centroid(equipment.geometries[here]),
        list(equipment.columns["category"][here]), list(equipment.columns["nature"][here]), towns,
    )  # fmt: skip
    return exposed, equipped, unlocated


def flood_tile(scenario: Scenario, inputs: FloodInputs, tile: str, cache: Path) -> TileFlood:
    """The scenario's flood on a tile: design event, screening of the whole territory, the
    model on the tile's hydraulically connected domain, the tile's maps and exposure."""
    land = terrain_grid(scenario, inputs.terrain, inputs.watercourses)
    plan = plan_scenario(scenario, land.grid, land.dem, land.channel, inputs.series)
    products, transform, figures = _run_tile(plan, tile, cache)
    depth = np.nan_to_num(products["max_depth"], nan=0.0)
    grid = ex.DepthGrid(depth, transform.c, transform.f, transform.a)
    exposed, equipment, unlocated = _exposure(scenario.id, tile, grid, inputs)
    return TileFlood(
        scenario.id, tile, products, transform, figures, plan.design, exposed, equipment, unlocated
    )
