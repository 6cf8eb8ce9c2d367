"""Point clouds (LAS 1.2–1.4, LAZ, COPC) read with laspy + lazrs, streamed in chunks, and binned
onto a raster grid with Numba kernels; gaps filled by pull-push interpolation.

Memory follows the output grid and the chunk size, never the number of points: a file larger
than memory streams through. Only the dimensions a pipeline needs are decompressed (LAZ 1.4
point formats 6–10 store them in separate layers, so X/Y/Z/classification skip the rest).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import laspy
import numba
import numpy as np

from jnft.formats.errors import SourceFileError
from jnft.formats.geometry import crs_of

DEFAULT_CHUNK_POINTS = 2_000_000

# laspy dimension names for PDAL's; what each needs decompressed in a layered LAZ.
_D = laspy.DecompressionSelection
DIMENSIONS = {
    "X": ("x", _D.XY_RETURNS_CHANNEL),
    "Y": ("y", _D.XY_RETURNS_CHANNEL),
    "Z": ("z", _D.Z),
    "Classification": ("classification", _D.CLASSIFICATION),
    "ReturnNumber": ("return_number", _D.XY_RETURNS_CHANNEL),
    "NumberOfReturns": ("number_of_returns", _D.XY_RETURNS_CHANNEL),
    "Intensity": ("intensity", _D.INTENSITY),
    "ScanAngleRank": ("scan_angle", _D.SCAN_ANGLE),
    "UserData": ("user_data", _D.USER_DATA),
    "PointSourceId": ("point_source_id", _D.POINT_SOURCE_ID),
    "GpsTime": ("gps_time", _D.GPS_TIME),
}

# What each binning operation keeps per cell.
OPERATIONS = {"mean": 0, "min": 1, "max": 2, "count": 3}


class PointCloudError(SourceFileError):
    """A point-cloud file that cannot be used, with the file and the problem."""


@dataclass(frozen=True)
class PointCloudInfo:
    """What the header of a LAS/LAZ/COPC file tells, without reading the points."""

    path: Path
    version: str
    point_format: int
    point_count: int
    bounds: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax
    zmin: float
    zmax: float
    crs: str
    is_copc: bool


def read_info(path: Path, fallback_crs: str | None = None) -> PointCloudInfo:
    """Header facts; the file's CRS wins, else the fiche's; neither is an error."""
    try:
        with laspy.open(path) as reader:
            header = reader.header
            try:
                crs = header.parse_crs()
            except Exception as error:  # a malformed CRS record is as good as none
                raise PointCloudError(f"{path}: unreadable CRS record ({error})") from error
            is_copc = any(v.user_id == "copc" for v in header.vlrs)
    except laspy.errors.LaspyException as error:
        raise PointCloudError(f"{path}: not a readable LAS/LAZ file ({error})") from error
    if crs is not None:
        epsg = crs.to_epsg()
        crs_text = f"EPSG:{epsg}" if epsg else crs.to_wkt()
    elif fallback_crs is not None:
        crs_text = crs_of(fallback_crs).to_string()
    else:
        raise PointCloudError(
            f"{path}: the point cloud has no CRS and the fiche declares none (source.crs)"
        )
    mins, maxs = header.mins, header.maxs
    return PointCloudInfo(
        Path(path),
        f"{header.version.major}.{header.version.minor}",
        header.point_format.id,
        int(header.point_count),
        (float(mins[0]), float(mins[1]), float(maxs[0]), float(maxs[1])),
        float(mins[2]),
        float(maxs[2]),
        crs_text,
        is_copc,
    )


def read_chunks(
    path: Path, dimensions: set[str], chunk_points: int = DEFAULT_CHUNK_POINTS
) -> Iterator[dict[str, np.ndarray]]:
    """The points of a file, `chunk_points` at a time, as PDAL-named arrays (X, Y, Z scaled)."""
    unknown = sorted(set(dimensions) - set(DIMENSIONS))
    if unknown:
        raise PointCloudError(f"unsupported dimensions {unknown}; known: {sorted(DIMENSIONS)}")
    selection = _D.XY_RETURNS_CHANNEL
    for name in dimensions:
        selection |= DIMENSIONS[name][1]
    read = 0
    try:
        with laspy.open(path, decompression_selection=selection) as reader:
            expected = reader.header.point_count
            for chunk in reader.chunk_iterator(chunk_points):
                read += len(chunk)
                yield {name: np.asarray(chunk[DIMENSIONS[name][0]]) for name in dimensions}
    except (laspy.errors.LaspyException, RuntimeError, OSError, ValueError) as error:
        raise PointCloudError(
            f"{path}: truncated or corrupt point data after {read} points ({error})"
        ) from error
    if read != expected:
        raise PointCloudError(f"{path}: header announces {expected} points, the file holds {read}")


@dataclass(frozen=True)
class GridWindow:
    """A raster window on the cell-edge grid: x0/y1 the top-left corner, shape (rows, cols)."""

    x0: float
    y1: float
    resolution: float
    rows: int
    cols: int

    @classmethod
    def from_bounds(
        cls, bounds: tuple[float, float, float, float], resolution: float
    ) -> GridWindow:
        x0, y0, x1, y1 = bounds
        return cls(x0, y1, resolution, round((y1 - y0) / resolution), round((x1 - x0) / resolution))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        r = self.resolution
        return (self.x0, self.y1 - self.rows * r, self.x0 + self.cols * r, self.y1)

    def offset_in(self, outer: GridWindow) -> tuple[int, int]:
        """(row, col) of this window's top-left cell in a larger window of the same grid."""
        return (
            round((outer.y1 - self.y1) / self.resolution),
            round((self.x0 - outer.x0) / self.resolution),
        )


class Accumulator:
    """Per-cell running aggregate of one binning operation over a window.

    `mean` keeps (sum, count) side by side so that a point touches one cache line; `min` and
    `max` keep float32 extremes starting at ±inf (z to the millimetre up to 10 km of
    altitude); `count` keeps a count. Grids are large and points scattered: memory traffic,
    not arithmetic, is the cost.
    """

    def __init__(self, window: GridWindow, operation: str) -> None:
        if operation not in OPERATIONS:
            raise PointCloudError(
                f"output_type {operation!r} is not supported; use one of {sorted(OPERATIONS)}"
            )
        self.window = window
        self.operation = operation
        shape = (window.rows, window.cols)
        if operation == "mean":
            self.cells = np.zeros((*shape, 2), dtype=np.float64)
        elif operation == "count":
            self.cells = np.zeros(shape, dtype=np.uint32)
        else:
            start = np.inf if operation == "min" else -np.inf
            self.cells = np.full(shape, start, dtype=np.float32)

    def add(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, keep: np.ndarray) -> None:
        w = self.window
        args = (x, y, keep, w.x0, w.y1, 1.0 / w.resolution)
        if self.operation == "mean":
            _add_mean(*args, z, self.cells)
        elif self.operation == "count":
            _add_count(*args, self.cells)
        else:
            _add_extreme(*args, z, self.cells, self.operation == "min")

    def result(self) -> np.ndarray:
        """float32 value of each cell, NaN where no point fell."""
        if self.operation == "mean":
            return _mean(self.cells)
        if self.operation == "count":
            return np.where(self.cells > 0, self.cells, np.nan).astype(np.float32)
        return np.where(np.isfinite(self.cells), self.cells, np.float32(np.nan))


@numba.njit(cache=True, nogil=True)
def _mean(cells):
    rows, cols = cells.shape[0], cells.shape[1]
    out = np.empty((rows, cols), dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            n = cells[r, c, 1]
            out[r, c] = cells[r, c, 0] / n if n > 0 else np.nan
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _cell(x, y, x0, y1, inverse, rows, cols):
    """(row, col) of a point, (-1, -1) outside the window."""
    c = int(np.floor((x - x0) * inverse))
    r = int(np.floor((y1 - y) * inverse))
    if r < 0 or r >= rows or c < 0 or c >= cols:
        return -1, -1
    return r, c


@numba.njit(cache=True, nogil=True)
def _add_mean(x, y, keep, x0, y1, inverse, z, cells):
    rows, cols = cells.shape[0], cells.shape[1]
    for i in range(x.size):
        if keep[i]:
            r, c = _cell(x[i], y[i], x0, y1, inverse, rows, cols)
            if r >= 0:
                cells[r, c, 0] += z[i]
                cells[r, c, 1] += 1.0


@numba.njit(cache=True, nogil=True)
def _add_count(x, y, keep, x0, y1, inverse, cells):
    rows, cols = cells.shape
    for i in range(x.size):
        if keep[i]:
            r, c = _cell(x[i], y[i], x0, y1, inverse, rows, cols)
            if r >= 0:
                cells[r, c] += 1


@numba.njit(cache=True, nogil=True)
def _add_extreme(x, y, keep, x0, y1, inverse, z, cells, lowest):
    rows, cols = cells.shape
    for i in range(x.size):
        if keep[i]:
            r, c = _cell(x[i], y[i], x0, y1, inverse, rows, cols)
            if r >= 0 and (z[i] < cells[r, c] if lowest else z[i] > cells[r, c]):
                cells[r, c] = z[i]


def class_histogram(classification: np.ndarray) -> np.ndarray:
    """Points per ASPRS class code (0–255)."""
    return np.bincount(classification, minlength=256).astype(np.int64)


def pyramid_levels(max_distance_cells: float) -> int:
    """Pyramid depth whose coarsest cells (2^levels fine cells) span the fill distance."""
    return max(1, math.ceil(math.log2(max(max_distance_cells, 1.0))) + 1)


def fill_gaps(values: np.ndarray, max_distance_cells: float) -> np.ndarray:
    """Fill NaN cells (no point) from their neighbours, up to `max_distance_cells` from data,
    in place (float32).

    Pull-push: average the known cells up an image pyramid of `pyramid_levels` levels, then
    interpolate back down (bilinear, weighted by what is known), keeping measured cells as
    they are. Smooth, O(cells), no point search; cells farther than the distance (chamfer
    metric, within 8 % of Euclidean) from any known cell stay NaN (water bodies, missing
    strips). A cell's value depends only on cells within a few pyramid blocks: windows aligned
    on the blocks of the global grid give the same values where they overlap (seamless tiles).
    """
    if max_distance_cells <= 0:
        return values
    estimate = values.copy()
    _pull_push(estimate, pyramid_levels(max_distance_cells))
    _keep_near(values, estimate, np.float32(max_distance_cells))
    return values


def _pull_push(values: np.ndarray, levels: int) -> None:
    """Estimate the NaN cells of `values` (in place) from `levels` coarser levels."""
    rows, cols = values.shape
    if levels == 0 or (rows <= 1 and cols <= 1):
        return
    coarse = _pull(values)
    _pull_push(coarse, levels - 1)
    _push(values, coarse)


@numba.njit(cache=True, nogil=True)
def _pull(values):
    """2×2 means of the known cells (NaN where none is known)."""
    rows, cols = values.shape
    crows, ccols = (rows + 1) // 2, (cols + 1) // 2
    sums = np.zeros((crows, ccols))
    counts = np.zeros((crows, ccols), dtype=np.int32)
    for r in range(rows):
        for c in range(cols):
            v = values[r, c]
            if not np.isnan(v):
                sums[r // 2, c // 2] += v
                counts[r // 2, c // 2] += 1
    coarse = np.empty((crows, ccols), dtype=np.float32)
    for r in range(crows):
        for c in range(ccols):
            coarse[r, c] = sums[r, c] / counts[r, c] if counts[r, c] else np.nan
    return coarse


@numba.njit(cache=True, nogil=True)
def _push(values, coarse):
    """NaN fine cells from the bilinear interpolation of the known coarse cells, normalized by
    their weights (fine centre i sits at coarse i/2 − 1/4; edges clamp)."""
    rows, cols = values.shape
    crows, ccols = coarse.shape
    for r in range(rows):
        fr = r / 2 - 0.25
        r0 = int(np.floor(fr))
        tr = fr - r0
        ra, rb = min(max(r0, 0), crows - 1), min(max(r0 + 1, 0), crows - 1)
        for c in range(cols):
            if not np.isnan(values[r, c]):
                continue
            fc = c / 2 - 0.25
            c0 = int(np.floor(fc))
            tc = fc - c0
            ca, cb = min(max(c0, 0), ccols - 1), min(max(c0 + 1, 0), ccols - 1)
            num = 0.0
            den = 0.0
            for rr, wr in ((ra, 1 - tr), (rb, tr)):
                for cc, wc in ((ca, 1 - tc), (cb, tc)):
                    v = coarse[rr, cc]
                    if not np.isnan(v):
                        num += wr * wc * v
                        den += wr * wc
            if den > 1e-12:
                values[r, c] = num / den


@numba.njit(cache=True, nogil=True)
def _keep_near(values, estimate, max_distance):
    """Copy estimates into the NaN cells of `values` that lie within `max_distance` cells of a
    known one (two-pass chamfer distance, weights 1 and √2)."""
    rows, cols = values.shape
    distance = np.empty((rows, cols), dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            distance[r, c] = np.float32(1e30) if np.isnan(values[r, c]) else 0
    diagonal = np.float32(np.sqrt(2.0))
    for r in range(rows):
        for c in range(cols):
            d = distance[r, c]
            if r > 0:
                d = min(d, distance[r - 1, c] + 1)
                if c > 0:
                    d = min(d, distance[r - 1, c - 1] + diagonal)
                if c < cols - 1:
                    d = min(d, distance[r - 1, c + 1] + diagonal)
            if c > 0:
                d = min(d, distance[r, c - 1] + 1)
            distance[r, c] = d
    for r in range(rows - 1, -1, -1):
        for c in range(cols - 1, -1, -1):
            d = distance[r, c]
            if r < rows - 1:
                d = min(d, distance[r + 1, c] + 1)
                if c > 0:
                    d = min(d, distance[r + 1, c - 1] + diagonal)
                if c < cols - 1:
                    d = min(d, distance[r + 1, c + 1] + diagonal)
            if c < cols - 1:
                d = min(d, distance[r, c + 1] + 1)
            distance[r, c] = d
            if 0 < d <= max_distance:
                values[r, c] = estimate[r, c]
