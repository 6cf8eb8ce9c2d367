"""Vectorized geometry preparation: decode WKB, drop Z, reproject, repair or reject, bounds."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely

from jnft.formats.errors import Rejections

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


def _family_lookup() -> np.ndarray:
    """_FAMILY indexed by shapely type id; the last slot catches id -1 (missing geometry)."""
    lookup = np.full(9, "", dtype=object)
    for name, family in _FAMILY.items():
        lookup[int(getattr(shapely.GeometryType, name.upper()))] = family
    return lookup


_FAMILY_OF_ID = _family_lookup()

_MULTI = {
    shapely.GeometryType.POINT: shapely.multipoints,
    shapely.GeometryType.LINESTRING: shapely.multilinestrings,
    shapely.GeometryType.POLYGON: shapely.multipolygons,
}


@dataclass(frozen=True)
class PreparedGeometries:
    """Geometries ready for the lakehouse, with the rows that could not be kept and why."""

    wkb: pa.Array  # WKB (binary), null where rejected
    bounds: np.ndarray  # (n, 4) xmin, ymin, xmax, ymax; NaN where rejected
    rejections: Rejections
    repaired: int  # how many invalid geometries were repaired


def in_threads(
    function: Callable[[np.ndarray], np.ndarray], values: np.ndarray, chunk: int = 100_000
) -> np.ndarray:
    """Apply a vectorized shapely function over chunks on all cores (shapely releases the GIL)."""
    if len(values) <= chunk:
        return function(values)
    parts = [values[i : i + chunk] for i in range(0, len(values), chunk)]
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        return np.concatenate(list(pool.map(function, parts)))


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
    source: pa.Array | pa.ChunkedArray | np.ndarray,
    source_crs: pyproj.CRS,
    target_crs: pyproj.CRS,
    *,
    keep_z: bool = False,
    declared_type: str | None = None,
) -> PreparedGeometries:
    """Decode, optionally drop Z, reproject, repair when certain, and reject what cannot be kept.

    A repair is certain when `make_valid` keeps the geometry family and the result is not empty;
    otherwise the row is rejected with the reason (it goes to quarantine, never silently dropped).
    Each step takes the geometries still kept (`ok`) and updates them in place.
    """
    if isinstance(source, np.ndarray):
        source = pa.array(source, pa.binary())
    if isinstance(source, pa.ChunkedArray):
        source = source.combine_chunks()
    rejections = Rejections(len(source))
    geoms = _decode(source, rejections)
    ok = ~shapely.is_missing(geoms)
    # Rows whose geometry is rewritten; the others keep their source WKB bytes as they are.
    modified = np.zeros(len(source), dtype=bool)
    if not keep_z:
        with_z = ok & shapely.has_z(geoms)
        geoms[with_z] = shapely.force_2d(geoms[with_z])
        modified |= with_z
    if not source_crs.equals(target_crs):
        modified |= ok
        ok &= ~_reproject(geoms, ok, source_crs, target_crs, rejections)
    if declared_type is not None:
        ok &= ~_reject_foreign(geoms, ok, declared_type, rejections)
        if declared_type.startswith("Multi"):
            modified |= _promote_to_multi(geoms, ok)
    repaired = _repair(geoms, ok, rejections)
    modified |= repaired
    return PreparedGeometries(
        _encode(source, geoms, rejections.mask, modified),
        _bounds(geoms, rejections.mask),
        rejections,
        int(repaired.sum()),
    )


def _decode(source: pa.Array, rejections: Rejections) -> np.ndarray:
    """Shapely geometries of the WKB values; missing, undecodable and empty ones rejected."""
    wkb = source.to_numpy(zero_copy_only=False)
    present = source.is_valid().to_numpy(zero_copy_only=False)
    geoms = np.full(len(wkb), None, dtype=object)
    geoms[present] = shapely.from_wkb(wkb[present], on_invalid="ignore")
    rejections.add(~present, "missing geometry")
    rejections.add(present & shapely.is_missing(geoms), "undecodable WKB")
    empty = shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    rejections.add(empty, "empty geometry")
    geoms[empty] = None
    return geoms


def _reproject(
    geoms: np.ndarray,
    ok: np.ndarray,
    source_crs: pyproj.CRS,
    target_crs: pyproj.CRS,
    rejections: Rejections,
) -> np.ndarray:
    """Reproject the kept geometries; returns those whose coordinates fell outside the
    target's domain (rejected against C6)."""
    transformer = pyproj.Transformer.from_crs(source_crs, target_crs, always_xy=True)
    geoms[ok] = shapely.transform(
        geoms[ok],
        lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])),
        include_z=False,
    )
    non_finite = ok & ~np.isfinite(shapely.bounds(geoms)).all(axis=1)
    rejections.add(
        non_finite, f"coordinates outside the domain of {target_crs.to_string()}", "c06_extent"
    )
    geoms[non_finite] = None
    return non_finite


def _reject_foreign(
    geoms: np.ndarray, ok: np.ndarray, declared_type: str, rejections: Rejections
) -> np.ndarray:
    """Another family than declared (a point in a polygon layer) is not this concept (C1).
    Vectorized on type ids: a Python loop here would cost a second per million rows."""
    families = _FAMILY_OF_ID[shapely.get_type_id(geoms)]  # id -1 (missing) maps to ""
    foreign = ok & (families != _FAMILY[declared_type])
    rejections.add(
        foreign,
        [f"geometry type {g.geom_type} where {declared_type} is declared" for g in geoms[foreign]],
        "c01_nature",
    )
    geoms[foreign] = None
    return foreign


def _promote_to_multi(geoms: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Single parts made Multi (a Shapefile mixes Polygon and MultiPolygon: one type, nothing
    lost); returns the rows promoted."""
    single = ok & np.isin(shapely.get_type_id(geoms), list(_MULTI))
    for type_id, make in _MULTI.items():
        kind = single & (shapely.get_type_id(geoms) == type_id)
        if kind.any():
            geoms[kind] = make(geoms[kind], indices=np.arange(int(kind.sum())))
    return single


def _repair(geoms: np.ndarray, ok: np.ndarray, rejections: Rejections) -> np.ndarray:
    """Repair invalid geometries when `make_valid` keeps their family; reject the others.
    Returns the rows repaired."""
    repaired = np.zeros(len(geoms), dtype=bool)
    invalid = ok & ~in_threads(shapely.is_valid, geoms)
    if not invalid.any():
        return repaired
    idx = np.flatnonzero(invalid)
    families = np.array([_FAMILY.get(g.geom_type) for g in geoms[idx]], dtype=object)
    fixed = _keep_family(shapely.make_valid(geoms[idx]), families)
    fixed_ok = ~shapely.is_empty(fixed) & shapely.is_valid(fixed)
    fixed_family = np.array([_FAMILY.get(g.geom_type) for g in fixed], dtype=object)
    fixed_ok &= fixed_family == families
    geoms[idx[fixed_ok]] = fixed[fixed_ok]
    repaired[idx[fixed_ok]] = True
    bad = idx[~fixed_ok]
    rejections.add(
        bad,
        [
            f"invalid geometry not repairable without changing its type: {reason}"
            for reason in shapely.is_valid_reason(geoms[bad])
        ],
    )
    geoms[bad] = None
    return repaired


def _bounds(geoms: np.ndarray, rejected: np.ndarray) -> np.ndarray:
    bounds = np.full((len(geoms), 4), np.nan)
    bounds[~rejected] = shapely.bounds(geoms[~rejected])
    return bounds


def _encode(
    source: pa.Array, geoms: np.ndarray, rejected: np.ndarray, modified: np.ndarray
) -> pa.Array:
    """WKB out: untouched rows keep their source bytes; rewritten rows are encoded again and
    rejected rows become null."""
    replaced = rejected | modified
    out = source.cast(pa.binary())
    if replaced.any():
        new = np.full(int(replaced.sum()), None, dtype=object)
        rewrite = ~rejected[replaced]
        new[rewrite] = shapely.to_wkb(geoms[replaced][rewrite], include_srid=False)
        out = pc.replace_with_mask(out, pa.array(replaced), pa.array(new, pa.binary()))
    return out


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


def geometry_types(wkb: np.ndarray | pa.Array | pa.ChunkedArray) -> list[str]:
    """Sorted distinct geometry type names (GeoParquet spelling, with ' Z') of WKB values."""
    if not isinstance(wkb, np.ndarray):
        wkb = pc.drop_null(wkb).to_numpy(zero_copy_only=False)
    geoms = shapely.from_wkb(np.asarray([b for b in wkb if b is not None], dtype=object))
    if len(geoms) == 0:
        return []
    pairs = np.unique(np.column_stack([shapely.get_type_id(geoms), shapely.has_z(geoms)]), axis=0)
    return sorted(
        _GEOPARQUET_NAMES[shapely.GeometryType(int(t))] + (" Z" if z else "") for t, z in pairs
    )
