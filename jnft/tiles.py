"""The 10 km tile grid (IGN LiDAR HD naming `{xmin_km:04d}_{ymax_km:04d}`) and tile assignment."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

TARGET_CRS = "EPSG:2154"  # Lambert-93: the grid, and every stored geometry, are in it
BBOX_COLUMNS = ("bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax")  # where a row lies
TILE_SIZE_M = 10_000
_TILE_RE = re.compile(r"^(\d{4})_(\d{4})$")


def tile_name(xmin_km: int, ymax_km: int) -> str:
    """Name of the tile whose lower-left x and upper y are given in kilometres."""
    return f"{xmin_km:04d}_{ymax_km:04d}"


def tile_bounds(name: str) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) in metres of a tile name; raises ValueError on a bad name."""
    if not isinstance(name, str):
        # YAML reads an unquoted 0460_6740 as the integer 4606740.
        raise ValueError(
            f"tile {name!r} is a {type(name).__name__}, not a name: quote tile names in YAML, "
            "e.g. '0460_6740'"
        )
    match = _TILE_RE.match(name)
    if not match:
        raise ValueError(f"not a tile name {name!r}: expected XXXX_YYYY (km of xmin and ymax)")
    xmin = int(match.group(1)) * 1000
    ymax = int(match.group(2)) * 1000
    if xmin % TILE_SIZE_M or ymax % TILE_SIZE_M:
        raise ValueError(f"tile {name!r} is not on the {TILE_SIZE_M // 1000} km grid")
    return float(xmin), float(ymax - TILE_SIZE_M), float(xmin + TILE_SIZE_M), float(ymax)


def tile_array(x: np.ndarray, y: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Tile name of each point as an Arrow string array (null where `valid` is False).

    A point on a tile's west or south edge belongs to that tile.
    """
    xkm = np.floor(np.asarray(x, dtype=np.float64) / TILE_SIZE_M) * (TILE_SIZE_M // 1000)
    ykm = (np.floor(np.asarray(y, dtype=np.float64) / TILE_SIZE_M) + 1) * (TILE_SIZE_M // 1000)
    ok = np.isfinite(xkm) & np.isfinite(ykm)
    if valid is not None:
        ok &= valid
    codes = np.where(ok, xkm, 0).astype(np.int64) * 10_000 + np.where(ok, ykm, 0).astype(np.int64)
    uniques, inverse = np.unique(codes, return_inverse=True)
    names = pa.array([tile_name(int(c // 10_000), int(c % 10_000)) for c in uniques], pa.string())
    indices = pa.array(inverse.astype(np.int32), mask=~ok)
    return pa.DictionaryArray.from_arrays(indices, names).dictionary_decode()


def tiles_of_points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Tile name of each point, as a NumPy array of str."""
    return tile_array(x, y).to_numpy(zero_copy_only=False)


def tiles_covering(bounds: tuple[float, float, float, float]) -> list[str]:
    """Every tile that intersects the interior of a bounding box (xmin, ymin, xmax, ymax)."""
    xmin, ymin, xmax, ymax = bounds
    if xmax <= xmin or ymax <= ymin:
        raise ValueError(f"empty bounding box {bounds}")
    step = TILE_SIZE_M
    x0 = int(np.floor(xmin / step))
    x1 = int(np.ceil(xmax / step))
    y0 = int(np.floor(ymin / step))
    y1 = int(np.ceil(ymax / step))
    km = step // 1000
    return [tile_name(i * km, (j + 1) * km) for i in range(x0, x1) for j in range(y0, y1)]


def model_resolution(wanted: float, cell: float) -> float:
    """The model grid's resolution: `wanted` rounded to a whole multiple of the DEM's `cell`
    (at least one cell), so that model cells are block means of DEM cells."""
    return max(round(wanted / cell), 1) * cell


def tile_grid_bounds(tile: str, resolution: float) -> tuple[float, float, float, float]:
    """Cell-edge bounds of a tile's grid: centres on multiples of the resolution."""
    xmin, ymin, xmax, ymax = tile_bounds(tile)
    half = resolution / 2
    return xmin - half, ymin + half, xmax - half, ymax + half
