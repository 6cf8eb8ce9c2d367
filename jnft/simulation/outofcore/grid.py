"""The tile grid of an out-of-core screening: tile windows, and the ids of the cells on the
tiles' perimeters — the nodes of every graph the tiles share (spill levels, flat distances,
flow links), numbered tile by tile, each tile's ring in a fixed order."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Window:
    row: int
    col: int
    height: int
    width: int

    @property
    def rows(self) -> slice:
        return slice(self.row, self.row + self.height)

    @property
    def cols(self) -> slice:
        return slice(self.col, self.col + self.width)


@dataclass(frozen=True)
class TileGrid:
    """Tiles of `tile` × `tile` cells from the top-left corner; the last row and column of
    tiles take what is left (the DEM need not be a multiple of the tile size)."""

    height: int
    width: int
    tile: int

    def __post_init__(self) -> None:
        if self.tile < 2:
            raise ValueError(f"tile size {self.tile}: tiles must be at least 2 × 2 cells")

    @cached_property
    def row_bounds(self) -> np.ndarray:
        return _bounds(self.height, self.tile)

    @cached_property
    def col_bounds(self) -> np.ndarray:
        return _bounds(self.width, self.tile)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_bounds) - 1, len(self.col_bounds) - 1

    def tiles(self) -> list[tuple[int, int]]:
        rows, cols = self.shape
        return [(i, j) for i in range(rows) for j in range(cols)]

    def window(self, i: int, j: int) -> Window:
        r0, r1 = int(self.row_bounds[i]), int(self.row_bounds[i + 1])
        c0, c1 = int(self.col_bounds[j]), int(self.col_bounds[j + 1])
        return Window(r0, c0, r1 - r0, c1 - c0)

    def neighbours(self, i: int, j: int) -> list[tuple[int, int]]:
        """The tiles around tile (i, j), diagonals included."""
        rows, cols = self.shape
        return [
            (a, b)
            for a in range(max(i - 1, 0), min(i + 2, rows))
            for b in range(max(j - 1, 0), min(j + 2, cols))
            if (a, b) != (i, j)
        ]

    @cached_property
    def ring_offsets(self) -> np.ndarray:
        """Id of the first perimeter cell of each tile (row-major), and the total."""
        h = np.diff(self.row_bounds)[:, None]
        w = np.diff(self.col_bounds)[None, :]
        sizes = np.broadcast_to(ring_size(h, w), self.shape).ravel()
        return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    @property
    def ring_cells(self) -> int:
        return int(self.ring_offsets[-1])

    def ring_range(self, i: int, j: int) -> slice:
        t = i * self.shape[1] + j
        return slice(int(self.ring_offsets[t]), int(self.ring_offsets[t + 1]))

    def ring_ids(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Ids of the cells (global rows, cols) on their tile's perimeter; −1 for the others."""
        ti = np.searchsorted(self.row_bounds, rows, side="right") - 1
        tj = np.searchsorted(self.col_bounds, cols, side="right") - 1
        r0, c0 = self.row_bounds[ti], self.col_bounds[tj]
        h, w = self.row_bounds[ti + 1] - r0, self.col_bounds[tj + 1] - c0
        position = ring_position(rows - r0, cols - c0, h, w)
        first = self.ring_offsets[ti * self.shape[1] + tj]
        return np.where(position >= 0, first + position, -1)

    def halo(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        """The cells around tile (i, j) inside the DEM: (global rows, cols), in ring order."""
        win = self.window(i, j)
        rows, cols = ring(win.height + 2, win.width + 2)
        rows, cols = rows + win.row - 1, cols + win.col - 1
        inside = (rows >= 0) & (rows < self.height) & (cols >= 0) & (cols < self.width)
        return rows[inside], cols[inside]

    def cross_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Perimeter ids of the 8-neighbour cell pairs split by a tile boundary, one array pair
        per boundary (a pair across a tile corner is listed twice)."""
        pairs = []
        for boundary, across, along in (
            (self.row_bounds, self.height, self.width),
            (self.col_bounds, self.width, self.height),
        ):
            for b in boundary[1:-1]:
                for shift in (-1, 0, 1):
                    k = np.arange(max(0, -shift), along - max(0, shift))
                    a_line, b_line = np.full(k.size, b - 1), np.full(k.size, b)
                    if across == self.height:
                        ids = self.ring_ids(a_line, k), self.ring_ids(b_line, k + shift)
                    else:
                        ids = self.ring_ids(k, a_line), self.ring_ids(k + shift, b_line)
                    pairs.append(ids)
        return pairs


def _bounds(size: int, tile: int) -> np.ndarray:
    return np.append(np.arange(0, size, tile), size).astype(np.int64)


def ring_size(h: np.ndarray | int, w: np.ndarray | int) -> np.ndarray:
    """Cells on the perimeter of an h × w tile."""
    h, w = np.asarray(h), np.asarray(w)
    return w * (1 + (h > 1)) + np.maximum(h - 2, 0) * (1 + (w > 1))


def ring_position(
    lr: np.ndarray, lc: np.ndarray, h: np.ndarray | int, w: np.ndarray | int
) -> np.ndarray:
    """Position on its tile's ring of the cell at local (lr, lc): the top row, the bottom row,
    then the left and right columns between them; −1 inside."""
    top = lr == 0
    bottom = (lr == h - 1) & ~top
    left = ~top & ~bottom & (lc == 0)
    right = ~top & ~bottom & ~left & (lc == w - 1)
    return np.select(
        [top, bottom, left, right],
        [lc, w + lc, 2 * w + lr - 1, 2 * w + (h - 2) + lr - 1],
        -1,
    ).astype(np.int64)


def ring(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Local (rows, cols) of the perimeter of an h × w tile, in ring order."""
    parts = [(np.zeros(w, np.int64), np.arange(w))]
    if h > 1:
        parts.append((np.full(w, h - 1), np.arange(w)))
    side = np.arange(1, h - 1)
    parts.append((side, np.zeros(side.size, np.int64)))
    if w > 1:
        parts.append((side, np.full(side.size, w - 1)))
    return (
        np.concatenate([p[0] for p in parts]).astype(np.int64),
        np.concatenate([p[1] for p in parts]).astype(np.int64),
    )
