"""One GDAL VRT mosaic of a coverage's COG tiles, written from the tiles' own profiles, so that a
coverage is read as one grid whatever tiles it spans (GDAL reads only the tiles a window meets).

The tiles must share a CRS, a data type, a resolution and a grid (the lakehouse writes them so);
a tile that does not is refused with its path rather than resampled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import rasterio

# Offsets within this fraction of a cell are on the grid (the bounds are sums of floats).
_ON_GRID = 1e-6
_GDAL_TYPES = {
    "uint8": "Byte",
    "int8": "Int8",
    "uint16": "UInt16",
    "int16": "Int16",
    "uint32": "UInt32",
    "int32": "Int32",
    "float32": "Float32",
    "float64": "Float64",
}


class MosaicError(ValueError):
    """Tiles that cannot be one grid."""


@dataclass(frozen=True)
class _Tile:
    path: Path
    crs_wkt: str
    dtype: str
    nodata: float | None
    width: int
    height: int
    left: float
    top: float
    res: tuple[float, float]


def _tile(path: Path) -> _Tile:
    with rasterio.open(path) as cog:
        if cog.transform.b or cog.transform.d:
            raise MosaicError(f"{path}: a rotated grid cannot join a mosaic")
        return _Tile(
            Path(path).resolve(),
            cog.crs.to_wkt() if cog.crs else "",
            cog.dtypes[0],
            cog.nodata,
            cog.width,
            cog.height,
            cog.transform.c,
            cog.transform.f,
            (cog.transform.a, -cog.transform.e),
        )


def _offset(value: float, origin: float, res: float, path: Path) -> int:
    cells = (value - origin) / res
    if abs(cells - round(cells)) > _ON_GRID:
        raise MosaicError(f"{path}: off the grid of the other tiles by {cells % 1:.3f} cell")
    return round(cells)


def vrt_document(paths: list[Path]) -> str:
    """The VRT XML of the tiles' mosaic (band 1 of each; the first tile's nodata)."""
    if not paths:
        raise MosaicError("a mosaic needs at least one tile")
    tiles = [_tile(p) for p in paths]
    first = tiles[0]
    for tile in tiles[1:]:
        for name in ("crs_wkt", "dtype", "res"):
            if getattr(tile, name) != getattr(first, name):
                raise MosaicError(
                    f"{tile.path}: its {name} differs from {first.path}'s; "
                    "a mosaic's tiles share one grid"
                )
    xres, yres = first.res
    left = min(t.left for t in tiles)
    top = max(t.top for t in tiles)
    placed = [
        (
            t,
            _offset(t.left, left, xres, t.path),
            _offset(top, t.top, yres, t.path),
        )
        for t in tiles
    ]
    width = max(x + t.width for t, x, _ in placed)
    height = max(y + t.height for t, _, y in placed)
    nodata = "" if first.nodata is None else f"<NoDataValue>{first.nodata!r}</NoDataValue>"
    sources = []
    for tile, x, y in placed:
        source_nodata = "" if tile.nodata is None else f"<NODATA>{tile.nodata!r}</NODATA>"
        sources.append(
            "<ComplexSource>"
            f'<SourceFilename relativeToVRT="0">{escape(os.fspath(tile.path))}</SourceFilename>'
            "<SourceBand>1</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{tile.width}" ySize="{tile.height}"/>'
            f'<DstRect xOff="{x}" yOff="{y}" xSize="{tile.width}" ySize="{tile.height}"/>'
            f"{source_nodata}</ComplexSource>"
        )
    return (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
        f"<SRS>{escape(first.crs_wkt)}</SRS>"
        f"<GeoTransform>{left!r}, {xres!r}, 0.0, {top!r}, 0.0, {-yres!r}</GeoTransform>"
        f'<VRTRasterBand dataType="{_GDAL_TYPES[first.dtype]}" band="1">{nodata}'
        f"{''.join(sources)}</VRTRasterBand></VRTDataset>\n"
    )


def write_vrt(paths: list[Path], target: Path) -> Path:
    """Write the tiles' mosaic at `target` (replaced whole: a reader never sees half a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(vrt_document(paths), encoding="utf-8")
    partial.replace(target)
    return target
