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
import scipy.ndimage

from jnft.lakehouse.geometry import crs_of
from jnft.lakehouse.quarantine import SourceFileError

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
    def from_bounds(cls, bounds: tuple[float, float, float, float], resolution: float):
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
    """Per-cell running value and count of one binning operation over a window."""

    def __init__(self, window: GridWindow, operation: str) -> None:
        if operation not in OPERATIONS:
            raise PointCloudError(
                f"output_type {operation!r} is not supported; use one of {sorted(OPERATIONS)}"
            )
        self.window = window
        self.operation = operation
        self.values = np.zeros((window.rows, window.cols), dtype=np.float64)
        self.counts = np.zeros((window.rows, window.cols), dtype=np.uint32)

    def add(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, keep: np.ndarray) -> None:
        w = self.window
        _accumulate(
            x,
            y,
            z,
            keep,
            w.x0,
            w.y1,
            w.resolution,
            OPERATIONS[self.operation],
            self.values,
            self.counts,
        )

    def absorb(self, part: Accumulator) -> None:
        """Fold a sub-window's accumulator into this one (same grid and operation)."""
        r, c = part.window.offset_in(self.window)
        _combine(
            self.values[r : r + part.window.rows, c : c + part.window.cols],
            self.counts[r : r + part.window.rows, c : c + part.window.cols],
            part.values,
            part.counts,
            OPERATIONS[self.operation],
        )

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, has_points) of each cell."""
        has = self.counts > 0
        if self.operation == "mean":
            return np.divide(
                self.values, self.counts, where=has, out=np.zeros_like(self.values)
            ), has
        if self.operation == "count":
            return self.counts.astype(np.float64), has
        return self.values, has


@numba.njit(cache=True, nogil=True, inline="always")
def _update(values, counts, r, c, value, n, operation):
    """Fold `n` points of aggregated `value` into cell (r, c)."""
    first = counts[r, c] == 0
    if operation == 0:
        values[r, c] += value
    elif (operation == 1 and (first or value < values[r, c])) or (
        operation == 2 and (first or value > values[r, c])
    ):
        values[r, c] = value
    counts[r, c] += n


@numba.njit(cache=True, nogil=True)
def _accumulate(x, y, z, keep, x0, y1, resolution, operation, values, counts):
    rows, cols = counts.shape
    inverse = 1.0 / resolution
    for i in range(x.size):
        if not keep[i]:
            continue
        c = int(np.floor((x[i] - x0) * inverse))
        r = int(np.floor((y1 - y[i]) * inverse))
        if 0 <= r < rows and 0 <= c < cols:
            _update(values, counts, r, c, z[i], 1, operation)


@numba.njit(cache=True, nogil=True)
def _combine(values, counts, part_values, part_counts, operation):
    rows, cols = part_counts.shape
    for r in range(rows):
        for c in range(cols):
            if part_counts[r, c]:
                _update(values, counts, r, c, part_values[r, c], part_counts[r, c], operation)


def class_histogram(classification: np.ndarray) -> np.ndarray:
    """Points per ASPRS class code (0–255)."""
    return np.bincount(classification, minlength=256).astype(np.int64)


def pyramid_levels(max_distance_cells: float) -> int:
    """Pyramid depth whose coarsest cells (2^levels fine cells) span the fill distance."""
    return max(1, math.ceil(math.log2(max(max_distance_cells, 1.0))) + 1)


def fill_gaps(values: np.ndarray, known: np.ndarray, max_distance_cells: float) -> np.ndarray:
    """Fill cells without points from their neighbours, up to `max_distance_cells` from data.

    Pull-push: average the known cells up an image pyramid of `pyramid_levels` levels, then
    interpolate back down (bilinear, weighted by what is known), keeping measured cells as
    they are. Smooth, O(cells), no point search; cells farther than the distance from any
    known cell stay NaN (water bodies, missing strips). The result at a cell depends only on
    cells within a few pyramid blocks: windows aligned on the blocks of the global grid give
    the same values where they overlap (tiles are seamless).
    """
    filled = np.where(known, values, np.nan)
    if known.all() or not known.any() or max_distance_cells <= 0:
        return filled
    estimate, weight = _pull_push(
        np.where(known, values, 0.0), known.astype(np.float64), pyramid_levels(max_distance_cells)
    )
    distance = scipy.ndimage.distance_transform_edt(~known)
    reachable = ~known & (distance <= max_distance_cells) & (weight > 0)
    filled[reachable] = estimate[reachable]
    return filled


def _pull_push(
    values: np.ndarray, weights: np.ndarray, levels: int
) -> tuple[np.ndarray, np.ndarray]:
    """(values, weights) with empty cells estimated from `levels` coarser levels."""
    rows, cols = values.shape
    if levels == 0 or (rows <= 1 and cols <= 1) or weights.all():
        return values, weights
    # Pull: 2×2 weighted means (odd edges padded with empty cells).
    pr, pc = rows + rows % 2, cols + cols % 2
    v = np.zeros((pr, pc))
    w = np.zeros((pr, pc))
    v[:rows, :cols] = values * weights
    w[:rows, :cols] = weights
    coarse_w = w.reshape(pr // 2, 2, pc // 2, 2).sum(axis=(1, 3))
    coarse_v = v.reshape(pr // 2, 2, pc // 2, 2).sum(axis=(1, 3))
    coarse = np.divide(coarse_v, coarse_w, where=coarse_w > 0, out=np.zeros_like(coarse_v))
    coarse, coarse_w = _pull_push(coarse, np.minimum(coarse_w, 1.0), levels - 1)
    # Push: bilinear from the coarse level where the fine cell is empty, normalized by the
    # interpolated weight so that unknown coarse cells do not pull values to zero
    # (fine centre i sits at coarse i/2 − 1/4).
    empty_r, empty_c = np.nonzero(weights == 0)
    at = [empty_r / 2 - 0.25, empty_c / 2 - 0.25]
    num = scipy.ndimage.map_coordinates(coarse * coarse_w, at, order=1, mode="nearest")
    den = scipy.ndimage.map_coordinates(coarse_w, at, order=1, mode="nearest")
    out, out_w = values.copy(), weights.copy()
    ok = den > 1e-12
    out[empty_r[ok], empty_c[ok]] = num[ok] / den[ok]
    out_w[empty_r[ok], empty_c[ok]] = 1.0
    return out, out_w
