"""Fast flood screening on a DEM: connected bathtub for sea levels, HAND for river stages.

Both rest on a Priority-Flood (Barnes, Lehman & Mulla 2014) from seed cells — the sea, or the
DEM's edges. `filled[c]` is the lowest level from which water standing at the seeds reaches c
(the highest point of the best path): the depression-filled DEM, and from the sea the lowest
sea level that floods c — so one pass answers every sea level: flooded ⟺ filled ≤ level.

The flood runs in strips of rows, one per thread, as Barnes' (2016) parallel Priority-Flood:

1. each strip is flooded on its own from its seeds and its rows shared with the next strips,
   each such row cell starting a watershed label; the flood records the lowest level at which
   each pair of labels touch (a spill graph);
2. a Priority-Flood on that small graph gives each label the level its water leaves at;
3. a cell's level is the higher of its strip's and its label's: exact, the same as one flood
   of the whole DEM (tested), so territories and tiles need no halo.

Within a strip, the queue is a bucket queue on elevation (cells land in the bucket of their
elevation, only the current bucket is a binary heap) and cells below the current level go to
a FIFO (the depressions): the priority order costs little more than a breadth-first pass.

`receiver` is the D8 steepest descent on the filled DEM; on a flat (a cell with no lower
neighbour: the flats filling creates), the first neighbour in D8 order one step closer, in
breadth-first distance over the flat, to where the flat drains. Both rules read the filled DEM
alone, not the flood's order: the receivers do not depend on the strips, nor on the tiles of
the out-of-core screening (`jnft.simulation.outofcore`), which reuses these kernels. HAND
follows receivers to the nearest stream cell, memoizing paths; flow accumulation runs in a
topological order (computed on first use).
"""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np
from numba import prange

# D8 neighbours: row and column offsets, distances in cells.
_DR = np.array([-1, -1, 0, 1, 1, 1, 0, -1], dtype=np.int64)
_DC = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
_DIST = np.array([1.0, np.sqrt(2), 1.0, np.sqrt(2), 1.0, np.sqrt(2), 1.0, np.sqrt(2)])
MIN_STRIP_CELLS = 250_000  # below this, one strip: threads would cost more than they save
_OUTLET = 0  # the label of the seeds
_MAX_LABEL = 2**31 - 1  # labels are int32
_FLAT = -2  # receiver of a cell without a lower neighbour, before the flats are routed
_FAR = np.int32(2**31 - 1)  # distance on a flat that does not drain


@dataclass(frozen=True)
class Drainage:
    filled: np.ndarray  # depression-filled elevation (or spill level from the seeds)
    receiver: np.ndarray  # flat index of the downstream cell, −1 at outlets and seeds

    @property
    def shape(self) -> tuple[int, int]:
        return self.filled.shape

    @cached_property
    def order(self) -> np.ndarray:
        """Flat indices of the cells, each after the cell it drains to."""
        return topological_order(self.receiver)


def edges(shape: tuple[int, int]) -> np.ndarray:
    """The outer ring of a grid: where water leaves a DEM."""
    mask = np.zeros(shape, dtype=bool)
    mask[0], mask[-1], mask[:, 0], mask[:, -1] = True, True, True, True
    return mask


def drainage(
    z: np.ndarray,
    seeds: np.ndarray | None = None,
    valid: np.ndarray | None = None,
    strips: int | None = None,
) -> Drainage:
    """Priority-Flood from `seeds` (default: the edges) over the `valid` cells, in `strips`
    of rows flooded in parallel (default: one per thread, for large DEMs)."""
    z = np.ascontiguousarray(z, dtype=np.float64)
    seeds = edges(z.shape) if seeds is None else np.asarray(seeds, dtype=bool)
    valid = np.isfinite(z) if valid is None else np.asarray(valid, dtype=bool) & np.isfinite(z)
    seeds = np.ascontiguousarray(seeds & valid)
    valid = np.ascontiguousarray(valid)
    if not seeds.any():
        raise ValueError("no seed cell: nothing to flood from")
    if strips is None:
        strips = min(numba.get_num_threads(), max(1, z.size // MIN_STRIP_CELLS))
    # Strips of at least two rows, of fewer than 2^31 cells (int32 offsets), and labels (two
    # shared rows per strip) within their bits.
    strips = max(
        1, -(-z.size // 2**31), min(strips, z.shape[0] // 2, _MAX_LABEL // (2 * z.shape[1] + 1))
    )
    bounds = _row_bounds(z.shape[0], strips)
    filled = _flood_strips(z, seeds, valid, bounds)
    receiver = _steepest(filled, seeds, valid)
    _route_flats(filled, receiver, seeds.ravel())
    return Drainage(filled, receiver)


def _row_bounds(rows: int, parts: int) -> np.ndarray:
    """First rows of `parts` strips of nearly equal height, and the end."""
    return np.linspace(0, rows, max(parts, 1) + 1).astype(np.int64)


def _flood_strips(
    z: np.ndarray, seeds: np.ndarray, valid: np.ndarray, bounds: np.ndarray
) -> np.ndarray:
    """The filled DEM: each strip flooded on its own (in threads: the kernel releases the
    GIL), then the labels' levels from their spill graph, then the higher of the two per
    cell."""
    filled = z.copy()
    label = np.full(z.shape, -1, dtype=np.int32)
    # Labels: 0 for the seeds, then one per cell of the rows strips share, strip by strip.
    shared = np.zeros(z.shape[0], dtype=bool)
    shared[bounds[1:-1]] = shared[bounds[1:-1] - 1] = True
    strips = list(itertools.pairwise(bounds.tolist()))
    first = 1 + np.cumsum([0] + [shared[a:b].sum() * z.shape[1] for a, b in strips])
    jobs = [
        (z, seeds, valid, filled, label, a, b, int(f))
        for (a, b), f in zip(strips, first[:-1], strict=True)
    ]
    if len(jobs) == 1:
        graphs = [_flood_strip(*jobs[0])]
    else:
        with ThreadPoolExecutor(len(jobs)) as pool:
            graphs = list(pool.map(lambda job: _flood_strip(*job), jobs))
    pairs = graphs + [_across(z, valid, label, int(r)) for r in bounds[1:-1]]
    low = np.concatenate([p[0] for p in pairs])
    high = np.concatenate([p[1] for p in pairs])
    level = np.concatenate([p[2] for p in pairs])
    outlet = _spill_levels(int(first[-1]), low, high, level)
    _raise(filled, z, label, outlet)
    return filled


def _across(
    z: np.ndarray, valid: np.ndarray, label: np.ndarray, row: int
) -> tuple[np.ndarray, ...]:
    """Spill-graph edges between the last row of a strip and the first of the next (8-way):
    both rows are seeds of their strips, so the level to cross is the higher ground."""
    cols = z.shape[1]
    parts = []
    for shift in (-1, 0, 1):
        a = np.arange(max(0, -shift), cols - max(0, shift))
        b = a + shift
        ok = valid[row - 1, a] & valid[row, b]
        parts.append((label[row - 1, a][ok], label[row, b][ok],
                      np.maximum(z[row - 1, a], z[row, b])[ok]))  # fmt: skip
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


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
    rows, cols = d.shape
    bounds = _row_bounds(rows, min(numba.get_num_threads(), rows)) * cols
    out = _hand(d.receiver, np.asarray(streams, bool).ravel(), elev.ravel(), bounds)
    return out.reshape(d.shape)


@numba.njit(cache=True, nogil=True, inline="always")
def _neighbour(r, k, m, r0, r1, cols):
    """Flat index of the neighbour of cell (r, k) in direction m; −1 outside rows r0:r1."""
    rr, kk = r + _DR[m], k + _DC[m]
    return rr * cols + kk if r0 <= rr < r1 and 0 <= kk < cols else -1


@numba.njit(cache=True, nogil=True, inline="always")
def _offsets(cols):
    """Flat index offsets of the 8 directions: the neighbours of a cell off the edges."""
    return np.array([-cols, -cols + 1, 1, cols + 1, cols, cols - 1, -1, -cols - 1])


@numba.njit(cache=True, nogil=True, inline="always")
def _bucket(z, lo, scale, last):
    return min(int((z - lo) * scale), last)


@numba.njit(cache=True, nogil=True)
def _flood_strip(z, seeds, valid, filled, label, r0, r1, first):
    """Priority-Flood of rows r0:r1 from their seeds (label 0) and their rows shared with other
    strips (labels first, first + 1, …): see `_flood_labelled`."""
    rows, cols = z.shape
    lab, is_seed, ok = label.ravel(), seeds.ravel(), valid.ravel()
    for i in range(r0 * cols, r1 * cols):
        r = i // cols
        shared = (r0 > 0 and r == r0) or (r1 < rows and r == r1 - 1)
        if ok[i] and (is_seed[i] or shared):
            lab[i] = (
                _OUTLET
                if is_seed[i]
                else first + (1 if r0 > 0 and r != r0 else 0) * cols + i % cols
            )
    return _flood_labelled(z, valid, filled, label, r0, r1)


@numba.njit(cache=True, nogil=True)
def _flood_labelled(z, valid, filled, label, r0, r1):
    """Priority-Flood of rows r0:r1 from the cells already labelled there (label ≥ 0, the
    others −1), each spreading its label over its watershed: fills `filled` and `label` there;
    returns the spill graph's edges (label, label, lowest level at which they touch)."""
    cols = z.shape[1]
    zf, level_of, lab, ok = z.ravel(), filled.ravel(), label.ravel(), valid.ravel()
    base, stop = r0 * cols, r1 * cols
    n = stop - base
    lo, hi = np.inf, -np.inf
    for i in range(base, stop):
        if ok[i]:
            lo, hi = min(lo, zf[i]), max(hi, zf[i])
        else:
            lab[i] = -2  # never entered
    # Bucket queue: cells go to the bucket of their elevation; the current bucket is a heap.
    buckets = min(1 << 20, max(1024, n // 4))
    scale = (buckets - 1) / (hi - lo) if hi > lo else 0.0
    start = np.zeros(buckets + 1, dtype=np.int64)
    for i in range(base, stop):
        if ok[i]:
            start[_bucket(zf[i], lo, scale, buckets - 1) + 1] += 1
    largest = 0
    for b in range(buckets):
        largest = max(largest, start[b + 1])
        start[b + 1] += start[b]
    end = start[:-1].copy()
    # Queued cells as offsets in the strip (int32: half the memory traffic of flat indices).
    slots, slot_keys = np.empty(n, dtype=np.int32), np.empty(n)
    # The heap holds cells of the current bucket only: no more than the largest bucket.
    keys, cells = np.empty(largest), np.empty(largest, dtype=np.int64)
    size = pending = 0
    current = 0
    pit = np.empty(n, dtype=np.int32)  # FIFO of depression cells (their level is the current)
    head = tail = 0
    for i in range(base, stop):
        if lab[i] < 0:
            continue
        b = _bucket(zf[i], lo, scale, buckets - 1)
        slots[end[b]], slot_keys[end[b]] = i - base, zf[i]
        end[b] += 1
        pending += 1
    touching = numba.typed.Dict.empty(numba.types.int64, numba.types.float64)
    offsets = _offsets(cols)
    while head < tail or size > 0 or pending > 0:
        if head < tail:
            c = base + pit[head]
            head += 1
        else:
            if size == 0:
                while end[current] == start[current]:
                    current += 1
                for j in range(start[current], end[current]):
                    size = _push(keys, cells, size, slot_keys[j], base + slots[j])
                pending -= end[current] - start[current]
                end[current] = start[current]
            c, size = _pop(keys, cells, size)
        level, own = level_of[c], lab[c]
        r, k = c // cols, c % cols
        inner = r0 < r < r1 - 1 and 0 < k < cols - 1
        for m in range(8):
            nb = c + offsets[m] if inner else _neighbour(r, k, m, r0, r1, cols)
            if nb < 0:
                continue
            other = lab[nb]
            if other == -1:  # not reached yet: the flood enters it from c
                lab[nb] = own
                height = level_of[nb]
                if height <= level:
                    level_of[nb] = level
                    pit[tail] = nb - base
                    tail += 1
                else:
                    b = _bucket(height, lo, scale, buckets - 1)
                    if b == current:
                        size = _push(keys, cells, size, height, nb)
                    else:
                        slots[end[b]], slot_keys[end[b]] = nb - base, height
                        end[b] += 1
                        pending += 1
            elif other >= 0 and other != own:  # two watersheds touch
                key = (min(own, other) << 32) | max(own, other)
                spill = max(level, level_of[nb])
                if spill < touching.get(key, np.inf):
                    touching[key] = spill
    low, high = np.empty(len(touching), np.int64), np.empty(len(touching), np.int64)
    spills = np.empty(len(touching))
    for j, (key, spill) in enumerate(touching.items()):
        low[j], high[j], spills[j] = key >> 32, key & 0xFFFFFFFF, spill
    for i in range(base, stop):
        if lab[i] == -2:
            lab[i] = -1
    return low, high, spills


@numba.njit(cache=True, nogil=True)
def _spill_levels(count, low, high, spill):
    """The level at which each label's water leaves (minimax path to label 0 on the spill
    graph: a Priority-Flood of the graph); +inf where no path leads to a seed."""
    degree = np.zeros(count + 1, dtype=np.int64)
    for e in range(low.size):
        degree[low[e] + 1] += 1
        degree[high[e] + 1] += 1
    for a in range(count):
        degree[a + 1] += degree[a]
    fill = degree[:-1].copy()
    other, weight = np.empty(2 * low.size, np.int64), np.empty(2 * low.size)
    for e in range(low.size):
        for a, b in ((low[e], high[e]), (high[e], low[e])):
            other[fill[a]], weight[fill[a]] = b, spill[e]
            fill[a] += 1
    out = np.full(count, np.inf)
    out[_OUTLET] = -np.inf
    keys, cells = np.empty(2 * low.size + 1), np.empty(2 * low.size + 1, np.int64)
    size = _push(keys, cells, 0, -np.inf, _OUTLET)
    while size > 0:
        a, size = _pop(keys, cells, size)
        for j in range(degree[a], degree[a + 1]):
            b, reach = other[j], max(out[a], weight[j])
            if reach < out[b]:
                out[b] = reach
                size = _push(keys, cells, size, reach, b)
    return out


@numba.njit(cache=True, nogil=True, parallel=True)
def _raise(filled, z, label, outlet):
    """A cell's level: the higher of its strip's and its label's; its own elevation where its
    label reaches no seed."""
    rows, cols = z.shape
    for r in prange(rows):
        for k in range(cols):
            own = label[r, k]
            if own >= 0:
                w = outlet[own]
                filled[r, k] = z[r, k] if w == np.inf else max(filled[r, k], w)


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


@numba.njit(cache=True, nogil=True, parallel=True)
def _steepest(filled, seeds, valid):
    """D8 steepest descent on the filled DEM (the first of the steepest in D8 order); −1 at
    seeds and invalid cells, _FLAT where no neighbour is lower."""
    rows, cols = filled.shape
    receiver = np.full(filled.size, -1, dtype=np.int64)
    for r in prange(rows):
        best = np.full(cols, -1, dtype=np.int8)  # direction of the steepest drop, −1: none
        inner = 0 < r < rows - 1 and cols > 2
        if inner:
            _steepest_inner_row(filled[r - 1], filled[r], filled[r + 1], valid[r - 1],
                                valid[r + 1], valid[r], best[1:-1])  # fmt: skip
        for k in range(cols):
            if inner and 0 < k < cols - 1:
                continue
            drop_best = 0.0
            for m in range(8):
                e = _neighbour(r, k, m, 0, rows, cols)
                if e < 0 or not valid.flat[e]:
                    continue
                drop = (filled[r, k] - filled.flat[e]) / _DIST[m]
                if drop > drop_best:
                    drop_best, best[k] = drop, m
        for k in range(cols):
            if seeds[r, k] or not valid[r, k]:
                continue
            m = best[k]
            receiver[r * cols + k] = _FLAT if m < 0 else (r + _DR[m]) * cols + k + _DC[m]
    return receiver


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _steepest_inner_row(up, here, down, valid_up, valid_down, valid_here, best):
    """Direction of the steepest drop (−1: none) of the cells 1..cols−2 of an inner row, from
    its row and the rows above and below: branch-free, indexed from zero, so it vectorizes."""
    diagonal = 1.0 / math.sqrt(2.0)
    for j in range(best.size):
        centre = here[j + 1]
        drop, direction = 0.0, -1
        for m, value, ok, weight in (
            (0, up[j + 1], valid_up[j + 1], 1.0),
            (1, up[j + 2], valid_up[j + 2], diagonal),
            (2, here[j + 2], valid_here[j + 2], 1.0),
            (3, down[j + 2], valid_down[j + 2], diagonal),
            (4, down[j + 1], valid_down[j + 1], 1.0),
            (5, down[j], valid_down[j], diagonal),
            (6, here[j], valid_here[j], 1.0),
            (7, up[j], valid_up[j], diagonal),
        ):
            d = (centre - value) * weight
            better = ok & (d > drop)
            drop = d if better else drop
            direction = m if better else direction
        best[j] = direction


def _route_flats(filled: np.ndarray, receiver: np.ndarray, seeds: np.ndarray) -> None:
    """Each flat cell drains to its first neighbour (D8 order) one step closer to where the
    flat drains, in breadth-first distance from its cells next to a draining cell or a seed."""
    flat = (receiver == _FLAT).reshape(filled.shape)
    exits = np.flatnonzero(_flat_exits(filled, receiver, seeds, flat))
    distance = np.full(filled.size, _FAR, dtype=np.int32)
    _flat_distances(filled, flat, exits, np.zeros(exits.size, np.int32), distance)
    _flat_receivers(filled, flat, distance, receiver)


@numba.njit(cache=True, nogil=True, parallel=True)
def _flat_exits(filled, receiver, seeds, flat):
    """Flat cells next to a cell at their level that drains (or is a seed): they drain to the
    first such neighbour in D8 order."""
    rows, cols = filled.shape
    exits = np.zeros(filled.size, dtype=np.bool_)
    for r in prange(rows):
        for k in range(cols):
            if not flat[r, k]:
                continue
            for m in range(8):
                e = _neighbour(r, k, m, 0, rows, cols)
                if e < 0 or flat.flat[e]:
                    continue
                if filled.flat[e] == filled[r, k] and (receiver[e] >= 0 or seeds[e]):
                    receiver[r * cols + k] = e
                    exits[r * cols + k] = True
                    break
    return exits


@numba.njit(cache=True, nogil=True)
def _flat_distances(filled2, flat2, sources, start, distance):
    """Breadth-first distances over the `flat` cells, each step to a neighbour at the same
    level, from the `sources` at their `start` distances (ascending): lowers `distance`."""
    rows, cols = filled2.shape
    filled, flat = filled2.ravel(), flat2.ravel()
    # A cell is queued when a step first lowers its distance: at most once.
    capacity = 0
    for c in range(flat.size):
        capacity += flat[c]
    queue, queued = np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int32)
    offsets = _offsets(cols)
    head = tail = s = 0
    while s < sources.size or head < tail:
        if s < sources.size and (head == tail or start[s] <= queued[head]):
            c, d = sources[s], start[s]
            s += 1
            if distance[c] < d:
                continue
            distance[c] = d
        else:
            c, d = queue[head], queued[head]
            head += 1
            if distance[c] < d:
                continue
        r, k = c // cols, c % cols
        inner = 0 < r < rows - 1 and 0 < k < cols - 1
        for m in range(8):
            e = c + offsets[m] if inner else _neighbour(r, k, m, 0, rows, cols)
            if e >= 0 and flat[e] and filled[e] == filled[c] and distance[e] > d + 1:
                distance[e] = d + 1
                queue[tail], queued[tail] = e, d + 1
                tail += 1


@numba.njit(cache=True, nogil=True, parallel=True)
def _flat_receivers(filled, flat, distance, receiver):
    """Flat cells beyond the exits drain to their first neighbour (D8 order) on the flat one
    step closer; those of flats without an exit (no seed reached) to nothing (−1)."""
    rows, cols = filled.shape
    for r in prange(rows):
        for k in range(cols):
            c = r * cols + k
            d = distance[c]
            if not flat[r, k] or d == 0:
                continue
            receiver[c] = -1
            if d == _FAR:
                continue
            for m in range(8):
                e = _neighbour(r, k, m, 0, rows, cols)
                if (
                    e >= 0
                    and flat.flat[e]
                    and distance[e] == d - 1
                    and filled.flat[e] == filled[r, k]
                ):
                    receiver[c] = e
                    break


@numba.njit(cache=True, nogil=True)
def topological_order(receiver: np.ndarray) -> np.ndarray:
    """Cells downstream first (Kahn's algorithm from the cells nothing drains to)."""
    n = receiver.size
    donors = np.zeros(n, dtype=np.int32)
    for c in range(n):
        if receiver[c] >= 0:
            donors[receiver[c]] += 1
    upstream_first = np.empty(n, dtype=np.int64)
    tail = 0
    for c in range(n):
        if donors[c] == 0:
            upstream_first[tail] = c
            tail += 1
    head = 0
    while head < tail:
        target = receiver[upstream_first[head]]
        head += 1
        if target >= 0:
            donors[target] -= 1
            if donors[target] == 0:
                upstream_first[tail] = target
                tail += 1
    return upstream_first[:tail][::-1].copy()


@numba.njit(cache=True, nogil=True)
def _accumulate(receiver, order, weights):
    for i in range(order.size - 1, -1, -1):
        c = order[i]
        if receiver[c] >= 0:
            weights[receiver[c]] += weights[c]
    return weights


@numba.njit(cache=True, nogil=True, parallel=True)
def _hand(receiver, streams, elev, bounds):
    """elev − elevation of the first stream cell down each cell's path. In parallel over the
    cell ranges `bounds`: each walks its cells' paths while they stay in its range, memoizing
    (a path is walked once), and keeps either the answer or the first cell out of the range;
    then each such cell takes the answer found by hopping from range to range."""
    n = receiver.size
    drain = np.empty(n)  # +inf: not known (NaN: the path reaches no stream)
    leaves = np.empty(n, dtype=np.int64)  # the first cell out of the range, if it leaves
    for t in prange(bounds.size - 1):
        drain[bounds[t] : bounds[t + 1]] = np.inf
        leaves[bounds[t] : bounds[t + 1]] = -1
        _walk_range(receiver, streams, elev, drain, leaves, bounds[t], bounds[t + 1])
    result = np.empty(n)
    for t in prange(bounds.size - 1):
        for c in range(bounds[t], bounds[t + 1]):
            x = c
            while leaves[x] >= 0:
                x = leaves[x]
            result[c] = elev[c] - drain[x]
    return result


@numba.njit(cache=True, nogil=True)
def _walk_range(receiver, streams, elev, drain, leaves, lo, hi):
    """The paths of cells lo:hi, while they stay there: `drain` (the stream's elevation, NaN
    if none) or `leaves` (the first cell out of the range) for each."""
    path = np.empty(hi - lo, dtype=np.int64)
    for c in range(lo, hi):
        if drain[c] != np.inf or leaves[c] >= 0:
            continue
        length, x, value, out = 0, c, np.nan, -1
        while x >= 0:
            if x < lo or x >= hi:
                out = x
                break
            if drain[x] != np.inf or leaves[x] >= 0:
                value, out = drain[x], leaves[x]
                break
            path[length] = x
            length += 1
            if streams[x]:
                value = elev[x]
                break
            x = receiver[x]
        for i in range(length):
            if out >= 0:
                leaves[path[i]] = out
            else:
                drain[path[i]] = value
