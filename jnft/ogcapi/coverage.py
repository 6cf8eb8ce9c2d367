"""A pygeoapi coverage provider over one mosaic of COG tiles (a VRT the configuration writes from
the lakehouse's current tiles): a subset by `bbox` (any CRS, CRS84 by default) or by `subset`
on the grid's own axes `x` and `y` (Lambert-93 metres), as CoverageJSON or as GeoTIFF.

pygeoapi's `rasterio` provider reads one file too, but clips with a polygon mask, writes the
grid's CRS as a non-existent OGC URI and reads `bbox-crs` as an EPSG integer only; this one
reads a window of whole cells (every cell the box meets), with its nodata as JSON `null`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import rasterio
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderRequestEntityTooLargeError,
)
from rasterio.io import MemoryFile
from rasterio.windows import Window

EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
NATIVE_FORMAT = {"name": "GTiff", "mimetype": "image/tiff; application=geotiff"}
# A CoverageJSON answer spells every cell out; a GeoTIFF one is compressed binary.
MAX_JSON_CELLS = 1_000_000
MAX_CELLS = 50_000_000


def provider_definition(vrt: Path, parameter: dict[str, Any]) -> dict[str, Any]:
    """The provider entry of a coverage collection: its mosaic and its one parameter
    (`id`, `title`, `unit` or None)."""
    return {
        "type": "coverage",
        "name": "jnft.ogcapi.coverage.CoverageProvider",
        "data": str(vrt),
        "parameter": parameter,
        "format": NATIVE_FORMAT,
    }


def _crs(text: str | int) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError as error:
        raise ProviderInvalidQueryError(user_msg=f"bbox-crs: {text!r} is not a CRS") from error


class CoverageProvider(BaseProvider):
    """One parameter over the mosaic of a coverage's tiles."""

    _fields: dict[str, dict[str, Any]]

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.parameter: dict[str, Any] = provider_def["parameter"]
        try:
            with rasterio.open(self.data) as grid:  # the header only
                self.grid_crs = pyproj.CRS.from_wkt(grid.crs.to_wkt())
                self.transform = grid.transform
                self.width, self.height = grid.width, grid.height
                self.nodata = grid.nodata
                self.dtype = grid.dtypes[0]
                bounds = tuple(grid.bounds)
        except rasterio.errors.RasterioIOError as error:
            raise ProviderConnectionError(
                user_msg=f"the mosaic {self.data} cannot be read; rebuild the configuration"
            ) from error
        epsg = self.grid_crs.to_epsg()
        self.crs = f"{EPSG_URI}{epsg}" if epsg else self.grid_crs.to_wkt()
        self.axes = ["x", "y"]
        self.num_bands = 1
        # What pygeoapi's collection description reads (`extent.spatial.grid`).
        self._coverage_properties = {
            "bbox": list(bounds),
            "bbox_crs": self.crs,
            "crs_type": "ProjectedCRS",
            "x_axis_label": "x",
            "y_axis_label": "y",
            "width": self.width,
            "height": self.height,
            "resx": self.transform.a,
            "resy": -self.transform.e,
            "num_bands": 1,
        }
        self.get_fields()

    def get_fields(self) -> dict[str, dict[str, Any]]:
        if not self._fields:
            field: dict[str, Any] = {"title": self.parameter["title"], "type": "number"}
            if self.parameter.get("unit"):
                field["x-ogc-unit"] = self.parameter["unit"]
            self._fields = {self.parameter["id"]: field}
        return self._fields

    def _bounds(
        self, bbox: list[float], bbox_crs: str | int, subsets: dict[str, list[float]]
    ) -> tuple[float, float, float, float] | None:
        """The requested box in the grid's CRS; None for the whole grid."""
        if bbox and subsets:
            raise ProviderInvalidQueryError(user_msg="bbox and subset are exclusive; use one")
        if bbox:
            x0, y0, x1, y1 = bbox[:2] + bbox[3:5] if len(bbox) == 6 else bbox
            source = _crs(bbox_crs)
            if source == self.grid_crs:
                return x0, y0, x1, y1
            transformer = pyproj.Transformer.from_crs(source, self.grid_crs, always_xy=True)
            return transformer.transform_bounds(x0, y0, x1, y1, densify_pts=21)
        if subsets:
            left, bottom, right, top = self._coverage_properties["bbox"]
            x0, x1 = subsets.get("x", [left, right])
            y0, y1 = subsets.get("y", [bottom, top])
            return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)
        return None

    def window(self, bounds: tuple[float, float, float, float] | None) -> Window:
        """The window of every cell that meets `bounds` (clipped to the grid)."""
        if bounds is None:
            return Window(0, 0, self.width, self.height)
        x0, y0, x1, y1 = bounds
        left, top = self.transform.c, self.transform.f
        resx, resy = self.transform.a, -self.transform.e
        col0 = max(0, math.floor((x0 - left) / resx))
        col1 = min(self.width, math.ceil((x1 - left) / resx))
        row0 = max(0, math.floor((top - y1) / resy))
        row1 = min(self.height, math.ceil((top - y0) / resy))
        if col1 <= col0 or row1 <= row0:
            raise ProviderInvalidQueryError(
                user_msg="the requested area is outside the coverage "
                f"(its extent: {self._coverage_properties['bbox']} in {self.crs})"
            )
        return Window(col0, row0, col1 - col0, row1 - row0)

    def query(
        self,
        properties: list[str] | None = None,
        subsets: dict[str, list[float]] | None = None,
        bbox: list[float] | None = None,
        bbox_crs: str | int = CRS84,
        datetime_: str | None = None,
        format_: str = "json",
        **kwargs: Any,
    ) -> dict[str, Any] | bytes:
        """The cells of the requested area, as CoverageJSON (`json`) or GeoTIFF (`GTiff`)."""
        if datetime_:
            raise ProviderInvalidQueryError(
                user_msg="datetime: a coverage is the current mosaic of its tiles; the "
                "earlier vintages are listed in the catalogue's records"
            )
        unknown = sorted(set(properties or []) - set(self.fields))
        if unknown:
            raise ProviderInvalidQueryError(user_msg=f"properties: no parameter {unknown[0]!r}")
        window = self.window(self._bounds(bbox or [], bbox_crs, subsets or {}))
        cells = int(window.width * window.height)
        limit = MAX_JSON_CELLS if format_ == "json" else MAX_CELLS
        if cells > limit:
            raise ProviderRequestEntityTooLargeError(
                user_msg=f"{cells} cells asked, at most {limit} in this format: ask a smaller "
                "bbox or subset" + (", or f=GTiff" if format_ == "json" else "")
            )
        with rasterio.open(self.data) as grid:
            values = grid.read(1, window=window)
            transform = grid.window_transform(window)
        self.filename = f"{Path(self.data).stem}.tif"
        if format_ == "json":
            return self.coveragejson(values, transform)
        return self.geotiff(values, transform)

    def _missing(self, values: np.ndarray) -> np.ndarray:
        missing = np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, bool)
        if self.nodata is not None and not math.isnan(self.nodata):
            missing |= values == self.nodata
        return missing

    def coveragejson(self, values: np.ndarray, transform: rasterio.Affine) -> dict[str, Any]:
        """A CoverageJSON grid: axes at the cells' centres, rows from north to south."""
        height, width = values.shape
        resx, resy = transform.a, -transform.e
        parameter = {
            "type": "Parameter",
            "description": {"fr": self.parameter["title"]},
            "observedProperty": {
                "id": self.parameter["id"],
                "label": {"fr": self.parameter["title"]},
            },
        }
        if self.parameter.get("unit"):
            parameter["unit"] = {"symbol": self.parameter["unit"]}
        data = np.where(self._missing(values), np.nan, values.astype("float64"))
        return {
            "type": "Coverage",
            "domain": {
                "type": "Domain",
                "domainType": "Grid",
                "axes": {
                    "x": {
                        "start": transform.c + resx / 2,
                        "stop": transform.c + resx * (width - 0.5),
                        "num": width,
                    },
                    "y": {
                        "start": transform.f - resy / 2,
                        "stop": transform.f - resy * (height - 0.5),
                        "num": height,
                    },
                },
                "referencing": [
                    {
                        "coordinates": ["x", "y"],
                        "system": {"type": "ProjectedCRS", "id": self.crs},
                    }
                ],
            },
            "parameters": {self.parameter["id"]: parameter},
            "ranges": {
                self.parameter["id"]: {
                    "type": "NdArray",
                    "dataType": "float",
                    "axisNames": ["y", "x"],
                    "shape": [height, width],
                    "values": [None if math.isnan(v) else v for v in data.ravel().tolist()],
                }
            },
        }

    def geotiff(self, values: np.ndarray, transform: rasterio.Affine) -> bytes:
        """The cells as a deflated GeoTIFF, nodata kept."""
        height, width = values.shape
        profile = {
            "driver": "GTiff",
            "dtype": self.dtype,
            "count": 1,
            "width": width,
            "height": height,
            "crs": self.grid_crs.to_wkt(),
            "transform": transform,
            "nodata": self.nodata,
            "compress": "deflate",
        }
        with MemoryFile() as memory:
            with memory.open(**profile) as target:
                target.write(values, 1)
            return bytes(memory.read())

    def __repr__(self) -> str:
        return f"<CoverageProvider> {self.data}"
