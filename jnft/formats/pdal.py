"""Point-cloud processing described as PDAL JSON pipelines and executed by our own engine.

A product (DTM, DSM…) is the stage list `filters.range`* → `writers.gdal` of a fiche; with a
`readers.las` in front it is a pipeline PDAL runs as is (`to_pdal`). Our engine runs every
product of a tile in one streamed pass over the files: each file is decoded once, in chunks,
only in the dimensions the filters need.

Supported: `readers.las` / `readers.copc` (filename), `filters.range` (limits, PDAL syntax:
ranges on one dimension are OR-ed, on different dimensions AND-ed, `!` negates),
`writers.gdal` (resolution, output_type min|max|mean|count, window_size, nodata, data_type).
Differences from PDAL: a point falls in the one cell that contains it (PDAL's `radius` spreads
it over neighbours), and `window_size` fills empty cells within that many cells by pull-push
interpolation rather than inverse distance weighting.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from queue import Full, Queue

import numpy as np
import pyproj

from jnft.formats.pointcloud import (
    DEFAULT_CHUNK_POINTS,
    DIMENSIONS,
    OPERATIONS,
    Accumulator,
    GridWindow,
    PointCloudError,
    class_histogram,
    fill_gaps,
    pyramid_levels,
    read_chunks,
)

READERS = ("readers.las", "readers.copc")
# Header bounds and quantized coordinates may disagree by a rounding step.
HEADER_TOLERANCE = 0.01
_RANGE = re.compile(
    r"^\s*(?P<dim>[A-Za-z]+)(?P<neg>!?)(?P<open>[\[(])(?P<lo>[^:\])]*):(?P<hi>[^\])]*)(?P<close>[\])])\s*$"
)


class PipelineError(ValueError):
    """A pipeline our engine cannot run, with the stage at fault."""


@dataclass(frozen=True)
class Range:
    dimension: str
    low: float
    high: float
    low_inclusive: bool
    high_inclusive: bool
    negate: bool

    def mask(self, values: np.ndarray) -> np.ndarray:
        above = values >= self.low if self.low_inclusive else values > self.low
        below = values <= self.high if self.high_inclusive else values < self.high
        return above & below


def parse_limits(limits: str) -> list[Range]:
    """PDAL `filters.range` limits: `Classification[2:2],Classification[9:9],Z[-10:]`."""
    ranges = []
    for part in limits.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise PipelineError(f"filters.range: cannot parse limit {part.strip()!r}")
        if match["dim"] not in DIMENSIONS:
            raise PipelineError(
                f"filters.range: unknown dimension {match['dim']!r}; known: {sorted(DIMENSIONS)}"
            )
        ranges.append(
            Range(
                match["dim"],
                float(match["lo"]) if match["lo"].strip() else -math.inf,
                float(match["hi"]) if match["hi"].strip() else math.inf,
                match["open"] == "[",
                match["close"] == "]",
                bool(match["neg"]),
            )
        )
    return ranges


@dataclass(frozen=True)
class RangeFilter:
    ranges: tuple[Range, ...]
    limits: str

    def mask(self, points: dict[str, np.ndarray]) -> np.ndarray:
        keep = np.ones(len(points["X"]), dtype=bool)
        for dimension in sorted({r.dimension for r in self.ranges}):
            values = points[dimension]
            inside = [r for r in self.ranges if r.dimension == dimension and not r.negate]
            outside = [r for r in self.ranges if r.dimension == dimension and r.negate]
            if inside:
                keep &= np.logical_or.reduce([r.mask(values) for r in inside])
            for r in outside:
                keep &= ~r.mask(values)
        return keep


@dataclass(frozen=True)
class GdalWriter:
    resolution: float
    output_type: str
    window_size: int = 0
    nodata: float = -9999.0
    data_type: str = "float32"


@dataclass(frozen=True)
class RasterPipeline:
    """`filters.range`* → `writers.gdal`: which points, binned how, onto which grid."""

    filters: tuple[RangeFilter, ...]
    writer: GdalWriter
    stages: tuple[dict, ...] = field(repr=False)

    @property
    def dimensions(self) -> set[str]:
        return {"X", "Y", "Z"} | {r.dimension for f in self.filters for r in f.ranges}

    def mask(self, points: dict[str, np.ndarray]) -> np.ndarray:
        keep = np.ones(len(points["X"]), dtype=bool)
        for f in self.filters:
            keep &= f.mask(points)
        return keep

    def to_pdal(self, filenames: list[str], output: str) -> dict:
        """The same pipeline for `pdal pipeline`, reading `filenames`, writing `output`."""
        readers = [{"type": "readers.las", "filename": f} for f in filenames]
        merge = [{"type": "filters.merge"}] if len(readers) > 1 else []
        stages = [dict(s) for s in self.stages]
        stages[-1]["filename"] = output
        return {"pipeline": [*readers, *merge, *stages]}


def parse_pipeline(stages: list[dict], default_resolution: float | None = None) -> RasterPipeline:
    """A product's stages (reader optional, one writers.gdal last); errors name the stage."""
    body = [s for s in stages if s.get("type") not in READERS]
    if not body or body[-1].get("type") != "writers.gdal":
        raise PipelineError("a raster product pipeline ends with one writers.gdal stage")
    filters = []
    for stage in body[:-1]:
        if stage.get("type") != "filters.range":
            raise PipelineError(
                f"stage {stage.get('type')!r} is not supported by the engine; "
                "supported: readers.las, readers.copc, filters.range, writers.gdal"
            )
        filters.append(RangeFilter(tuple(parse_limits(stage["limits"])), stage["limits"]))
    options = body[-1]
    resolution = options.get("resolution", default_resolution)
    if resolution is None or float(resolution) <= 0:
        raise PipelineError("writers.gdal: a positive resolution is required")
    output_type = options.get("output_type", "mean")
    if output_type not in OPERATIONS:
        raise PipelineError(
            f"writers.gdal: output_type {output_type!r} is not supported; use {sorted(OPERATIONS)}"
        )
    writer = GdalWriter(
        float(resolution),
        output_type,
        int(options.get("window_size", 0)),
        float(options.get("nodata", -9999.0)),
        options.get("data_type", "float32"),
    )
    full = [dict(s) for s in body]
    full[-1].setdefault("resolution", writer.resolution)
    return RasterPipeline(tuple(filters), writer, tuple(full))


@dataclass
class PointStats:
    """What the index records about the points of one tile (points in the core window)."""

    point_count: int = 0
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(256, dtype=np.int64))
    zmin: float = math.inf
    zmax: float = -math.inf
    files: list[Path] = field(default_factory=list)


@dataclass
class TileProducts:
    arrays: dict[str, np.ndarray]  # product -> cells of the core window (nodata where empty)
    stats: PointStats
    failures: list[tuple[Path, str]]  # files left out, with the reason


def _fill_window(window: GridWindow, window_size: int) -> GridWindow:
    """The window plus a halo for gap filling, snapped to the global grid's pyramid blocks so
    that neighbouring tiles fill their common surroundings identically."""
    if window_size <= 0:
        return window
    block = 2 ** pyramid_levels(window_size)
    halo = 3 * block
    r = window.resolution
    # Global cell indices (IGN registration: cell centres on multiples of the resolution).
    col0 = round((window.x0 + r / 2) / r) - halo
    row0 = round(-(window.y1 - r / 2) / r) - halo
    col1 = col0 + window.cols + 2 * halo
    row1 = row0 + window.rows + 2 * halo
    col0, row0 = (col0 // block) * block, (row0 // block) * block
    col1, row1 = -(-col1 // block) * block, -(-row1 // block) * block
    return GridWindow(col0 * r - r / 2, -row0 * r + r / 2, r, row1 - row0, col1 - col0)


def _expand(
    bounds: tuple[float, float, float, float], margin: float
) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bounds
    return (x0 - margin, y0 - margin, x1 + margin, y1 + margin)


def _snap_window(bounds: tuple[float, float, float, float], outer: GridWindow) -> GridWindow | None:
    """The cells of `outer` that a box touches (None when it misses the window)."""
    r = outer.resolution
    ox0, oy0, ox1, oy1 = outer.bounds
    x0 = max(ox0, ox0 + math.floor((bounds[0] - ox0) / r) * r)
    x1 = min(ox1, ox0 + math.ceil((bounds[2] - ox0) / r + 1e-9) * r)
    y1 = min(oy1, oy1 - math.floor((oy1 - bounds[3]) / r) * r)
    y0 = max(oy0, oy1 - math.ceil((oy1 - bounds[1]) / r + 1e-9) * r)
    if x1 <= x0 or y1 <= y0:
        return None
    return GridWindow.from_bounds((x0, y0, x1, y1), r)


def rasterize_tile(
    files: list[tuple[Path, tuple[float, float, float, float]]],
    products: dict[str, RasterPipeline],
    window: GridWindow,
    chunk_points: int = DEFAULT_CHUNK_POINTS,
    transforms: Mapping[Path, pyproj.Transformer] | None = None,
) -> TileProducts:
    """Every product over `window`, from the files (path, header bounds in the window's CRS)
    in one streamed pass; the points of a file in `transforms` are transformed first.

    Points within the largest `window_size` around the window are binned too, so that gap
    filling at a tile edge sees the neighbour's data and adjacent tiles agree. A file that
    fails to decode is left out whole and reported: the tile is binned again without it (a
    rare cost, paid instead of a second grid per file to roll a partial file back).
    """
    resolutions = {p.writer.resolution for p in products.values()}
    if resolutions != {window.resolution}:
        raise PipelineError(f"products resolutions {resolutions} differ from the tile grid's")
    outer = _fill_window(window, max(p.writer.window_size for p in products.values()))
    dimensions = set().union(*(p.dimensions for p in products.values())) | {"Classification"}
    touching = [(p, b) for p, b in files if _snap_window(b, outer) is not None]
    failures: list[tuple[Path, str]] = []
    while True:
        totals = {name: Accumulator(outer, p.writer.output_type) for name, p in products.items()}
        stats = PointStats()
        try:
            for path, bounds in touching:
                to_window = (transforms or {}).get(path)
                _bin_file(
                    path,
                    bounds,
                    products,
                    totals,
                    window,
                    dimensions,
                    chunk_points,
                    stats,
                    to_window,
                )
            break
        except _FileFailed as failed:
            failures.append((failed.path, failed.reason))
            touching = [(p, b) for p, b in touching if p != failed.path]
    row, col = window.offset_in(outer)
    arrays = {}
    for name, pipeline in products.items():
        values = totals.pop(name).result()  # the grids go as soon as their product is made
        writer = pipeline.writer
        core = fill_gaps(values, writer.window_size)[
            row : row + window.rows, col : col + window.cols
        ]
        arrays[name] = np.where(np.isnan(core), writer.nodata, core).astype(writer.data_type)
    return TileProducts(arrays, stats, failures)


class _FileFailed(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason


def _prefetched(chunks: Iterator[dict[str, np.ndarray]]) -> Iterator[dict[str, np.ndarray]]:
    """Decode the next chunk in a thread while the current one is binned (the Numba kernels
    release the GIL). Errors surface in the consumer; a consumer that stops early stops the
    thread."""
    queue: Queue = Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not offer(chunk):
                    return
            offer(done)
        except BaseException as error:  # handed to the consumer, which raises it
            offer(error)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _bin_file(
    path: Path,
    bounds: tuple[float, float, float, float],
    products: dict[str, RasterPipeline],
    totals: dict[str, Accumulator],
    core: GridWindow,
    dimensions: set[str],
    chunk_points: int,
    stats: PointStats,
    to_window: pyproj.Transformer | None,
) -> None:
    cx0, cy0, cx1, cy1 = core.bounds
    bx0, by0, bx1, by1 = _expand(bounds, HEADER_TOLERANCE)
    stats.files.append(path)
    try:
        for points in _prefetched(read_chunks(path, dimensions, chunk_points)):
            x, y, z = points["X"], points["Y"], points["Z"]
            if to_window is not None:
                x, y, z = to_window.transform(x, y, z)
            if x.size and (x.min() < bx0 or x.max() > bx1 or y.min() < by0 or y.max() > by1):
                raise PointCloudError(f"{path}: points lie outside the header's bounds {bounds}")
            for name, pipeline in products.items():
                totals[name].add(x, y, z, pipeline.mask(points))
            inside = (x >= cx0) & (x < cx1) & (y > cy0) & (y <= cy1)
            if inside.any():
                stats.point_count += int(inside.sum())
                stats.histogram += class_histogram(points["Classification"][inside])
                stats.zmin = min(stats.zmin, float(z[inside].min()))
                stats.zmax = max(stats.zmax, float(z[inside].max()))
    except PointCloudError as error:
        raise _FileFailed(path, str(error)) from error
