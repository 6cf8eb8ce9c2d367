"""A scenario on a territory: the model grid, where water comes in, the screening pre-pass,
the compute domain of a tile, and the local-inertial run — arrays in, arrays out.

Tiles are seamless because a tile is never computed alone: its compute domain is the whole
area the screening pass finds hydraulically connected to the water that reaches the tile
(the flooded valley from its upstream inflow, the coast from the sea), plus a margin. Every
tile the same flood touches therefore runs the same domain, which is computed once and
shared through a cache keyed by its inputs.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.ndimage

from jnft.simulation.inertial import (
    SCHEME_VERSION,
    HeldLevel,
    Hydrograph,
    Inflow,
    Result,
    Setup,
    VolumeBalance,
    simulate,
)
from jnft.simulation.screening import accumulation, bathtub_depth, drainage, hand


@dataclass(frozen=True)
class Grid:
    """A north-up grid: `x0`, `y1` the top-left corner, square cells of `resolution`."""

    x0: float
    y1: float
    resolution: float
    rows: int
    cols: int

    def window_of(self, bounds: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """(r0, r1, c0, c1) of the cells whose centres lie within the bounds."""
        x0, y0, x1, y1 = bounds
        r = self.resolution
        c0 = max(0, math.ceil((x0 - self.x0) / r - 0.5))
        c1 = min(self.cols, math.ceil((x1 - self.x0) / r - 0.5))
        r0 = max(0, math.floor((self.y1 - y1) / r + 0.5))
        r1 = min(self.rows, math.floor((self.y1 - y0) / r + 0.5))
        return r0, r1, c0, c1


def coarsen(dem: np.ndarray, factor: int) -> np.ndarray:
    """Block means of `factor` × `factor` cells (no-data ignored; all no-data stays NaN)."""
    rows, cols = dem.shape[0] // factor, dem.shape[1] // factor
    blocks = dem[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor)
    if not np.isnan(blocks).any():
        return blocks.mean((1, 3))
    valid = np.isfinite(blocks)
    count = valid.sum((1, 3))
    total = np.where(valid, blocks, 0.0).sum((1, 3))
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def sea_cells(dem: np.ndarray, nodata: bool = False) -> np.ndarray:
    """Cells below the datum's zero — and, with `nodata`, cells without data — connected to
    the grid's edge: the sea."""
    below = np.where(np.isnan(dem), nodata, dem < 0)
    labels, _ = scipy.ndimage.label(below)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, border[border > 0])


def edge_cells(shape: tuple[int, int], sides: tuple[str, ...]) -> np.ndarray:
    """The cells of the named sides of a north-up grid."""
    mask = np.zeros(shape, dtype=bool)
    for side in sides:
        mask[
            {"north": (0,), "south": (-1,), "west": (slice(None), 0), "east": (slice(None), -1)}[
                side
            ]
        ] = True
    return mask


def point_cells(grid: Grid, x: float, y: float, width_cells: int) -> list[tuple[int, int]]:
    """The cells within half `width_cells` of the cell holding (x, y), on the grid."""
    r = math.floor((grid.y1 - y) / grid.resolution)
    c = math.floor((x - grid.x0) / grid.resolution)
    if not (0 <= r < grid.rows and 0 <= c < grid.cols):
        raise ValueError(f"inflow_at ({x}, {y}) lies outside the model grid")
    half = max(width_cells // 2, 0)
    return [
        (rr, cc)
        for rr in range(max(r - half, 0), min(r + half + 1, grid.rows))
        for cc in range(max(c - half, 0), min(c + half + 1, grid.cols))
    ]


def derived_network(
    dem: np.ndarray, resolution: float, threshold_km2: float
) -> tuple[np.ndarray, tuple[int, int] | None]:
    """(stream cells, head of the main stream) of a terrain without a watercourse layer: the
    cells draining at least `threshold_km2` along the D8 flow of the depression-filled DEM
    (outlets: the edge of the data); the main stream climbs from the largest outlet along
    the largest upstream area to where it falls below the threshold."""
    valid = np.isfinite(dem)
    outlets = valid & ~scipy.ndimage.binary_erosion(valid, border_value=0)
    flow = drainage(dem, seeds=outlets, valid=valid)
    area = np.where(valid, accumulation(flow) * resolution**2 / 1e6, 0.0)
    streams = area >= threshold_km2
    if not streams.any():
        return streams, None
    receiver, upstream = flow.receiver.ravel(), area.ravel()
    donors = np.flatnonzero(receiver >= 0)
    # Each cell's largest donor: donors sorted by receiver, then area; the last of each run.
    ranked = donors[np.lexsort((upstream[donors], receiver[donors]))]
    last = np.r_[receiver[ranked][1:] != receiver[ranked][:-1], True]
    largest = np.full(receiver.size, -1)
    largest[receiver[ranked][last]] = ranked[last]
    cell = int(np.argmax(upstream))
    while largest[cell] >= 0 and upstream[largest[cell]] >= threshold_km2:
        cell = int(largest[cell])
    row, col = divmod(cell, dem.shape[1])
    return streams, (row, col)


def inflow_cells(z: np.ndarray, channel: np.ndarray, width_cells: int) -> list[tuple[int, int]]:
    """Where the main watercourse enters: its highest cell on the grid's edge, and the edge
    cells around it over the inflow width."""
    rows, cols = z.shape
    ring = np.zeros_like(channel)
    ring[0], ring[-1], ring[:, 0], ring[:, -1] = True, True, True, True
    candidates = np.argwhere(channel & ring)
    if not len(candidates):
        raise ValueError("no watercourse crosses the grid's edge: no inflow for the river")
    r, c = max(candidates.tolist(), key=lambda p: z[p[0], p[1]])
    half = max(width_cells // 2, 0)
    if c in (0, cols - 1):
        return [(rr, c) for rr in range(max(r - half, 0), min(r + half + 1, rows))]
    return [(r, cc) for cc in range(max(c - half, 0), min(c + half + 1, cols))]


def normal_depth(discharge: float, width: float, slope: float, manning: float) -> float:
    """Depth of a wide channel carrying `discharge` at normal flow (Manning)."""
    return (discharge * manning / (width * math.sqrt(max(slope, 1e-5)))) ** 0.6


def channel_slope(z: np.ndarray, channel: np.ndarray, resolution: float) -> float:
    """Mean bed slope along the watercourse cells (end-to-end drop over length)."""
    cells = np.argwhere(channel)
    if len(cells) < 2:
        return 1e-3
    levels = z[channel]
    length = len(cells) * resolution
    return float(max((np.max(levels) - np.min(levels)) / length, 1e-5))


def screen_river(
    z: np.ndarray, channel: np.ndarray, stage: float, sources: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(flooded cells, depth) of a river `stage`: cells within it above the nearest drainage
    (HAND on the filled DEM), connected to the inflow; depth = stage − HAND."""
    heights = hand(drainage(z), channel)
    labels, _ = scipy.ndimage.label((heights <= stage) | sources)
    flooded = np.isin(labels, np.unique(labels[sources]))
    return flooded, np.where(flooded, stage - heights, np.nan)


def screen_coast(z: np.ndarray, sea: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(flooded cells, depth) of a still sea `level`: connected bathtub from the sea."""
    spill = drainage(z, seeds=sea).filled
    depth = bathtub_depth(z, spill, level)
    return np.isfinite(depth) | sea, depth


def domain_for(
    flooded: np.ndarray, tile: tuple[int, int, int, int], margin_cells: int
) -> tuple[int, int, int, int] | None:
    """The compute domain of a tile: the box of the screened flood's connected parts that
    reach the tile, grown by the margin (None when no water reaches the tile)."""
    labels, _ = scipy.ndimage.label(flooded)
    r0, r1, c0, c1 = tile
    touching = np.unique(labels[r0:r1, c0:c1])
    touching = touching[touching > 0]
    if not len(touching):
        return None
    rows, cols = np.nonzero(np.isin(labels, touching))
    return (
        max(int(rows.min()) - margin_cells, 0),
        min(int(rows.max()) + 1 + margin_cells, flooded.shape[0]),
        max(int(cols.min()) - margin_cells, 0),
        min(int(cols.max()) + 1 + margin_cells, flooded.shape[1]),
    )


@dataclass(frozen=True)
class Forcing:
    """What drives a run: inflow cells and hydrograph, sea cells and their level."""

    inflow: tuple[tuple[int, int], ...]
    discharge: Hydrograph | None
    sea: np.ndarray
    sea_level: Hydrograph | None


def run_domain(
    z: np.ndarray,
    manning: np.ndarray,
    forcing: Forcing,
    window: tuple[int, int, int, int],
    resolution: float,
    duration: float,
    cache: Path | None = None,
) -> Result:
    """The local-inertial run on a window of the grid; with `cache`, a run with the same
    inputs is read back instead of computed again (a second tile of the same flood)."""
    r0, r1, c0, c1 = window
    zw = z[r0:r1, c0:c1].copy()
    sea = forcing.sea[r0:r1, c0:c1]
    key = _key(zw, manning[r0:r1, c0:c1], forcing, window, resolution, duration)
    if cache is not None and (cache / f"{key}.npz").exists():
        return _read(cache / f"{key}.npz")
    held = []
    if forcing.sea_level is not None and sea.any():
        # The sea's own depth does not matter (its level is held): a shallow bed keeps the
        # time step that of the flood, not of the sea's deepest cell.
        low = min(forcing.sea_level.values) - 1.0
        zw[sea] = np.maximum(zw[sea], low)
        held.append(HeldLevel(sea, forcing.sea_level))
    inflows = []
    local = tuple((r - r0, c - c0) for r, c in forcing.inflow if r0 <= r < r1 and c0 <= c < c1)
    if forcing.discharge is not None and local:
        inflows.append(Inflow(local, forcing.discharge))
    start = np.zeros_like(zw)
    if held:  # the sea starts at its level
        assert forcing.sea_level is not None  # the only held level
        start[sea] = np.maximum(forcing.sea_level.at(0.0) - zw[sea], 0.0)
    setup = Setup(z=zw, dx=resolution, manning=manning[r0:r1, c0:c1], depth=start,
                  inflows=inflows, held=held)  # fmt: skip
    result = simulate(setup, duration)
    if cache is not None:
        _write(cache / f"{key}.npz", result)
    return result


def _key(
    z: np.ndarray,
    manning: np.ndarray,
    forcing: Forcing,
    window: tuple[int, int, int, int],
    resolution: float,
    duration: float,
) -> str:
    digest = hashlib.sha256(f"local-inertial {SCHEME_VERSION}".encode())
    for array in (z, manning, forcing.sea):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(
        json.dumps(
            [
                list(window), resolution, duration, list(forcing.inflow),
                forcing.discharge and [forcing.discharge.times, forcing.discharge.values],
                forcing.sea_level and [forcing.sea_level.times, forcing.sea_level.values],
            ]
        ).encode()
    )  # fmt: skip
    return digest.hexdigest()[:24]


def _write(path: Path, result: Result) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npz")
    v = result.volume
    np.savez_compressed(
        partial,
        depth=result.depth, max_depth=result.max_depth, max_speed=result.max_speed,
        arrival=result.arrival,
        numbers=np.array([v.initial, v.inflow, v.held, v.outflow, v.final, result.steps,
                          result.cell_updates, result.seconds]),
    )  # fmt: skip
    partial.replace(path)


def _read(path: Path) -> Result:
    with np.load(path) as data:
        n = data["numbers"]
        return Result(
            data["depth"], data["max_depth"], data["max_speed"], data["arrival"],
            VolumeBalance(*n[:5]), int(n[5]), int(n[6]), float(n[7]),
        )  # fmt: skip
