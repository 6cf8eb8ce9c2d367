"""What a delivered file says about where it lies, read from its header only: its CRS (or a
guess, stated), its bounds in Lambert-93 and, for grids, its resolution. One reader per
source format; formats without a footprint (tables, series, national grids) give none."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import laspy
import pyogrio
import pyproj
import rasterio

from jnft.formats.errors import SourceFileError
from jnft.tiles import TARGET_CRS

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class Header:
    """What a file's header holds: bounds in its own CRS (None when it has none)."""

    bounds: Bounds | None
    crs: str | None
    resolution: float | None = None


@dataclass(frozen=True)
class Facts:
    """Where a file lies, in Lambert-93, and how its CRS is known."""

    bounds: Bounds | None
    crs: str | None
    guess: str | None = None  # how the CRS was guessed; None when the file states it
    resolution: float | None = None


def _vector(path: Path, layer: str | None) -> Header:
    info = pyogrio.read_info(path, layer=layer)
    bounds = tuple(float(b) for b in info["total_bounds"])
    finite = info["features"] and all(math.isfinite(b) for b in bounds)
    return Header(bounds if finite else None, info["crs"])  # type: ignore[arg-type]


def _raster(path: Path, layer: str | None) -> Header:
    with rasterio.open(path) as src:
        crs = src.crs.to_string() if src.crs is not None else None
        return Header(tuple(src.bounds), crs, float(abs(src.res[0])))


def _points(path: Path, layer: str | None) -> Header:
    with laspy.open(path) as reader:
        header = reader.header
        crs = header.parse_crs()
        mins, maxs = header.mins, header.maxs
    text = (f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.to_wkt()) if crs else None
    return Header((float(mins[0]), float(mins[1]), float(maxs[0]), float(maxs[1])), text)


READERS: dict[str, Callable[[Path, str | None], Header]] = {
    "GPKG": _vector,
    "ESRI Shapefile": _vector,
    "GeoJSON": _vector,
    "AAIGrid": _raster,
    "GTiff": _raster,
    "LAS": _points,
}


def _within_domain(bounds: Bounds, crs: str) -> bool:
    """Whether coordinates fall inside the area of use of a projected CRS."""
    area = pyproj.CRS.from_user_input(crs).area_of_use
    if area is None:
        return False
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0, x1, y1 = to_crs.transform_bounds(area.west, area.south, area.east, area.north)
    return x0 <= bounds[0] and y0 <= bounds[1] and bounds[2] <= x1 and bounds[3] <= y1


def guess_crs(
    relative: str, bounds: Bounds | None, assumed: str | None, names: dict[str, str]
) -> tuple[str, str] | None:
    """(CRS, how it was guessed) for a file that states none: its name, else its coordinates
    inside the assumed CRS's domain."""
    for pattern, crs in names.items():
        found = re.search(pattern, Path(relative).name, re.IGNORECASE)
        if found:
            return crs, f"SCR {crs} déduit du nom du fichier ({found.group(0)})"
    if assumed and bounds and _within_domain(bounds, assumed):
        return assumed, f"SCR {assumed} déduit des coordonnées (dans le domaine de {assumed})"
    return None


def facts_of(
    path: Path,
    relative: str,
    fmt: str,
    layer: str | None,
    assumed_crs: str | None,
    crs_names: dict[str, str],
) -> Facts:
    """The file's footprint in Lambert-93; SourceFileError names the file when its header is
    unreadable or its CRS cannot be known."""
    reader = READERS.get(fmt)
    if reader is None:
        return Facts(None, None)
    try:
        header = reader(path, layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        raise SourceFileError(f"{relative}: not a readable {fmt} file ({error})") from error
    except (rasterio.errors.RasterioError, laspy.errors.LaspyException) as error:
        raise SourceFileError(f"{relative}: not a readable {fmt} file ({error})") from error
    crs, guess = header.crs, None
    if crs is None:
        guessed = guess_crs(relative, header.bounds, assumed_crs, crs_names)
        if guessed is None:
            raise SourceFileError(
                f"{relative}: no CRS in the file, and neither its name nor its coordinates "
                "say which; add a .prj or name the CRS in the file name (e.g. LAMB93)"
            )
        crs, guess = guessed
    bounds = header.bounds
    if bounds is not None and pyproj.CRS.from_user_input(crs) != pyproj.CRS(TARGET_CRS):
        to_target = pyproj.Transformer.from_crs(crs, TARGET_CRS, always_xy=True)
        bounds = to_target.transform_bounds(*bounds, densify_pts=21)
    return Facts(bounds, crs, guess, header.resolution)
