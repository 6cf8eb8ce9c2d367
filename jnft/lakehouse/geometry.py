"""Vectorized geometry preparation: decode WKB, drop Z, reproject, repair or reject, bounds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely

# Geometry type families: repair may not change a feature's family (a polygon stays areal).
_FAMILY = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "LinearRing": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}


@dataclass(frozen=True)
class PreparedGeometries:
    """Geometries ready for the lakehouse, with the rows that could not be kept and why."""

    wkb: np.ndarray  # object array of WKB bytes, None where rejected
    bounds: np.ndarray  # (n, 4) xmin, ymin, xmax, ymax; NaN where rejected
    rejected: np.ndarray  # bool mask
    reasons: np.ndarray  # object array of str (empty where kept)
    repaired: int  # how many invalid geometries were repaired


def crs_of(value: str | int | pyproj.CRS) -> pyproj.CRS:
    """Parse a CRS from an EPSG code, a string or a CRS, with a clear error."""
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as error:
        raise ValueError(f"unknown CRS {value!r}: {error}") from error


def _keep_family(repaired: np.ndarray, families: np.ndarray) -> np.ndarray:
    """From make_valid output, keep only the parts of the original family (drop collapsed bits)."""
    out = repaired.copy()
    collections = shapely.get_type_id(repaired) == shapely.GeometryType.GEOMETRYCOLLECTION
    for i in np.flatnonzero(collections):
        parts = shapely.get_parts(repaired[i])
        kept = [p for p in parts if _FAMILY.get(p.geom_type) == families[i]]
        out[i] = shapely.union_all(kept) if kept else shapely.from_wkt("GEOMETRYCOLLECTION EMPTY")
    return out


def prepare_geometries(
    wkb: np.ndarray,
    source_crs: pyproj.CRS,
    target_crs: pyproj.CRS,
    *,
    keep_z: bool = False,
) -> PreparedGeometries:
    """Decode, optionally drop Z, reproject, repair when certain, and reject what cannot be kept.

    A repair is certain when `make_valid` keeps the geometry family and the result is not empty;
    otherwise the row is rejected with the reason (it goes to quarantine, never silently dropped).
    """
    n = len(wkb)
    reasons = np.full(n, "", dtype=object)
    present = np.array([b is not None for b in wkb], dtype=bool)
    geoms = np.full(n, None, dtype=object)
    try:
        geoms[present] = shapely.from_wkb(wkb[present], on_invalid="raise")
    except shapely.errors.GEOSException:
        decoded = shapely.from_wkb(wkb[present], on_invalid="ignore")
        geoms[present] = decoded
    reasons[~present] = "missing geometry"
    undecodable = present & shapely.is_missing(geoms)
    reasons[undecodable] = "undecodable WKB"
    geoms[shapely.is_empty(geoms) & ~shapely.is_missing(geoms)] = None
    reasons[present & ~undecodable & shapely.is_missing(geoms)] = "empty geometry"

    ok = ~shapely.is_missing(geoms)
    if not keep_z:
        geoms[ok] = shapely.force_2d(geoms[ok])
    if not source_crs.equals(target_crs):
        transformer = pyproj.Transformer.from_crs(source_crs, target_crs, always_xy=True)
        geoms[ok] = shapely.transform(
            geoms[ok],
            lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])),
            include_z=False,
        )
        non_finite = ok & ~np.isfinite(shapely.bounds(geoms)).all(axis=1)
        reasons[non_finite] = f"coordinates outside the domain of {target_crs.to_string()}"
        geoms[non_finite] = None
        ok &= ~non_finite

    invalid = ok & ~shapely.is_valid(geoms)
    repaired_count = 0
    if invalid.any():
        idx = np.flatnonzero(invalid)
        families = np.array([_FAMILY.get(g.geom_type) for g in geoms[idx]], dtype=object)
        fixed = _keep_family(shapely.make_valid(geoms[idx]), families)
        fixed_ok = ~shapely.is_empty(fixed) & shapely.is_valid(fixed)
        fixed_family = np.array([_FAMILY.get(g.geom_type) for g in fixed], dtype=object)
        fixed_ok &= fixed_family == families
        geoms[idx[fixed_ok]] = fixed[fixed_ok]
        repaired_count = int(fixed_ok.sum())
        bad = idx[~fixed_ok]
        reasons[bad] = [
            f"invalid geometry not repairable without changing its type: {reason}"
            for reason in shapely.is_valid_reason(geoms[bad])
        ]
        geoms[bad] = None

    rejected = shapely.is_missing(geoms)
    bounds = np.full((n, 4), np.nan)
    bounds[~rejected] = shapely.bounds(geoms[~rejected])
    out = np.full(n, None, dtype=object)
    out[~rejected] = shapely.to_wkb(geoms[~rejected], include_srid=False)
    return PreparedGeometries(out, bounds, rejected, reasons, repaired_count)


_GEOPARQUET_NAMES = {
    shapely.GeometryType.POINT: "Point",
    shapely.GeometryType.LINESTRING: "LineString",
    shapely.GeometryType.LINEARRING: "LineString",
    shapely.GeometryType.POLYGON: "Polygon",
    shapely.GeometryType.MULTIPOINT: "MultiPoint",
    shapely.GeometryType.MULTILINESTRING: "MultiLineString",
    shapely.GeometryType.MULTIPOLYGON: "MultiPolygon",
    shapely.GeometryType.GEOMETRYCOLLECTION: "GeometryCollection",
}


def geometry_types(wkb: np.ndarray) -> list[str]:
    """Sorted distinct geometry type names (GeoParquet spelling, with ' Z') of WKB values."""
    geoms = shapely.from_wkb(np.asarray([b for b in wkb if b is not None], dtype=object))
    if len(geoms) == 0:
        return []
    pairs = np.unique(np.column_stack([shapely.get_type_id(geoms), shapely.has_z(geoms)]), axis=0)
    return sorted(
        _GEOPARQUET_NAMES[shapely.GeometryType(int(t))] + (" Z" if z else "") for t, z in pairs
    )
