"""Raster concepts (RGE ALTI / BD ALTI DEMs, other grids): source grids mosaicked onto the
10 km tiles as COGs, one index row per tile and vintage, historized like features."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeVar

import pyarrow as pa
import pyproj
import pystac
from pydantic import BaseModel, ConfigDict, Field

from jnft.formats import preview
from jnft.formats.crs import TERRITORY, is_territory
from jnft.formats.geometry import crs_of
from jnft.formats.raster import cog_problem, lineage_of
from jnft.ingest.raster import RasterSource, ingest_raster
from jnft.ingest.vintages import IngestReport
from jnft.kinds.base import Landing, Observation, Scope
from jnft.kinds.layered import LayeredKind
from jnft.lakehouse.store import Lakehouse
from jnft.lakehouse.summary import LayerSummary

if TYPE_CHECKING:
    from jnft.ingest.bronze import BronzeEntry
    from jnft.quality.fiche import Fiche

COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


class GriddedSpec(BaseModel):
    """What every tiled grid's spec declares (rasters and point-cloud products alike)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A tile version with fewer valid cells than the published one is held (C9) unless the
    # change is expected (a new mask, a retreating coast, a smaller flight).
    coverage_may_shrink: bool = False


class RasterSpec(GriddedSpec):
    """How a raster source maps to COG tiles."""

    resolution: float = Field(gt=0)
    nodata: float = -99999.0
    dtype: Literal["float32", "float64", "int16", "uint8"] = "float32"
    unit: str = "m"
    # How a grid in another CRS is resampled onto the territory's: bilinear suits continuous
    # values (terrain), nearest (or mode) classes, which must not blend.
    resampling: Literal["nearest", "bilinear", "cubic", "average", "mode"] = "bilinear"


GriddedSpecT = TypeVar("GriddedSpecT", bound=GriddedSpec)


class GriddedKind(LayeredKind[GriddedSpecT]):
    """A kind indexed by tile: each index row points at COGs (`path`, or `products`)."""

    footprint = "grid"
    view_columns = "v.* REPLACE (ST_GeomFromWKB(v.geometry) AS geometry)"

    def ranged_columns(self, fiche: Fiche) -> list[str]:
        # A grid's range applies to its cell values: the index's minimum and maximum.
        return ["minimum", "maximum"]

    def cog_paths(self, rows: pa.Table) -> list[str]:
        return rows["path"].to_pylist()

    def land(self, store: Lakehouse, fiche: Fiche, scope: Scope) -> Landing:
        """The landing, stating how tiles were derived from sources in other CRSs and which
        tiles hold no valid cell."""
        landing = super().land(store, fiche, scope)
        rows = landing.rows
        if rows is not None and rows.num_rows:
            lineage = {
                tile: text
                for tile, path in zip(
                    rows["tile"].to_pylist(), rows["path"].to_pylist(), strict=True
                )
                if (text := lineage_of(store.file(path)))
            }
            landing.values["lineage"] = lineage
            landing.values["empty_tiles"] = self.empty_tiles(fiche, rows)
        return landing

    def empty_tiles(self, fiche: Fiche, rows: pa.Table) -> dict[str, str]:
        """Tiles whose grid holds no valid cell, with why."""
        return {
            tile: f"no valid cell in the {fiche.kind} tile"
            for tile, cells in zip(
                rows["tile"].to_pylist(), rows["valid_cells"].to_pylist(), strict=True
            )
            if cells == 0
        }

    def preview(self, store: Lakehouse, fiche: Fiche, summary: LayerSummary) -> bytes | None:
        assert summary.current is not None  # previews are made of current rows (land)
        paths = [str(store.file(p)) for p in summary.current["path"].to_pylist()]
        return preview.raster_preview(paths, fiche.title)

    def observe(
        self,
        store: Lakehouse,
        fiche: Fiche,
        obs: Observation,
        rows: pa.Table,
        tiles: list[str] | None,
    ) -> None:
        super().observe(store, fiche, obs, rows, tiles)
        obs.resolutions = sorted(set(rows["resolution"].to_pylist()))
        obs.crs = sorted(set(rows["crs"].to_pylist()))
        obs.empty_tiles = self.empty_tiles(fiche, rows)
        obs.cog_problems = [
            p for path in self.cog_paths(rows) if (p := cog_problem(store.file(path)))
        ]
        if not self.spec_of(fiche).coverage_may_shrink:
            obs.coverage_drops = coverage_drops(self.current(store, fiche, tiles), rows)


def territory_extent(fiche: Fiche) -> tuple[float, float, float, float] | None:
    """The declared extent (C6) in the territory's CRS, where tiles and data are compared."""
    extent = fiche.criteria.c06_extent
    if extent.bbox is None:
        return None
    declared = crs_of(extent.crs)
    if is_territory(declared):
        return extent.bbox
    to = pyproj.Transformer.from_crs(declared, TERRITORY, always_xy=True)
    return to.transform_bounds(*extent.bbox, densify_pts=21)


def coverage_drops(before: pa.Table, after: pa.Table) -> dict[str, list[int]]:
    """Tiles whose valid cells fall from the published version to the observed one."""
    published = dict(
        zip(before["tile"].to_pylist(), before["valid_cells"].to_pylist(), strict=True)
    )
    observed = zip(after["tile"].to_pylist(), after["valid_cells"].to_pylist(), strict=True)
    return {
        tile: [published[tile], cells]
        for tile, cells in observed
        if tile in published and cells < published[tile]
    }


class RasterKind(GriddedKind[RasterSpec]):
    name = "raster"
    spec = RasterSpec
    formats = ("AAIGrid", "GTiff")
    geometry_types = ("Raster",)
    methods = frozenset({"lidar", "photogrammetry", "model", "survey", "compilation"})
    extra_views = ("raster",)

    def merge(
        self, store: Lakehouse, fiche: Fiche, entries: list[BronzeEntry], scope: Scope
    ) -> IngestReport:
        r = self.spec_of(fiche)
        source = RasterSource(
            fiche.source.crs, r.resolution, r.nodata, r.dtype, r.resampling, territory_extent(fiche)
        )
        return ingest_raster(
            store,
            fiche.id,
            source,
            entries,
            **scope.merging(),
        )

    def stac_assets(self, store: Lakehouse, fiche: Fiche, row: dict) -> dict[str, pystac.Asset]:
        return {"data": pystac.Asset(store.href(row["path"]), media_type=COG_TYPE, roles=["data"])}
