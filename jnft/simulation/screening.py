"""Fast flood screening on a DEM: connected bathtub for sea levels, HAND for river stages.

Both rest on one Priority-Flood (Barnes, Lehman & Mulla 2014, the variant with a FIFO queue
for depressions, on a binary heap held in two arrays) from seed cells — the sea, or the DEM's edges:

- `filled[c]` is the lowest level from which water standing at the seeds reaches c (the
  highest point of the best path): the depression-filled DEM, and from the sea the lowest sea
  level that floods c — so one pass answers every sea level: flooded ⟺ filled ≤ level;
- cells are popped in non-decreasing filled level, so the pop `order` is a topological order
  of the drainage: every cell comes after the cell it drains to;
- `receiver` is the D8 steepest descent on the filled DEM, and, on the flats filling creates,
  the cell the flood came from (which leads to the outlet).

HAND (height above nearest drainage) then follows in one pass in that order, and flow
accumulation in one pass in reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

# D8 neighbours: row and column offsets, distances in cells.
_DR = np.array([-1, -1, 0, 1, 1, 1, 0, -1], dtype=np.int64)
_DC = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
_DIST = np.array([1.0, np.sqrt(2), 1.0, np.sqrt(2), 1.0, np.sqrt(2), 1.0, np.sqrt(2)])


@dataclass(frozen=True)
class Drainage:
    filled: np.ndarray  # depression-filled elevation (or spill level from the seeds)
    receiver: np.ndarray  # flat index of the downstream cell, −1 at outlets and seeds
    order: np.ndarray  # flat indices, downstream before upstream

    @property
    def shape(self) -> tuple[int, int]:
        return self.filled.shape


def edges(shape: tuple[int, int]) -> np.ndarray:
    """The outer ring of a grid: where water leaves a DEM."""
    mask = np.zeros(shape, dtype=bool)
    mask[0], mask[-1], mask[:, 0], mask[:, -1] = True, True, True, True
    return mask


def drainage(z: np.ndarray, seeds: np.ndarray | None = None, valid: np.ndarray | None = None
             ) -> Drainage:  # fmt: skip
    """Priority-Flood from `seeds` (default: the edges) over the `valid` cells."""
    z = np.ascontiguousarray(z, dtype=np.float64)
    seeds = edges(z.shape) if seeds is None else np.asarray(seeds, dtype=bool)
    valid = np.isfinite(z) if valid is None else np.asarray(valid, dtype=bool) & np.isfinite(z)
    seeds = seeds & valid
    if not seeds.any():
        raise ValueError("no seed cell: nothing to flood from")
    filled, came_from, order = _priority_flood(z, seeds.ravel(), valid.ravel())
    filled = filled.reshape(z.shape)
    receiver = _steepest(filled, came_from, seeds.ravel(), valid.ravel())
    return Drainage(filled, receiver, order)


def bathtub_depth(z: np.ndarray, spill: np.ndarray, level: float) -> np.ndarray:
    """Water depth for a still sea `level`: cells whose spill level from the sea is below it
    (hydraulically connected), NaN elsewhere."""
    depth = level - z
    return np.where((spill <= level) & (depth > 0), depth, np.nan)


def accumulation(d: Drainage, weights: np.ndarray | None = None) -> np.ndarray:
    """Upstream cells (or summed weights) draining through each cell, itself included."""
    w = np.ones(d.filled.size) if weights is None else np.asarray(weights, np.float64).ravel()
    return _accumulate(d.receiver, d.order, w.copy()).reshape(d.shape)


def hand(d: Drainage, streams: np.ndarray, elevation: np.ndarray | None = None) -> np.ndarray:
    """Height above the nearest drainage: a cell's elevation minus that of the first stream
    cell down its flow path (NaN where the path reaches no stream). Elevation defaults to the
    filled DEM, as HAND is defined on a hydrologically conditioned surface."""
    elev = d.filled if elevation is None else np.asarray(elevation, dtype=np.float64)
    out = _hand(d.receiver, d.order, np.asarray(streams, bool).ravel(), elev.ravel())
    return out.reshape(d.shape)


@numba.njit(cache=True, nogil=True)
def _priority_flood(z, seeds, valid):
    rows, cols = z.shape
    n = rows * cols
    flat = z.ravel()
    filled = flat.copy()
    done = ~valid.copy()
    came_from = np.full(n, -1, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    count = 0
    keys = np.empty(n)  # a binary heap of (elevation, cell) in two arrays
    cells = np.empty(n, dtype=np.int64)
    size = 0
    pit = np.empty(n, dtype=np.int64)  # FIFO of depression cells (their level is the current)
    head = tail = 0
    for i in range(n):
        if seeds[i]:
            done[i] = True
            size = _push(keys, cells, size, flat[i], i)
    while head < tail or size > 0:
        if head < tail:
            c = pit[head]
            head += 1
        else:
            c, size = _pop(keys, cells, size)
        order[count] = c
        count += 1
        r, k = c // cols, c % cols
        level = filled[c]
        for m in range(8):
            rr, kk = r + _DR[m], k + _DC[m]
            if rr < 0 or rr >= rows or kk < 0 or kk >= cols:
                continue
            nb = rr * cols + kk
            if done[nb]:
                continue
            done[nb] = True
            came_from[nb] = c
            if flat[nb] <= level:
                filled[nb] = level
                pit[tail] = nb
                tail += 1
            else:
                size = _push(keys, cells, size, flat[nb], nb)
    return filled, came_from, order[:count]


@numba.njit(cache=True, nogil=True, inline="always")
def _before(key_a, cell_a, key_b, cell_b):
    """Heap order: lower elevation first, then lower cell index (deterministic ties)."""
    return key_a < key_b or (key_a == key_b and cell_a < cell_b)


@numba.njit(cache=True, nogil=True, inline="always")
def _push(keys, cells, size, key, cell):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(key, cell, keys[parent], cells[parent]):
            break
        keys[i], cells[i] = keys[parent], cells[parent]
        i = parent
    keys[i], cells[i] = key, cell
    return size + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _pop(keys, cells, size):
    """(the first cell, the new size)."""
    top = cells[0]
    size -= 1
    key, cell = keys[size], cells[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _before(
            keys[child + 1], cells[child + 1], keys[child], cells[child]
        ):
            child += 1
        if not _before(keys[child], cells[child], key, cell):
            break
        keys[i], cells[i] = keys[child], cells[child]
        i = child
    keys[i], cells[i] = key, cell
    return top, size


@numba.njit(cache=True, nogil=True)
def _steepest(filled2, came_from, seeds, valid):
    rows, cols = filled2.shape
    filled = filled2.ravel()
    receiver = np.full(filled.size, -1, dtype=np.int64)
    for c in range(filled.size):  # row by row: memory order, not the flood's
        if seeds[c] or not valid[c]:
            continue
        r, k = c // cols, c % cols
        best, target = 0.0, -1
        for m in range(8):
            rr, kk = r + _DR[m], k + _DC[m]
            if rr < 0 or rr >= rows or kk < 0 or kk >= cols:
                continue
            nb = rr * cols + kk
            if not valid[nb]:
                continue
            drop = (filled[c] - filled[nb]) / _DIST[m]
            if drop > best:
                best, target = drop, nb
        receiver[c] = target if target >= 0 else came_from[c]
    return receiver


@numba.njit(cache=True, nogil=True)
def _accumulate(receiver, order, weights):
    for i in range(order.size - 1, -1, -1):
        c = order[i]
        if receiver[c] >= 0:
            weights[receiver[c]] += weights[c]
    return weights


@numba.njit(cache=True, nogil=True)
def _hand(receiver, order, streams, elev):
    drain = np.full(elev.size, np.nan)
    for c in order:
        if streams[c]:
            drain[c] = elev[c]
        elif receiver[c] >= 0:
            drain[c] = drain[receiver[c]]
    return elev - drain
