"""Raster I/O of the out-of-core screening: windowed reads of a DEM (a COG, a VRT of the
lakehouse's COG tiles, any raster GDAL reads) with a halo, and results written tile by tile as
Cloud-Optimized GeoTIFFs mosaicked by a VRT per quantity, so that no process ever holds more
than a tile."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import MaskFlags
from rasterio.errors import RasterioIOError
from rasterio.windows import Window as RioWindow

from jnft.simulation.outofcore.grid import TileGrid, Window

BLOCK = 512  # internal tiles of the written COGs, as the lakehouse's (`formats.raster`)
_GDAL_TYPES = {"float32": "Float32", "float64": "Float64", "uint8": "Byte"}
# Overviews of a quantity: direction codes are categories and accumulations are counts along
# paths, whose means are no cell's; elevations and heights average.
_RESAMPLING = {"direction": "nearest", "accumulation": "nearest"}


@dataclass(frozen=True)
class Raster:
    """What the tiles need to know of the DEM: its size and georeferencing."""

    path: str
    height: int
    width: int
    transform: Affine
    crs_wkt: str
    dtype: str

    @property
    def level_dtype(self) -> str:
        """Type of the filled levels, which are elevations: float32 holds those of a float32
        or 8- or 16-bit DEM exactly, float64 the others'."""
        return "float32" if np.can_cast(self.dtype, np.float32, "safe") else "float64"

    @property
    def cell_area(self) -> float:
        return abs(self.transform.a * self.transform.e - self.transform.b * self.transform.d)


def open_dem(path: str | Path) -> Raster:
    """The DEM's description; a clear error for a file GDAL cannot read or a multi-band one."""
    try:
        with rasterio.open(path) as src:
            if src.count != 1:
                raise ValueError(
                    f"{path}: {src.count} bands; the screening reads a single-band DEM "
                    "(extract the elevation band, e.g. `gdal_translate -b 1`)"
                )
            crs = src.crs.to_wkt() if src.crs else ""
            return Raster(str(path), src.height, src.width, src.transform, crs, src.dtypes[0])
    except RasterioIOError as error:
        raise ValueError(f"{path}: not a raster GDAL can read ({error})") from None


def read_window(path: str, win: Window, halo: int = 0) -> np.ndarray:
    """Band 1 over the window grown by `halo` cells, as float64 with NaN for no-data (the
    file's no-data value or mask) and for the cells beyond the raster's edges."""
    with rasterio.open(path) as src:
        r0, c0 = win.row - halo, win.col - halo
        r1, c1 = win.row + win.height + halo, win.col + win.width + halo
        a0, b0 = max(r0, 0), max(c0, 0)
        a1, b1 = min(r1, src.height), min(c1, src.width)
        out = np.full((r1 - r0, c1 - c0), np.nan)
        window = RioWindow(b0, a0, b1 - b0, a1 - a0)
        data = src.read(1, window=window).astype(np.float64)
        if src.nodata is not None and not np.isnan(src.nodata):
            data[data == src.nodata] = np.nan
        if MaskFlags.per_dataset in src.mask_flag_enums[0]:  # an internal mask band
            data[src.read_masks(1, window=window) == 0] = np.nan
        out[a0 - r0 : a1 - r0, b0 - c0 : b1 - c0] = data
    return out


def read_tile(path: str, win: Window) -> np.ndarray:
    """Band 1 over the window, as stored (no conversion: codes stay codes)."""
    with rasterio.open(path) as src:
        return src.read(1, window=RioWindow(win.col, win.row, win.width, win.height))


def tile_path(folder: Path, name: str, i: int, j: int) -> Path:
    return folder / name / f"{i:04d}_{j:04d}.tif"


def write_tile(
    folder: Path, name: str, i: int, j: int, win: Window, dem: Raster, data: np.ndarray,
    nodata: float | None,
) -> None:  # fmt: skip
    """One tile of a quantity as a COG, georeferenced at its window."""
    path = tile_path(folder, name, i, j)
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "COG",
        "height": win.height,
        "width": win.width,
        "count": 1,
        "dtype": data.dtype.name,
        "crs": dem.crs_wkt or None,
        "transform": dem.transform @ Affine.translation(win.col, win.row),
        "nodata": nodata,
        "compress": "deflate",
        "level": 1,  # four times faster to write than the default level, 30 % larger
        "blocksize": BLOCK,
        "overviews": "auto",
        "resampling": _RESAMPLING.get(name, "average"),
        "num_threads": 1,  # a worker is one thread: its tile is its share of the machine
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def write_vrt(
    folder: Path, name: str, grid: TileGrid, dem: Raster, dtype: str, nodata: str | None
) -> Path:
    """The mosaic of a quantity's tiles, as one raster GDAL reads (paths relative to it)."""
    gdal_type = _GDAL_TYPES[dtype]
    sources = []
    for i, j in grid.tiles():
        win = grid.window(i, j)
        sources.append(
            f"""    <SimpleSource>
      <SourceFilename relativeToVRT="1">{name}/{i:04d}_{j:04d}.tif</SourceFilename>
      <SourceBand>1</SourceBand>
      <SrcRect xOff="0" yOff="0" xSize="{win.width}" ySize="{win.height}"/>
      <DstRect xOff="{win.col}" yOff="{win.row}" xSize="{win.width}" ySize="{win.height}"/>
    </SimpleSource>"""
        )
    t = dem.transform
    nodata_xml = "" if nodata is None else f"\n    <NoDataValue>{nodata}</NoDataValue>"
    text = f"""<VRTDataset rasterXSize="{grid.width}" rasterYSize="{grid.height}">
  <SRS>{html.escape(dem.crs_wkt)}</SRS>
  <GeoTransform>{t.c!r}, {t.a!r}, {t.b!r}, {t.f!r}, {t.d!r}, {t.e!r}</GeoTransform>
  <VRTRasterBand dataType="{gdal_type}" band="1">{nodata_xml}
{chr(10).join(sources)}
  </VRTRasterBand>
</VRTDataset>
"""
    path = folder / f"{name}.vrt"
    path.write_text(text, encoding="utf-8")
    return path
