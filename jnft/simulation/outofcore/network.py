"""Flow accumulation and HAND by tiles, after Barnes (2017), "Parallel non-divergent flow
accumulation for trillion cell digital elevation models on desktops or clusters": each tile
accumulates its own cells and links each perimeter cell to the next perimeter cell down its
flow path (or, for a cell draining out of the tile, to the cell it drains into); a pass over
that small forest gives the flow entering each tile through each perimeter cell; each tile
then accumulates again with those inflows as weights. HAND goes the same way down: each
perimeter cell either meets a stream in its tile or leaves it, and the pass resolves the
elevation of the stream each one meets."""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from jnft.simulation import screening
from jnft.simulation.outofcore.flow import NONE
from jnft.simulation.outofcore.grid import TileGrid, ring
from jnft.simulation.outofcore.rasters import Raster, read_tile, read_window, write_tile


def local_flow(grid: TileGrid, i: int, j: int, codes: np.ndarray) -> tuple[np.ndarray, ...]:
    """(receivers inside the tile, −1 elsewhere; perimeter id of the cell each cell drains
    into out of the tile, −1 for the others; perimeter id of each cell, −1 inside)."""
    win = grid.window(i, j)
    receiver = _receivers_within(codes)
    ring_rows, ring_cols = ring(win.height, win.width)
    on_ring = ring_rows * win.width + ring_cols
    ids = np.full(codes.size, -1, dtype=np.int64)
    ids[on_ring] = np.arange(on_ring.size) + grid.ring_range(i, j).start
    # Only perimeter cells can drain out of the tile.
    code = codes[ring_rows, ring_cols]
    m = np.minimum(code, 7)
    tr, tc = ring_rows + screening._DR[m], ring_cols + screening._DC[m]
    outside = (tr < 0) | (tr >= win.height) | (tc < 0) | (tc >= win.width)
    leaving = (code != NONE) & outside
    out_of_tile = np.full(codes.size, -1, dtype=np.int64)
    out_of_tile[on_ring[leaving]] = grid.ring_ids(tr[leaving] + win.row, tc[leaving] + win.col)
    return receiver, out_of_tile, ids


@numba.njit(cache=True, nogil=True)
def _receivers_within(codes):
    """Flat-index receivers of a tile's direction codes; −1 where none is in the tile."""
    h, w = codes.shape
    receiver = np.full(h * w, -1, dtype=np.int64)
    for r in range(h):
        for k in range(w):
            m = codes[r, k]
            if m != NONE:
                rr, kk = r + screening._DR[m], k + screening._DC[m]
                if 0 <= rr < h and 0 <= kk < w:
                    receiver[r * w + k] = rr * w + kk
    return receiver


def _scratch(scratch: Path, name: str, i: int, j: int) -> Path:
    return scratch / f"{name}_{i:04d}_{j:04d}.npy"


def accumulation_links(
    dem: Raster, grid: TileGrid, i: int, j: int, out: Path, scratch: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the tile's perimeter cells (ring order): their accumulation within the tile, the id
    of the next perimeter cell down their path (−1: none), and whether that is out of the
    tile. Keeps the tile's topological order in `scratch`."""
    codes = read_tile(str(out / "direction.vrt"), grid.window(i, j))
    receiver, out_of_tile, ids = local_flow(grid, i, j, codes)
    order = screening.topological_order(receiver)
    np.save(_scratch(scratch, "order", i, j), order.astype(np.int32))
    within = screening._accumulate(receiver, order, np.ones(receiver.size))
    link, leaves = _next_on_ring(receiver, order, out_of_tile, ids)
    return _on_ring(ids, within), _on_ring(ids, link), _on_ring(ids, leaves)


def _on_ring(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The values of a tile's perimeter cells, in ring order."""
    on_ring = ids >= 0
    out = np.empty(int(on_ring.sum()), dtype=values.dtype)
    out[ids[on_ring] - ids[on_ring].min()] = values[on_ring]
    return out


@numba.njit(cache=True, nogil=True)
def _next_on_ring(receiver, order, out_of_tile, ids):
    """Each cell's next perimeter cell downstream (strictly) within the tile, or the cell out
    of the tile it drains into (flagged), or −1."""
    link = np.full(receiver.size, -1, dtype=np.int64)
    leaves = np.zeros(receiver.size, dtype=np.bool_)
    for c in order:  # downstream first
        t = receiver[c]
        if t < 0:
            if out_of_tile[c] >= 0:
                link[c], leaves[c] = out_of_tile[c], True
        elif ids[t] >= 0:
            link[c] = ids[t]
        else:
            link[c], leaves[c] = link[t], leaves[t]
    return link, leaves


@numba.njit(cache=True, nogil=True)
def inflows(within: np.ndarray, link: np.ndarray, leaves: np.ndarray) -> np.ndarray:
    """Flow entering each perimeter cell from other tiles: the totals of the cells draining
    into it, each the cell's accumulation within its tile plus what entered upstream of it."""
    entered = np.zeros(within.size)  # flow from other tiles upstream of the cell, in its paths
    inflow = np.zeros(within.size)
    for p in screening.topological_order(link)[::-1]:  # upstream first
        q = link[p]
        if q < 0:
            continue
        if leaves[p]:
            inflow[q] += within[p] + entered[p]
            entered[q] += within[p] + entered[p]
        else:
            entered[q] += entered[p]
    return inflow


def accumulate_tile(
    dem: Raster, grid: TileGrid, i: int, j: int, inflow: np.ndarray, threshold_km2: float,
    out: Path, scratch: Path,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Write the tile's flow accumulation (cells, NaN on no-data), its perimeter inflows as
    weights; return, for its perimeter cells, the elevation of the stream down their path
    within the tile (NaN: none) and the cell out of the tile the path continues into (−1);
    keep those of all its cells in `scratch` for `hand_tile`."""
    win = grid.window(i, j)
    codes = read_tile(str(out / "direction.vrt"), win)
    receiver, out_of_tile, ids = local_flow(grid, i, j, codes)
    path = _scratch(scratch, "order", i, j)
    order = np.load(path).astype(np.int64)
    path.unlink()
    weights = np.ones(receiver.size)
    on_ring = ids >= 0
    weights[on_ring] += inflow[ids[on_ring] - grid.ring_range(i, j).start]
    total = screening._accumulate(receiver, order, weights).reshape(codes.shape)
    elev = read_window(str(out / "filled.vrt"), win)
    valid = np.isfinite(elev)
    write_tile(out, "accumulation", i, j, win, dem, np.where(valid, total, np.nan), np.nan)
    streams = _streams(total, valid, dem, threshold_km2)
    drain, link = _drain(receiver, order, streams.ravel(), elev.ravel(), out_of_tile,
                         np.full(receiver.size, np.nan))  # fmt: skip
    # Perimeter ids fit int32 (`screen` checks); the elevations are read again from `filled`.
    np.save(_scratch(scratch, "drain", i, j), drain.astype(dem.level_dtype))
    np.save(_scratch(scratch, "link", i, j), link.astype(np.int32))
    return _on_ring(ids, drain), _on_ring(ids, link)


def _streams(total: np.ndarray, valid: np.ndarray, dem: Raster, threshold_km2: float) -> np.ndarray:
    """Stream cells: draining at least `threshold_km2`, as `flood.derived_network` has them."""
    return np.where(valid, total * dem.cell_area / 1e6, 0.0) >= threshold_km2


@numba.njit(cache=True, nogil=True)
def _drain(receiver, order, streams, elev, out_of_tile, beyond):
    """Each cell's stream elevation down its path in the tile (else `beyond` of the cell that
    leaves it), and the cell out of the tile its path continues into when it meets none."""
    drain = np.full(receiver.size, np.nan)
    link = np.full(receiver.size, -1, dtype=np.int64)
    for c in order:  # downstream first
        t = receiver[c]
        if streams[c]:
            drain[c] = elev[c]
        elif t >= 0:
            drain[c], link[c] = drain[t], link[t]
        elif out_of_tile[c] >= 0:
            drain[c], link[c] = beyond[c], out_of_tile[c]
    return drain, link


@numba.njit(cache=True, nogil=True)
def resolve(drain: np.ndarray, link: np.ndarray) -> np.ndarray:
    """The stream elevation each perimeter cell meets, following the links across tiles."""
    value = drain.copy()
    done = link < 0
    path = np.empty(drain.size, dtype=np.int64)
    for p in range(drain.size):
        length, x = 0, p
        while not done[x]:
            path[length] = x
            length += 1
            x = link[x]
        for k in range(length):
            value[path[k]] = value[x]
            done[path[k]] = True
    return value


def hand_tile(
    dem: Raster, grid: TileGrid, i: int, j: int, beyond: np.ndarray, out: Path, scratch: Path
) -> None:
    """Write the tile's HAND: filled elevation minus that of the first stream cell down the
    path, NaN where the path meets none; `beyond`: the stream elevation met from each cell of
    its halo (by perimeter id), for the paths that leave the tile before meeting one."""
    win = grid.window(i, j)
    paths = [_scratch(scratch, name, i, j) for name in ("drain", "link")]
    drain, link = np.load(paths[0]).astype(np.float64), np.load(paths[1])
    elev = read_window(str(out / "filled.vrt"), win).ravel()
    leaves = link >= 0
    drain[leaves] = beyond[np.searchsorted(_halo_ids(grid, i, j), link[leaves])]
    heights = (elev - drain).reshape(win.height, win.width)
    write_tile(out, "hand", i, j, win, dem, heights.astype(np.float32), np.nan)
    for path in paths:
        path.unlink()


def _halo_ids(grid: TileGrid, i: int, j: int) -> np.ndarray:
    """Sorted perimeter ids of the tile's halo cells."""
    return np.sort(grid.ring_ids(*grid.halo(i, j)))


def halo_values(grid: TileGrid, i: int, j: int, values: np.ndarray) -> np.ndarray:
    """`values` (by perimeter id) of the tile's halo cells, in `_halo_ids` order."""
    return values[_halo_ids(grid, i, j)]
