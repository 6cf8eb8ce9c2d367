"""Depression filling by tiles, after Barnes (2016), "Parallel Priority-Flood depression
filling for trillion cell digital elevation models": each tile is flooded from its perimeter,
every perimeter cell a watershed label (the DEM's outlets: label 0); the lowest level at which
labels touch, in the tiles and across their boundaries, makes a small spill graph; a
Priority-Flood of that graph gives each label the level its water leaves at; each tile then
raises its cells to their label's level. The outlets — where water leaves the DEM — come from
a registry of rules (`OUTLETS`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jnft.simulation import screening
from jnft.simulation.outofcore.grid import TileGrid, ring
from jnft.simulation.outofcore.rasters import Raster, read_window, write_tile

Outlets = Callable[[np.ndarray, int, int, tuple[int, int]], np.ndarray]


def dem_edges(valid: np.ndarray, top: int, left: int, shape: tuple[int, int]) -> np.ndarray:
    """The DEM's outer ring (the in-memory `drainage` default): `valid` has a one-cell margin
    around the region whose top-left cell is (top, left)."""
    h, w = valid.shape[0] - 2, valid.shape[1] - 2
    rows = np.arange(top, top + h)[:, None]
    cols = np.arange(left, left + w)[None, :]
    outer = (rows == 0) | (rows == shape[0] - 1) | (cols == 0) | (cols == shape[1] - 1)
    return outer & valid[1:-1, 1:-1]


def data_edges(valid: np.ndarray, top: int, left: int, shape: tuple[int, int]) -> np.ndarray:
    """Valid cells next (4-way) to no-data or to the DEM's edge: the edge of the data, as the
    derived stream network of `jnft.simulation.flood` has it."""
    inner = valid[1:-1, 1:-1]
    kept = valid[:-2, 1:-1] & valid[2:, 1:-1] & valid[1:-1, :-2] & valid[1:-1, 2:]
    return inner & ~kept


OUTLETS: dict[str, Outlets] = {"edges": dem_edges, "data_edges": data_edges}


def outlets_rule(name: str) -> Outlets:
    try:
        return OUTLETS[name]
    except KeyError:
        raise ValueError(f"outlets {name!r}: unknown; use one of {sorted(OUTLETS)}") from None


@dataclass(frozen=True)
class TileSpills:
    """A tile's part of the spill graph, in global labels (0: the outlets, 1 + id for the
    perimeter cell of that id), and its perimeter's labels and elevations."""

    low: np.ndarray
    high: np.ndarray
    spill: np.ndarray
    ring_label: np.ndarray  # −1 on no-data
    ring_z: np.ndarray


def _scratch(scratch: Path, i: int, j: int) -> list[Path]:
    # The DEM is read again rather than kept: a window decompresses faster than it is written
    # and read back, and scratch space is the run's largest (8 bytes a cell).
    return [scratch / f"{name}_{i:04d}_{j:04d}.npy" for name in ("filled", "label")]


def flood_tile(
    dem: Raster, grid: TileGrid, i: int, j: int, outlets: str, scratch: Path
) -> TileSpills:
    """Priority-Flood of one tile from its perimeter and outlets; keeps its levels and labels
    in `scratch` for `raise_tile`."""
    win = grid.window(i, j)
    z = read_window(dem.path, win, halo=1)
    valid = np.isfinite(z)
    seeds = outlets_rule(outlets)(valid, win.row, win.col, (grid.height, grid.width))
    z, valid = np.ascontiguousarray(z[1:-1, 1:-1]), np.ascontiguousarray(valid[1:-1, 1:-1])
    label = np.full(z.shape, -1, dtype=np.int32)
    rows, cols = ring(win.height, win.width)
    label[rows, cols] = np.where(valid[rows, cols], 1 + np.arange(rows.size), -1)
    label[seeds] = 0
    filled = z.copy()
    low, high, spill = screening._flood_labelled(z, valid, filled, label, 0, win.height)
    first = grid.ring_range(i, j).start
    for path, array in zip(_scratch(scratch, i, j), (filled, label), strict=True):
        np.save(path, array.astype(dem.level_dtype) if array.dtype.kind == "f" else array)
    ring_label = label[rows, cols]
    return TileSpills(
        _global(low, first), _global(high, first), spill,
        _global(ring_label, first), z[rows, cols],
    )  # fmt: skip


def _global(local: np.ndarray, first: int) -> np.ndarray:
    """Global labels of a tile's local ones (0 and −1 stay)."""
    local = np.asarray(local, dtype=np.int64)
    return np.where(local > 0, local + first, local).astype(np.int32)


def spill_levels(grid: TileGrid, tiles: dict[tuple[int, int], TileSpills]) -> np.ndarray:
    """The level at which each label's water leaves (+inf: it reaches no outlet): a
    Priority-Flood of the spill graph, whose edges are the tiles' own and, across each tile
    boundary, the higher ground of each pair of neighbour cells (both are seeds of their
    tiles)."""
    ring_label = np.full(grid.ring_cells, -1, dtype=np.int32)
    ring_z = np.full(grid.ring_cells, np.nan)
    for (i, j), t in tiles.items():
        ring_label[grid.ring_range(i, j)] = t.ring_label
        ring_z[grid.ring_range(i, j)] = t.ring_z
    low, high, spill = [], [], []
    for t in tiles.values():
        low.append(t.low)
        high.append(t.high)
        spill.append(t.spill)
    for a, b in grid.cross_pairs():
        la, lb = ring_label[a], ring_label[b]
        keep = (la >= 0) & (lb >= 0) & (la != lb)
        low.append(la[keep])
        high.append(lb[keep])
        spill.append(np.maximum(ring_z[a], ring_z[b])[keep])
    del ring_label, ring_z
    return screening._spill_levels(
        grid.ring_cells + 1, np.concatenate(low), np.concatenate(high), np.concatenate(spill)
    )


def tile_levels(grid: TileGrid, i: int, j: int, levels: np.ndarray) -> np.ndarray:
    """The levels of a tile's local labels (0: the outlets, then its perimeter cells)."""
    return np.concatenate([levels[:1], levels[1:][grid.ring_range(i, j)]])


def raise_tile(
    dem: Raster, grid: TileGrid, i: int, j: int, levels: np.ndarray, scratch: Path, out: Path
) -> None:
    """The tile's filled DEM: each cell at the higher of its tile's level and its label's (its
    own elevation where the label reaches no outlet), written as the tile of `filled`."""
    win = grid.window(i, j)
    paths = _scratch(scratch, i, j)
    filled, label = (np.load(path) for path in paths)
    z, filled = read_window(dem.path, win), filled.astype(np.float64)
    screening._raise(filled, z, label, levels)
    write_tile(out, "filled", i, j, win, dem, filled.astype(dem.level_dtype), np.nan)
    for path in paths:
        path.unlink()
