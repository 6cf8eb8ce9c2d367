"""Out-of-core terrain screening: the depression-filled DEM, D8 flow directions, flow
accumulation and HAND of a DEM too large for memory, identical to what the in-memory
`jnft.simulation.screening` gives on a DEM that fits (tested).

The DEM (a COG, a VRT of the lakehouse's COG tiles, any raster GDAL reads) is cut into tiles;
every stage runs one Dask task per tile, submitted with the futures API of
`dask.distributed` (`Client.submit`), each reading its window (with a halo where it needs one)
and writing its results as a COG per tile in a folder of the lakehouse, mosaicked by a VRT per
quantity (`filled.vrt`, `direction.vrt`, `accumulation.vrt`, `hand.vrt`). Between stages the
client runs small passes over the cells of the tiles' perimeters only:

1. fill (`fill`): Barnes' (2016) tiled Priority-Flood: per-tile floods and their spill graph,
   the graph's flood, then each tile raised to its labels' levels;
2. directions (`flow`): D8 per tile on the filled DEM with a halo, flats routed by their
   breadth-first distance to where they drain, relaxed across tiles round by round;
3. accumulation then HAND (`network`): Barnes' (2017) per-tile accumulation, a pass over the
   perimeter links, per-tile completion; HAND resolved the same way downstream.

Memory: a worker holds one tile (about 60 bytes a cell at the flood) and the client the
perimeter graphs (a few tens of bytes per perimeter cell). Where it runs: `cluster`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client

from jnft.simulation import screening
from jnft.simulation.outofcore import fill, flow, network
from jnft.simulation.outofcore.grid import TileGrid
from jnft.simulation.outofcore.rasters import Raster, open_dem, write_vrt

DEFAULT_TILE = 2048
QUANTITIES = ("filled", "direction", "accumulation", "hand")


@dataclass(frozen=True)
class Screening:
    """Where the results are (a VRT per quantity) and how the run went."""

    folder: Path
    tiles: int
    flat_rounds: int  # rounds of direction tiles (1: no draining flat reaches a tile's edge)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each stage

    def path(self, quantity: str) -> Path:
        return self.folder / f"{quantity}.vrt"


def screen(
    dem_path: str | Path,
    out: str | Path,
    client: Client,
    *,
    tile: int = DEFAULT_TILE,
    threshold_km2: float = 1.0,
    outlets: str = "edges",
) -> Screening:
    """Screen the DEM at `dem_path` into the folder `out` (of the lakehouse, which every
    worker reaches: on a cluster, the volume its pods mount): streams are the cells draining
    at least `threshold_km2` (as `flood.derived_network`); `outlets` names where water leaves
    the DEM (`fill.OUTLETS`: the DEM's edges as `screening.drainage`, or the data's edges)."""
    dem = open_dem(dem_path)
    fill.outlets_rule(outlets)  # an unknown rule fails here rather than in every task
    grid = TileGrid(dem.height, dem.width, tile)
    if grid.ring_cells >= screening._MAX_LABEL:  # perimeter cells are int32 labels
        raise ValueError(f"tiles of {tile} cells: too many perimeter cells; use larger tiles")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = out / ".scratch"
    scratch.mkdir(exist_ok=True)
    tiles = grid.tiles()
    clock = _Clock()

    spills = _run(client, fill.flood_tile, [(dem, grid, i, j, outlets, scratch) for i, j in tiles])
    clock("flood tiles")
    levels = fill.spill_levels(grid, dict(zip(tiles, spills, strict=True)))
    del spills
    clock("spill graph")
    _run(client, fill.raise_tile, [
        (dem, grid, i, j, fill.tile_levels(grid, i, j, levels), scratch, out) for i, j in tiles
    ])  # fmt: skip
    del levels
    write_vrt(out, "filled", grid, dem, dem.level_dtype, "nan")
    clock("raise tiles")

    rounds = _directions(client, dem, grid, outlets, out)
    write_vrt(out, "direction", grid, dem, "uint8", None)
    clock("directions")

    links = _run(client, network.accumulation_links, [
        (dem, grid, i, j, out, scratch) for i, j in tiles
    ])  # fmt: skip
    inflow = network.inflows(*(np.concatenate(part) for part in zip(*links, strict=True)))
    del links
    clock("accumulation links")
    drains = _run(client, network.accumulate_tile, [
        (dem, grid, i, j, inflow[grid.ring_range(i, j)], threshold_km2, out, scratch)
        for i, j in tiles
    ])  # fmt: skip
    write_vrt(out, "accumulation", grid, dem, "float64", "nan")
    clock("accumulation")
    met = network.resolve(*(np.concatenate(part) for part in zip(*drains, strict=True)))
    del drains
    _run(client, network.hand_tile, [
        (dem, grid, i, j, network.halo_values(grid, i, j, met), out, scratch)
        for i, j in tiles
    ])  # fmt: skip
    write_vrt(out, "hand", grid, dem, "float32", "nan")
    shutil.rmtree(scratch)
    clock("hand")
    return Screening(out, len(tiles), rounds, clock.seconds)


def _directions(client: Client, dem: Raster, grid: TileGrid, outlets: str, out: Path) -> int:
    """Direction tiles, computed again, round after round, for the tiles whose halo's flat
    distances changed since they last ran (a neighbour found a shorter way off a flat they
    share), until none did; the number of rounds."""
    distance = np.full(grid.ring_cells, flow.FAR, dtype=np.int32)
    halo = {t: grid.ring_ids(*grid.halo(*t)) for t in grid.tiles()}
    given: dict[tuple[int, int], np.ndarray] = {}  # the halo distances each tile last had
    rounds = 0
    while batch := [
        t for t in grid.tiles() if t not in given or not np.array_equal(given[t], distance[halo[t]])
    ]:
        rounds += 1
        given.update((t, distance[halo[t]]) for t in batch)
        found = _run(client, flow.direction_tile, [
            (dem, grid, i, j, outlets, given[i, j], out) for i, j in batch
        ])  # fmt: skip
        for (i, j), ring_distance in zip(batch, found, strict=True):
            distance[grid.ring_range(i, j)] = ring_distance
    return rounds


class _Clock:
    """Wall time of each stage since the previous one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._last, 3)
        self._last = now


def _run(client: Client, task: Callable[..., Any], arguments: list[tuple]) -> list:
    """One task per tile; their (small) results in order."""
    futures = [client.submit(task, *args, pure=False) for args in arguments]
    return client.gather(futures)
