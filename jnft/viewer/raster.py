"""Raster tiles of the viewer: web-mercator XYZ tile bounds, COGs (Lambert-93) warped onto a
tile, the DEM's hillshade, its elevations for the 3D terrain and a flood's maps (max depth,
max speed, arrival time) in classes as PNG, with their legends in their units."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyproj
import rasterio
from PIL import Image
from rasterio.enums import Resampling
from rasterio.transform import from_bounds
from rasterio.vrt import WarpedVRT

from jnft.simulation.exposure import DEPTH_CLASSES, WET
from jnft.tiles import TARGET_CRS

WEB_MERCATOR = "EPSG:3857"
TILE_SIZE = 256
_HALF_WORLD = 20037508.342789244  # half the web-mercator world's width, in metres
RGBA = tuple[int, int, int, int]
# The exposure table's depth classes, light to dark blue (RGBA).
DEPTH_COLOURS = ((198, 219, 239, 200), (107, 174, 214, 215), (33, 113, 181, 230), (8, 48, 107, 240))
# A sample's coast and floodplain are low relief: the shading is exaggerated to read at all.
_VERTICAL_EXAGGERATION = 3.0


def mercator_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of an XYZ tile in web-mercator metres."""
    size = 2 * _HALF_WORLD / 2**z
    return (
        -_HALF_WORLD + x * size,
        _HALF_WORLD - (y + 1) * size,
        -_HALF_WORLD + (x + 1) * size,
        _HALF_WORLD - y * size,
    )


@cache
def _to_target() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(WEB_MERCATOR, TARGET_CRS, always_xy=True)


def _overlaps(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def warp(
    paths: Sequence[Path], bounds: tuple[float, float, float, float], size: int = TILE_SIZE
) -> np.ndarray:
    """The COGs' first band over web-mercator `bounds` as a size × size float32 grid, NaN
    where none has data; COGs that do not reach the tile are not opened past their header."""
    out = np.full((size, size), np.nan, dtype=np.float32)
    target = _to_target().transform_bounds(*bounds, densify_pts=5)
    transform = from_bounds(*bounds, size, size)
    for path in paths:
        with rasterio.open(path) as src:
            if not _overlaps(target, tuple(src.bounds)):
                continue
            # A warped VRT reads the COG's overview that fits the zoom, not its full grid.
            with WarpedVRT(
                src,
                crs=WEB_MERCATOR,
                transform=transform,
                width=size,
                height=size,
                resampling=Resampling.bilinear,
                src_nodata=src.nodata,
                nodata=np.nan,
                dtype="float32",
            ) as vrt:
                part = vrt.read(1)
        out = np.where(np.isnan(out), part, out)
    return out


def hillshade_tile(paths: Sequence[Path], z: int, x: int, y: int) -> np.ndarray | None:
    """The DEM's hillshade over a tile (RGBA), None where the DEM does not reach it."""
    xmin, ymin, xmax, ymax = mercator_bounds(z, x, y)
    pixel = (xmax - xmin) / TILE_SIZE
    # One pixel more on each side: the slope of an edge pixel needs its neighbours.
    dem = warp(paths, (xmin - pixel, ymin - pixel, xmax + pixel, ymax + pixel), TILE_SIZE + 2)
    if np.isnan(dem).all():
        return None
    latitude = math.atan(math.sinh((ymin + ymax) / 2 / 6378137.0))
    ground = pixel * math.cos(latitude)  # a mercator metre is 1/cos(latitude) ground metres
    dzdy, dzdx = np.gradient(dem * _VERTICAL_EXAGGERATION, ground)
    slope = np.pi / 2 - np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, dzdy)
    azimuth, altitude = np.radians(315.0), np.radians(45.0)
    shade = np.sin(altitude) * np.sin(slope) + np.cos(altitude) * np.cos(slope) * np.cos(
        azimuth - np.pi / 2 - aspect
    )
    shade = shade[1:-1, 1:-1]
    valid = np.isfinite(shade)
    grey = np.clip(np.nan_to_num(shade) * 255, 0, 255).astype(np.uint8)
    return np.dstack([grey, grey, grey, np.where(valid, 255, 0).astype(np.uint8)])


def terrain_tile(paths: Sequence[Path], z: int, x: int, y: int) -> np.ndarray:
    """The DEM's elevations over a tile in the Terrarium encoding MapLibre's terrain reads
    (metres = R × 256 + G + B / 256 − 32768); sea level where the DEM does not reach (a
    transparent pixel would read −32768 m)."""
    dem = warp(paths, mercator_bounds(z, x, y))
    value = np.clip(np.nan_to_num(dem, nan=0.0).astype(np.float64) + 32768.0, 0, 65535.99)
    red = np.floor(value / 256)
    green = np.floor(value - red * 256)
    blue = np.floor((value - np.floor(value)) * 256)
    alpha = np.full(dem.shape, 255)
    return np.dstack([red, green, blue, alpha]).astype(np.uint8)


@dataclass(frozen=True)
class FloodProduct:
    """A flood map (a `product` of the lakehouse's `flood_maps`) as the viewer draws it: its
    values in the legend's unit, coloured by class; a class holds the values in (low, high]
    above `floor` (what is at or below it, or NaN, is dry: transparent)."""

    product: str
    title: str
    unit: str  # of the classes and legend
    per_stored_unit: float  # legend units per unit of the COG's values
    floor: float
    classes: tuple[tuple[str, float, float], ...]  # (name, low, high] in `unit`
    colours: tuple[RGBA, ...]  # one per class


_HOUR = 3600.0  # arrival is stored in seconds (jnft/publish/floodmaps.py UNITS)
# Keyed by their name in `flood_maps`, in the order the front-end offers them.
FLOOD_PRODUCTS = {
    p.product: p
    for p in (
        FloodProduct(
            "max_depth",
            "Hauteur d'eau maximale",
            "m",
            1.0,
            WET,  # the exposure's wet threshold
            DEPTH_CLASSES,
            DEPTH_COLOURS,
        ),
        # The velocity thresholds of flood-hazard practice: 0.2 and 0.5 m/s bound the low,
        # medium and strong classes of the French PPRI hazard grids, and above 1 m/s even
        # shallow water is dangerous. Dry cells hold 0 m/s (speed is tracked where wet),
        # hence the floor.
        FloodProduct(
            "max_speed",
            "Vitesse maximale",
            "m/s",
            1.0,
            0.0,
            (
                ("< 0.2", -math.inf, 0.2),
                ("0.2-0.5", 0.2, 0.5),
                ("0.5-1", 0.5, 1.0),
                ("> 1", 1.0, math.inf),
            ),
            ((255, 237, 160, 200), (254, 178, 76, 215), (240, 59, 32, 230), (128, 0, 38, 240)),
        ),
        # Hours of warning, as a crisis plan counts them: evacuate within the hour, within the
        # morning, within the day. Cells wet at the start arrive at 0 h; NaN never wet.
        FloodProduct(
            "arrival",
            "Temps d'arrivée de l'eau",
            "h",
            1.0 / _HOUR,
            -math.inf,
            (
                ("< 1", -math.inf, 1.0),
                ("1-3", 1.0, 3.0),
                ("3-6", 3.0, 6.0),
                ("> 6", 6.0, math.inf),
            ),
            ((122, 1, 119, 240), (197, 27, 138, 230), (247, 104, 161, 215), (251, 180, 185, 200)),
        ),
    )
}


def flood_tile(
    product: FloodProduct, paths: Sequence[Path], z: int, x: int, y: int
) -> np.ndarray | None:
    """A flood map over a tile in its product's classes (RGBA), None where the tile is dry
    or outside the maps."""
    values = warp(paths, mercator_bounds(z, x, y)) * product.per_stored_unit
    wet = values > product.floor  # NaN (no data, never wet) compares false: dry
    if not wet.any():
        return None
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    for (_, low, high), colour in zip(product.classes, product.colours, strict=True):
        rgba[wet & (values > low) & (values <= high)] = colour
    return rgba


def legend(product: FloodProduct) -> dict:
    """A flood product's classes (in its unit) and their colours, as the front-end draws
    them; an open-ended class has no min or max."""
    return {
        "product": product.product,
        "title": product.title,
        "unit": product.unit,
        "classes": [
            {
                "label": f"{name} {product.unit}",
                "min": None if math.isinf(low) else low,
                "max": None if math.isinf(high) else high,
                "color": "#{:02x}{:02x}{:02x}".format(*colour[:3]),
            }
            for (name, low, high), colour in zip(product.classes, product.colours, strict=True)
        ],
    }


def png(rgba: np.ndarray | None) -> bytes:
    """PNG bytes of an RGBA tile; a transparent tile for None."""
    if rgba is None:
        return _empty_png()
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


@cache
def _empty_png() -> bytes:
    return png(np.zeros((TILE_SIZE, TILE_SIZE, 4), dtype=np.uint8))


def sample_depth(path: Path, x: float, y: float) -> float | None:
    """A depth map's value at a Lambert-93 point (None outside it or where it has no data)."""
    with rasterio.open(path) as src:
        left, bottom, right, top = src.bounds
        if not (left <= x < right and bottom <= y < top):
            return None
        (value,) = next(src.sample([(x, y)], masked=True))
    return None if np.ma.is_masked(value) or not math.isfinite(float(value)) else float(value)
