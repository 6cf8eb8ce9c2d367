"""Delivered grids and point clouds against the territory's CRS (Lambert-93): whether a file
needs transforming, the pyproj transformation that brings it there, and where its data lies
(in lon/lat) when it falls outside France or the declared extent."""

from __future__ import annotations

import numpy as np
import pyproj
from pyproj.transformer import TransformerGroup

from jnft.formats.errors import SourceFileError
from jnft.tiles import TARGET_CRS

Box = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax

TERRITORY = pyproj.CRS.from_user_input(TARGET_CRS)
# Heights of the territory: NGF-IGN69, what IGN's DEMs and LiDAR HD deliver.
TERRITORY_HEIGHTS = pyproj.CRS.from_user_input(f"{TARGET_CRS}+5720")
_area = TERRITORY.area_of_use
assert _area is not None  # EPSG:2154 is defined over France
FRANCE_LONLAT: Box = _area.bounds
_WGS84_3D = pyproj.CRS.from_epsg(4979)
_LONLAT = pyproj.CRS.from_epsg(4326)
# A geocentric header box maps onto Lambert-93 through its corners; the surface between them
# bends by L²/R (0.2 m over 1 km): the footprint is widened by this margin.
GEOCENTRIC_MARGIN_M = 1.0


def label(crs: pyproj.CRS) -> str:
    """`EPSG:4326 (WGS 84)`, or the name of a CRS without a code."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def horizontal(crs: pyproj.CRS) -> pyproj.CRS:
    return crs.sub_crs_list[0] if crs.is_compound else crs


def is_territory(crs: pyproj.CRS) -> bool:
    """Whether x, y are Lambert-93 already (a compound Lambert-93 + heights included)."""
    return horizontal(crs).equals(TERRITORY, ignore_axis_order=True)


def has_heights(crs: pyproj.CRS) -> bool:
    """Whether the CRS says what z is other than IGN69: geocentric, geographic 3D
    (ellipsoidal heights), or compound with another vertical CRS. A 2D CRS says nothing of z:
    heights are kept as delivered."""
    if crs.is_compound:
        vertical = crs.sub_crs_list[-1]
        return not vertical.equals(TERRITORY_HEIGHTS.sub_crs_list[-1])
    return crs.is_geocentric or len(crs.axis_info) == 3


def transformer(crs: pyproj.CRS, name: str, heights: bool = False) -> pyproj.Transformer | None:
    """The transformation from `crs` to Lambert-93 (None when none is needed); with `heights`,
    z goes to NGF-IGN69 too, which needs IGN's geoid grid: without it the file is refused
    rather than stored with ellipsoidal heights ~50 m off the territory's.

    Errors name the file and both CRSs."""
    moves_heights = heights and has_heights(crs)
    if is_territory(crs) and not moves_heights:
        return None
    target = TERRITORY_HEIGHTS if moves_heights else TERRITORY
    try:
        group = TransformerGroup(crs, target, always_xy=True)
    except pyproj.exceptions.ProjError as error:
        raise _refused(name, crs, target, f"no transformation ({error})") from error
    if not group.transformers:
        raise _refused(name, crs, target, "no transformation known to PROJ")
    if moves_heights and not group.best_available:
        grids = sorted(
            {
                g.short_name
                for op in group.unavailable_operations
                for g in op.grids
                if not g.available
            }
        )
        raise _refused(
            name,
            crs,
            target,
            f"heights in {label(crs)} are not NGF-IGN69 and the geoid grid {', '.join(grids)} "
            "is not installed (projsync --file <grid>, or a PROJ_DATA folder holding it); "
            "deliver IGN69 heights",
        )
    return group.transformers[0]


def _refused(name: str, crs: pyproj.CRS, target: pyproj.CRS, why: str) -> SourceFileError:
    return SourceFileError(
        f"{name}: {label(crs)} cannot be brought to the territory's {label(target)}: {why}",
        "c06_extent",
    )


def _corners(box: Box, z: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, h = np.meshgrid([box[0], box[2]], [box[1], box[3]], list(z))
    return x.ravel(), y.ravel(), h.ravel()


def _bounds(x: np.ndarray, y: np.ndarray) -> Box:
    return (float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y)))


def lonlat(box: Box, crs: pyproj.CRS, z: tuple[float, float] = (0.0, 0.0)) -> Box | None:
    """Where a box lies in lon/lat (None when PROJ cannot say: far outside its CRS's area)."""
    if crs.is_geocentric:
        x, y, h = _corners(box, z)
        lon, lat, _ = pyproj.Transformer.from_crs(crs, _WGS84_3D, always_xy=True).transform(x, y, h)
        found = _bounds(lon, lat)
    else:
        to = pyproj.Transformer.from_crs(horizontal(crs), _LONLAT, always_xy=True)
        found = to.transform_bounds(*box, densify_pts=21)
    return found if all(np.isfinite(found)) else None


def in_territory(
    box: Box, crs: pyproj.CRS, to_territory: pyproj.Transformer | None, z: tuple[float, float]
) -> Box:
    """A header box in Lambert-93 (as given when no transformation is needed)."""
    if to_territory is None:
        return box
    if crs.is_geocentric:
        x, y, _ = to_territory.transform(*_corners(box, z))
        x0, y0, x1, y1 = _bounds(x, y)
        m = GEOCENTRIC_MARGIN_M
        return (x0 - m, y0 - m, x1 + m, y1 + m)
    return to_territory.transform_bounds(*box, densify_pts=21)


def _where(box: Box | None) -> str:
    if box is None:
        return "outside the area of its CRS"
    return f"lon {box[0]:.4f}…{box[2]:.4f}, lat {box[1]:.4f}…{box[3]:.4f}"


def overlaps(a: Box, b: Box) -> bool:
    """Whether two boxes share some area (touching edges do not count)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def locate(
    name: str,
    box: Box,
    crs: pyproj.CRS,
    extent: Box | None,
    *,
    heights: bool = False,
    z: tuple[float, float] = (0.0, 0.0),
) -> tuple[Box, pyproj.Transformer | None]:
    """The file's box in Lambert-93 and the transformation its data needs; a file lying
    outside France or outside the declared `extent` (Lambert-93) is refused (C6) with where
    it lies in lon/lat."""
    try:
        found = lonlat(box, crs, z)
    except pyproj.exceptions.ProjError as error:
        raise _refused(name, crs, TERRITORY, f"PROJ cannot locate its data ({error})") from error
    if found is None or not overlaps(found, FRANCE_LONLAT):
        raise SourceFileError(
            f"{name}: its data in {label(crs)} lie at {_where(found)}, outside France "
            f"({_where(FRANCE_LONLAT)}, the area of {TARGET_CRS})"
            + (" (degrees: wrong CRS?)" if is_territory(crs) and _degrees(box) else ""),
            "c06_extent",
        )
    to_territory = transformer(crs, name, heights)
    projected = in_territory(box, crs, to_territory, z)
    if extent is not None and not overlaps(projected, extent):
        shown = tuple(round(v, 1) for v in projected)
        raise SourceFileError(
            f"{name}: its data at {shown} in {TARGET_CRS} ({_where(found)}) lie outside the "
            f"territory {tuple(extent)}",
            "c06_extent",
        )
    return projected, to_territory


def _degrees(box: Box) -> bool:
    return max(map(abs, box)) <= 360


def lineage(crs: pyproj.CRS, to_territory: pyproj.Transformer | None) -> str | None:
    """How coordinates were brought to the territory's CRS, heights included (None: they
    were in it)."""
    if to_territory is None:
        return None
    heights = (
        "heights to NGF-IGN69"
        if has_heights(crs)
        else "heights kept as delivered (the file's CRS declares no vertical datum)"
    )
    return f"transformed from {label(crs)} to {TARGET_CRS} ({to_territory.description}); {heights}"
