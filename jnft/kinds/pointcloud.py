"""Point-cloud concepts (LiDAR HD): LAS/LAZ/COPC files stay in bronze; each tile's products
(DTM, DSM…), rasterized by PDAL-style pipelines, become COGs indexed with the point count,
density and class histogram."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pyarrow as pa
import pystac
from pydantic import Field, model_validator

from jnft.formats.pdal import PipelineError, RasterPipeline, parse_pipeline
from jnft.ingest.pointcloud import PointCloudSource, ingest_pointcloud
from jnft.ingest.vintages import IngestReport
from jnft.kinds.base import Observation, Scope
from jnft.kinds.raster import COG_TYPE, GriddedKind, GriddedSpec, territory_extent
from jnft.lakehouse.store import Lakehouse

if TYPE_CHECKING:
    from jnft.ingest.bronze import BronzeEntry
    from jnft.quality.fiche import Fiche


class PointCloudSpec(GriddedSpec):
    """Products rasterized from a point cloud, each a PDAL-style pipeline (stages after the
    reader, ending with `writers.gdal`), and how the files are streamed."""

    resolution: float = Field(default=1.0, gt=0)
    chunk_points: int = Field(default=2_000_000, gt=0)
    products: dict[str, list[dict]]

    @model_validator(mode="after")
    def _valid_pipelines(self) -> PointCloudSpec:
        if not self.products:
            raise ValueError("declare at least one product")
        for name, stages in self.products.items():
            try:
                pipeline = parse_pipeline(stages, default_resolution=self.resolution)
            except PipelineError as error:
                raise ValueError(f"product {name!r}: {error}") from error
            if pipeline.writer.resolution != self.resolution:
                raise ValueError(
                    f"product {name!r}: products of a tile share the spec's resolution "
                    f"{self.resolution}, not {pipeline.writer.resolution}"
                )
        return self

    def pipelines(self) -> dict[str, RasterPipeline]:
        """Each product's pipeline, at the spec's resolution unless the writer sets none."""
        return {
            name: parse_pipeline(stages, default_resolution=self.resolution)
            for name, stages in self.products.items()
        }


class PointCloudKind(GriddedKind[PointCloudSpec]):
    name = "pointcloud"
    spec = PointCloudSpec
    formats = ("LAS",)  # LAS 1.2–1.4, LAZ and COPC alike
    geometry_types = ("PointCloud",)
    methods = frozenset({"lidar", "photogrammetry"})
    extra_views = ("pointcloud",)
    points = True

    def merge(
        self, store: Lakehouse, fiche: Fiche, entries: list[BronzeEntry], scope: Scope
    ) -> IngestReport:
        p = self.spec_of(fiche)
        source = PointCloudSource(fiche.source.crs, p.resolution, p.pipelines(), p.chunk_points)
        return ingest_pointcloud(
            store,
            fiche.id,
            source,
            entries,
            **scope.merging(),
            extent=territory_extent(fiche),
            on_tile=lambda tile, done, total: scope.progress(
                f"{fiche.id}: tile {tile} rasterized ({done}/{total})"
            ),
        )

    def cog_paths(self, rows: pa.Table) -> list[str]:
        return [
            p for products in rows["products"].to_pylist() for p in json.loads(products).values()
        ]

    def observe(
        self,
        store: Lakehouse,
        fiche: Fiche,
        obs: Observation,
        rows: pa.Table,
        tiles: list[str] | None,
    ) -> None:
        super().observe(store, fiche, obs, rows, tiles)
        obs.densities = dict(
            zip(rows["tile"].to_pylist(), rows["density"].to_pylist(), strict=True)
        )

    def empty_tiles(self, fiche: Fiche, rows: pa.Table) -> dict[str, str]:
        """Tiles whose first product (the index's grid, e.g. the DTM) is empty: no point
        passes its filters, e.g. a tile whose points are all unclassified."""
        name, pipeline = next(iter(self.spec_of(fiche).pipelines().items()))
        kept = " and ".join(f.limits for f in pipeline.filters) or "every point"
        return {
            tile: f"product {name!r} empty: no point passes {kept} "
            f"(the tile's points by class: {histogram})"
            for tile, cells, histogram in zip(
                rows["tile"].to_pylist(),
                rows["valid_cells"].to_pylist(),
                rows["class_histogram"].to_pylist(),
                strict=True,
            )
            if cells == 0
        }

    def stac_assets(self, store: Lakehouse, fiche: Fiche, row: dict) -> dict[str, pystac.Asset]:
        return {
            product: pystac.Asset(
                store.href(path), media_type=COG_TYPE, roles=["data"], title=product
            )
            for product, path in json.loads(row["products"]).items()
        }
