"""Where a delivered file lies, from its header only (no data read): the Lambert-93 bounds that
tell which tiles a new file touches before it is ingested."""

from __future__ import annotations

import zipfile
from pathlib import Path

import laspy
import pyogrio
import pyproj
import rasterio

from jnft.formats.geometry import crs_of
from jnft.formats.vector import archive_member
from jnft.tiles import TARGET_CRS

Bounds = tuple[float, float, float, float]


def _to_target(bounds: Bounds, crs: str | pyproj.CRS | None) -> Bounds | None:
    if crs is None:
        return None
    source = crs_of(crs) if isinstance(crs, str) else crs
    target = crs_of(TARGET_CRS)
    if not source.equals(target):
        transformer = pyproj.Transformer.from_crs(source, target, always_xy=True)
        bounds = transformer.transform_bounds(*bounds, densify_pts=21)
    x0, y0, x1, y1 = bounds
    return float(x0), float(y0), float(x1), float(y1)


def file_footprint(
    path: Path, fmt: str, fallback_crs: str | None, layer: str | None = None
) -> Bounds | None:
    """Lambert-93 bounds of a file of a given source format; None when the header cannot
    tell (unreadable file, no CRS anywhere, a format without a cheap extent)."""
    path = Path(path)
    try:
        if fmt in ("GPKG", "ESRI Shapefile", "GeoJSON"):
            dataset = archive_member(path, fmt, layer) if zipfile.is_zipfile(path) else str(path)
            info = pyogrio.read_info(dataset, layer=layer if fmt == "GPKG" else None)
            return _to_target(tuple(info["total_bounds"]), info.get("crs") or fallback_crs)
        if fmt in ("AAIGrid", "GTiff"):
            with rasterio.open(path) as src:
                crs = src.crs.to_wkt() if src.crs else fallback_crs
                return _to_target(
                    tuple(src.bounds), pyproj.CRS.from_user_input(crs) if crs else None
                )
        if fmt == "LAS":
            with laspy.open(path) as reader:
                header = reader.header
                crs = header.parse_crs() or (crs_of(fallback_crs) if fallback_crs else None)
                mins, maxs = header.mins, header.maxs
                return _to_target((mins[0], mins[1], maxs[0], maxs[1]), crs)
    except Exception:  # an unreadable header: ingestion will quarantine the file with its reason
        return None
    return None
