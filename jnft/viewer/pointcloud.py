"""The point clouds the 3D view draws: a point-cloud concept's files (LAS, LAZ or COPC, kept in
bronze) decimated on the server to a point budget per tile and sent as one binary array.

Read with laspy + lazrs here rather than in the browser: the lakehouse keeps LAZ as delivered
(not always COPC), and nothing (no WASM decoder) has to be fetched by the front-end. The body
of `/api/pointcloud/<tile>.bin`, little-endian: the origin's web-mercator x and y in metres
(2 float64), then per point x, y, z (3 float32, metres from the origin in web mercator, z the
altitude scaled as mercator scales the ground there), then per point its ASPRS class (uint8)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np
import pyproj

from jnft.tiles import TARGET_CRS, tile_bounds

MAX_BUDGET = 1_000_000
_CHUNK = 500_000


@dataclass(frozen=True)
class CloudTile:
    """A tile of the point cloud: its files in bronze, their CRS when the header has none."""

    tile: str
    files: tuple[Path, ...]
    fallback_crs: str | None
    points: int  # in the tile, all files together (the index's count)


def _crs_of(path: Path, fallback: str | None) -> pyproj.CRS:
    with laspy.open(path) as reader:
        crs = reader.header.parse_crs()
    if crs is None and fallback is None:
        raise ValueError(f"{path.name}: no CRS in its header and none declared by the fiche")
    return crs if crs is not None else pyproj.CRS.from_user_input(fallback)


def decimated(tile: CloudTile, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """(n × 3 float64 Lambert-93 x, y, z; n uint8 classes) of at most about `budget` of the
    tile's points, every k-th point kept (regular in acquisition order: scan lines)."""
    step = max(1, math.ceil(tile.points / max(budget, 1)))
    xmin, ymin, xmax, ymax = tile_bounds(tile.tile)
    xyz, classes = [], []
    for path in tile.files:
        crs = _crs_of(path, tile.fallback_crs)
        to_territory = pyproj.Transformer.from_crs(crs, TARGET_CRS, always_xy=True)
        with laspy.open(path) as reader:
            for chunk in reader.chunk_iterator(_CHUNK):
                kept = chunk[::step]
                x, y = to_territory.transform(np.asarray(kept.x), np.asarray(kept.y))
                # A file across tiles' edges is drawn once: by the tile its points are in.
                inside = (x >= xmin) & (x < xmax) & (y >= ymin) & (y < ymax)
                xyz.append(np.column_stack([x, y, np.asarray(kept.z)])[inside])
                classes.append(np.asarray(kept.classification, dtype=np.uint8)[inside])
    if not xyz:
        return np.empty((0, 3)), np.empty(0, np.uint8)
    return np.concatenate(xyz), np.concatenate(classes)


def encode(xyz: np.ndarray, classes: np.ndarray) -> bytes:
    """The binary body (see the module's docstring) of Lambert-93 points."""
    to_mercator = pyproj.Transformer.from_crs(TARGET_CRS, "EPSG:3857", always_xy=True)
    mx, my = to_mercator.transform(xyz[:, 0], xyz[:, 1]) if len(xyz) else (xyz[:, 0], xyz[:, 1])
    origin = (float(np.min(mx)), float(np.min(my))) if len(xyz) else (0.0, 0.0)
    latitude = math.atan(math.sinh(origin[1] / 6378137.0))
    # A ground metre is 1/cos(latitude) mercator metres: heights are scaled alike.
    mz = xyz[:, 2] / math.cos(latitude)
    positions = np.column_stack([mx - origin[0], my - origin[1], mz]).astype("<f4")
    return (
        np.array(origin, "<f8").tobytes() + positions.tobytes() + classes.astype(np.uint8).tobytes()
    )
