"""D8 flow directions by tiles, the same as the in-memory `screening.drainage` gives: the
steepest descent on the filled DEM read with a halo, and on flats the first neighbour one step
closer to where the flat drains in breadth-first distance. A flat may span tiles: each tile
computes its flats' distances from its own exits and from the distances its neighbours found
on their perimeters (its halo), round after round, the tiles whose halo changed only, until no
perimeter changes — a relaxation that ends at the exact distances (every round's are lengths of
real paths, and the shortest path crossing k tile boundaries is found by round k + 1)."""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from jnft.simulation import screening
from jnft.simulation.outofcore.fill import outlets_rule
from jnft.simulation.outofcore.grid import TileGrid, ring
from jnft.simulation.outofcore.rasters import Raster, read_window, write_tile

HALO = 2  # a cell's flatness reads its neighbours: the halo's cells' flatness, theirs
NONE = 255  # direction code of a cell draining nowhere: outlets, no-data, closed flats
FAR = int(screening._FAR)
# Direction codes are the D8 order of `screening` (N, NE, E, SE, S, SW, W, NW); by
# (row step + 1) * 3 + (column step + 1):
_CODE = np.full(9, NONE, dtype=np.uint8)
_CODE[(screening._DR + 1) * 3 + screening._DC + 1] = np.arange(8)


def direction_tile(
    dem: Raster, grid: TileGrid, i: int, j: int, outlets: str, halo_distance: np.ndarray,
    out: Path,
) -> np.ndarray:  # fmt: skip
    """Write the tile's direction codes, given the flat distances on its halo (`grid.halo`
    order; FAR: not known, or not flat); return those on its perimeter (ring order)."""
    win = grid.window(i, j)
    filled = read_window(str(out / "filled.vrt"), win, halo=HALO)
    valid = np.isfinite(filled)
    seeds = np.zeros(filled.shape, dtype=bool)
    seeds[1:-1, 1:-1] = outlets_rule(outlets)(
        valid, win.row - HALO + 1, win.col - HALO + 1, (grid.height, grid.width)
    )
    receiver = screening._steepest(filled, seeds, valid)
    flat = (receiver == screening._FLAT).reshape(filled.shape)
    flat[[0, -1]] = flat[:, [0, -1]] = False  # the outer halo ring: its flatness is unknown
    inner = np.zeros_like(flat)
    inner[HALO:-HALO, HALO:-HALO] = flat[HALO:-HALO, HALO:-HALO]
    exits = np.flatnonzero(screening._flat_exits(filled, receiver, seeds.ravel(), inner))
    distance = np.full(filled.size, FAR, dtype=np.int32)
    rows, cols = grid.halo(i, j)
    around = (rows - win.row + HALO) * filled.shape[1] + cols - win.col + HALO
    distance[around] = halo_distance
    known = halo_distance < FAR
    order = np.argsort(halo_distance[known], kind="stable")
    sources = np.concatenate([exits, around[known][order]])
    start = np.concatenate([np.zeros(exits.size, np.int32), halo_distance[known][order]])
    screening._flat_distances(filled, inner, sources, start.astype(np.int32), distance)
    screening._flat_receivers(filled, flat, distance, receiver)
    codes = _codes(receiver, filled.shape[0], filled.shape[1], HALO)
    write_tile(out, "direction", i, j, win, dem, codes, None)
    ring_rows, ring_cols = ring(win.height, win.width)
    return distance.reshape(filled.shape)[ring_rows + HALO, ring_cols + HALO]


@numba.njit(cache=True, nogil=True)
def _codes(receiver, rows, cols, margin):
    """Direction codes of the flat-index receivers of a rows × cols window, without its outer
    `margin` cells."""
    codes = np.full((rows - 2 * margin, cols - 2 * margin), NONE, dtype=np.uint8)
    for r in range(margin, rows - margin):
        for k in range(margin, cols - margin):
            target = receiver[r * cols + k]
            if target >= 0:
                step = (target // cols - r + 1) * 3 + target % cols - k + 1
                codes[r - margin, k - margin] = _CODE[step]
    return codes


def receivers(codes: np.ndarray) -> np.ndarray:
    """Flat-index receivers (−1: none) of a whole grid's direction codes — the in-memory
    `Drainage.receiver` of the same DEM."""
    rows, cols = np.indices(codes.shape)
    m = np.minimum(codes, 7)
    target = (rows + screening._DR[m]) * codes.shape[1] + cols + screening._DC[m]
    return np.where(codes == NONE, -1, target).ravel()
