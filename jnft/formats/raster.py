"""Rasters to the lakehouse: source grids (ESRI ASCII, GeoTIFF) mosaicked onto the 10 km tile
grid, aligned to the resolution grid (grids in another CRS warped onto it), written as
Cloud-Optimized GeoTIFF, described for the index.

The resolution grid follows IGN's convention (RGE ALTI, BD ALTI, LiDAR HD DTMs): cell *centres*
lie on multiples of the resolution, so a tile holds the centres x in [xmin, xmax) and
y in (ymin, ymax], and its cell edges are shifted by half a cell from the tile's edges.
Adjacent tiles then neither overlap nor leave a gap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.merge
import rasterio.shutil
from rasterio.enums import Resampling
from rasterio.io import DatasetReader, MemoryFile
from rasterio.vrt import WarpedVRT

from jnft.formats import crs as territory
from jnft.formats.errors import SourceFileError
from jnft.formats.geometry import crs_of
from jnft.tiles import TARGET_CRS, tile_grid_bounds

LINEAGE_TAG = "JNFT_LINEAGE"
COG_OPTIONS = {
    "COMPRESS": "DEFLATE",
    "BLOCKSIZE": 512,
    "OVERVIEWS": "AUTO",
    "RESAMPLING": "AVERAGE",
    "NUM_THREADS": "ALL_CPUS",
}


@dataclass(frozen=True)
class RasterTile:
    """What the raster index records about one COG tile."""

    tile: str
    path: Path
    bounds: tuple[float, float, float, float]  # of the cells that hold data
    crs: str
    resolution: float
    nodata: float
    width: int
    height: int
    valid_fraction: float
    valid_cells: int
    minimum: float | None
    maximum: float | None
    mean: float | None
    content_sha256: str


@dataclass(frozen=True)
class SourceGrid:
    """A source raster as the mosaic reads it: its CRS (the file's, else the fiche's) and its
    bounds on the territory's grid."""

    path: Path
    crs: str
    bounds: tuple[float, float, float, float]  # in the territory's CRS

    @property
    def reprojected(self) -> bool:
        return not territory.is_territory(crs_of(self.crs))


def source_crs(path: Path, fallback: str | None) -> str:
    """The CRS of a raster file, else the fiche's; neither is an error naming the file."""
    with rasterio.open(path) as src:
        if src.crs is not None:
            return src.crs.to_string()
    if fallback is None:
        raise SourceFileError(f"{path}: the raster has no CRS and the fiche declares none")
    return crs_of(fallback).to_string()


def inspect_source(
    path: Path,
    fallback_crs: str | None,
    resolution: float,
    extent: tuple[float, float, float, float] | None = None,
) -> SourceGrid:
    """A source raster after reading every block, so that a corrupt or truncated file is
    caught before it reaches a mosaic; one outside France or `extent` (Lambert-93), or in a
    CRS PROJ cannot bring to Lambert-93, is refused. Errors name the file."""
    if path.suffix.lower() == ".asc":
        check_ascii_grid(path)
    try:
        with rasterio.open(path) as src:
            for _, window in src.block_windows(1):
                src.read(1, window=window)
            bounds = tuple(src.bounds)
    except rasterio.errors.RasterioError as error:
        raise SourceFileError(f"{path}: not a readable raster ({error})") from error
    crs = source_crs(path, fallback_crs)
    native = crs_of(crs)
    projected, _ = territory.locate(str(path), bounds, native, extent)
    if territory.is_territory(native):
        with rasterio.open(path) as src:
            _check_alignment(src, resolution)
    return SourceGrid(path, crs, projected)


ASCII_HEADER = ("ncols", "nrows", "xllcorner", "xllcenter", "yllcorner", "yllcenter")
ASCII_KEYS = (*ASCII_HEADER, "cellsize", "nodata_value", "dx", "dy")


def check_ascii_grid(path: Path) -> None:
    """Refuse an ESRI ASCII grid whose text GDAL would read anyway: a non-number in a row
    (read as 0.0), a short or long row, fewer or more rows than `nrows`. The error names the
    line and the value."""
    lines = Path(path).read_text(encoding="ascii", errors="replace").splitlines()
    header: dict[str, str] = {}
    first = len(lines)
    for i, line in enumerate(lines):
        fields = line.split()
        if len(fields) != 2 or fields[0].lower() not in ASCII_KEYS:
            first = i
            break
        header[fields[0].lower()] = fields[1]
    try:
        ncols, nrows = int(header["ncols"]), int(header["nrows"])
    except (KeyError, ValueError) as error:
        raise SourceFileError(
            f"{path}: not an ESRI ASCII grid: its header lacks a whole ncols and nrows"
        ) from error
    rows = [(n, line.split()) for n, line in enumerate(lines[first:], first + 1) if line.strip()]
    if len(rows) != nrows:
        raise SourceFileError(f"{path}: {len(rows)} rows of values where nrows is {nrows}")
    for n, values in rows:
        if len(values) != ncols:
            raise SourceFileError(f"{path}, line {n}: {len(values)} values where ncols is {ncols}")
    try:
        np.array([v for _, values in rows for v in values], dtype=np.float64)
    except ValueError:
        n, bad = next((n, v) for n, values in rows for v in values if not _is_number(v))
        raise SourceFileError(f"{path}, line {n}: {bad!r} is not a number") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_alignment(src: DatasetReader | WarpedVRT, resolution: float) -> None:
    """A Lambert-93 source is mosaicked as it is: on the declared resolution grid."""
    if not (np.isclose(abs(src.res[0]), resolution) and np.isclose(abs(src.res[1]), resolution)):
        raise SourceFileError(
            f"{src.name}: resolution {src.res} m in {TARGET_CRS} differs from the declared "
            f"{resolution} m (raster.resolution); resample the source first"
        )
    # Centre registration: the first cell centre must sit on a multiple of the resolution.
    for origin in (src.transform.c + resolution / 2, src.transform.f - resolution / 2):
        offset = origin / resolution - round(origin / resolution)
        if abs(offset) > 1e-6:
            raise SourceFileError(
                f"{src.name}: cell centres are not on multiples of {resolution} m in {TARGET_CRS} "
                f"(origin {src.transform.c}, {src.transform.f}); resample the source first"
            )


def _snap(value: float, resolution: float, up: bool) -> float:
    """Snap a coordinate to the nearest cell edge (edges at k·res − res/2) below or above."""
    k = (value + resolution / 2) / resolution
    k = np.ceil(k - 1e-9) if up else np.floor(k + 1e-9)
    return float(k * resolution - resolution / 2)


def data_window(
    sources_bounds: list[tuple[float, float, float, float]], tile: str, resolution: float
) -> tuple[float, float, float, float] | None:
    """The part of the tile's grid the sources cover, on cell edges (None if no overlap).

    A tile's COG spans only this window: a 10 km tile at 0.5 m would be 20 000² cells.
    """
    gx0, gy0, gx1, gy1 = tile_grid_bounds(tile, resolution)
    x0 = max(gx0, _snap(min(b[0] for b in sources_bounds), resolution, up=False))
    y0 = max(gy0, _snap(min(b[1] for b in sources_bounds), resolution, up=False))
    x1 = min(gx1, _snap(max(b[2] for b in sources_bounds), resolution, up=True))
    y1 = min(gy1, _snap(max(b[3] for b in sources_bounds), resolution, up=True))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _on_grid(
    src: DatasetReader, source: SourceGrid, resolution: float, nodata: float, resampling: str
) -> DatasetReader | WarpedVRT:
    """The source as it lies on the territory's grid: itself, or warped onto the cells its
    Lambert-93 bounds touch."""
    if not source.reprojected:
        _check_alignment(src, resolution)
        return src
    bx0, by0, bx1, by1 = source.bounds
    x0, y0 = _snap(bx0, resolution, up=False), _snap(by0, resolution, up=False)
    x1, y1 = _snap(bx1, resolution, up=True), _snap(by1, resolution, up=True)
    return WarpedVRT(
        src,
        src_crs=source.crs,
        crs=TARGET_CRS,
        transform=rasterio.Affine(resolution, 0, x0, 0, -resolution, y1),
        width=round((x1 - x0) / resolution),
        height=round((y1 - y0) / resolution),
        resampling=Resampling[resampling],
        nodata=nodata,  # cells the source does not reach, whether it declares a nodata or not
        dtype="float64",
    )


def mosaic_tile(
    sources: list[SourceGrid],
    tile: str,
    *,
    resolution: float,
    nodata: float,
    dtype: str,
    resampling: str = "bilinear",
) -> tuple[np.ndarray, rasterio.Affine]:
    """The tile's grid, over the window the sources cover, filled from every source (those
    in another CRS warped with `resampling`)."""
    if not sources:
        raise ValueError(f"no source raster for tile {tile}")
    window = data_window([s.bounds for s in sources], tile, resolution)
    if window is None:
        raise ValueError(f"no source raster overlaps tile {tile}")
    opened = [rasterio.open(s.path) for s in sources]
    try:
        grids = [
            _on_grid(src, s, resolution, float(nodata), resampling)
            for src, s in zip(opened, sources, strict=True)
        ]
        array, transform = rasterio.merge.merge(
            grids,
            bounds=window,
            res=resolution,
            nodata=float(nodata),  # an int nodata is refused for float dtypes
            dtype=dtype,
        )
    finally:
        for src in opened:
            src.close()
    return array[0], transform


def _copy_from_memory(
    array: np.ndarray,
    transform: rasterio.Affine,
    crs: str | None,
    nodata: float,
    path: Path,
    driver: str,
    tags: dict[str, str] | None = None,
    **options: Any,
) -> None:
    """Write one band through a MEM dataset (COG and AAIGrid are create-copy drivers)."""
    profile = {
        "driver": "GTiff",
        "height": array.shape[0],
        "width": array.shape[1],
        "count": 1,
        "dtype": array.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
    }
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(array, 1)
            if tags:
                dataset.update_tags(**tags)
        with memory.open() as dataset:
            rasterio.shutil.copy(dataset, path, driver=driver, **options)


def write_ascii_grid(
    array: np.ndarray,
    transform: rasterio.Affine,
    path: Path,
    *,
    nodata: float,
    crs: str | None = None,
    decimals: int = 2,
) -> None:
    """An ESRI ASCII grid (the RGE ALTI / BD ALTI delivery format); no .prj without a CRS."""
    _copy_from_memory(array, transform, crs, nodata, path, "AAIGrid", DECIMAL_PRECISION=decimals)
    for extra in Path(path).parent.glob(Path(path).name + ".aux.xml"):
        extra.unlink()


def write_cog(
    array: np.ndarray,
    transform: rasterio.Affine,
    crs: str,
    nodata: float,
    path: Path,
    lineage: str | None = None,
) -> None:
    """Write one band as a Cloud-Optimized GeoTIFF, atomically; `lineage` (how the cells were
    derived from the sources: reprojection, heights) is kept in the file's tags."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = dict(COG_OPTIONS)
    if np.issubdtype(array.dtype, np.floating):
        options["PREDICTOR"] = "FLOATING_POINT"
    partial = path.with_name(path.name + ".partial.tif")
    tags = {LINEAGE_TAG: lineage} if lineage else {}
    _copy_from_memory(array, transform, crs, nodata, partial, "COG", tags, **options)
    partial.replace(path)


def lineage_of(path: Path) -> str | None:
    """The lineage a COG was written with (None: its cells are the sources' own)."""
    with rasterio.open(path) as src:
        return src.tags().get(LINEAGE_TAG)


def describe(
    array: np.ndarray, transform: rasterio.Affine, *, tile: str, path: Path, crs: str, nodata: float
) -> RasterTile:
    valid = array != nodata
    if np.issubdtype(array.dtype, np.floating):
        valid &= np.isfinite(array)
    rows = np.flatnonzero(valid.any(axis=1))
    cols = np.flatnonzero(valid.any(axis=0))
    res = transform.a
    if len(rows):
        x0, y0 = transform @ (cols[0], rows[-1] + 1)
        x1, y1 = transform @ (cols[-1] + 1, rows[0])
        bounds = (float(x0), float(y0), float(x1), float(y1))
        values = array[valid]
        stats: tuple[float | None, float | None, float | None] = (
            float(values.min()),
            float(values.max()),
            float(values.mean()),
        )
    else:  # nothing valid: the window the sources cover, never more
        x0, y0 = transform @ (0, array.shape[0])
        x1, y1 = transform @ (array.shape[1], 0)
        bounds = (float(x0), float(y0), float(x1), float(y1))
        stats = (None, None, None)
    digest = hashlib.sha256(np.ascontiguousarray(array).tobytes())
    digest.update(repr((tuple(transform), crs, nodata)).encode())
    return RasterTile(
        tile,
        path,
        bounds,
        crs,
        float(res),
        nodata,
        array.shape[1],
        array.shape[0],
        float(valid.mean()),
        int(valid.sum()),
        *stats,
        digest.hexdigest(),
    )


def cog_problem(path: Path) -> str | None:
    """Why a file is not a usable COG tile (None when it is)."""
    if not path.exists():
        return f"{path.name}: missing"
    with rasterio.open(path) as src:
        if not src.profile.get("tiled"):
            return f"{path}: not tiled"
        if not src.overviews(1) and max(src.width, src.height) > 512:
            return f"{path}: no overviews"
        if src.crs is None:
            return f"{path}: no CRS"
    return None
