"""Vector concepts (BD TOPO layers, communes, population squares): features with a geometry,
read from GPKG / Shapefile / GeoJSON / INSEE grid CSV, historized per feature, published as
gold GeoParquet."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, get_args

import pyarrow as pa
import pyarrow.parquet as pq
import pystac
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jnft.formats import preview
from jnft.formats.geometry import geometry_types
from jnft.ingest.vector import LayerSpec, VectorSource, ingest_vector
from jnft.ingest.vintages import IngestReport
from jnft.kinds.base import Observation, Scope
from jnft.kinds.layered import LayeredKind
from jnft.lakehouse.store import Lakehouse
from jnft.lakehouse.summary import LayerSummary

if TYPE_CHECKING:
    from jnft.ingest.bronze import BronzeEntry
    from jnft.quality.fiche import Fiche

PARQUET_TYPE = "application/vnd.apache.parquet"
ColumnType = Literal["string", "int32", "int64", "float32", "float64", "bool", "date"]
GeometryType = Literal[
    "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"
]


class VectorSpec(BaseModel):
    """How a vector layer maps to the lakehouse table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_column: str | None = None  # stable source identifier (e.g. BD TOPO `cleabs`)
    identity_columns: list[str] = Field(default_factory=list)  # hashed when there is no id
    columns: dict[str, ColumnType]
    rename: dict[str, str] = Field(default_factory=dict)  # source name -> table name
    geometry_type: GeometryType
    keep_z: bool = False

    @model_validator(mode="after")
    def _identity(self) -> VectorSpec:
        if not self.id_column and not self.identity_columns:
            raise ValueError("declare id_column or identity_columns")
        for name in [self.id_column, *self.identity_columns]:
            if name and name not in self.columns:
                raise ValueError(f"identity column {name!r} is not among columns")
        return self


def attributes_are_columns(
    fiche: Fiche, columns: Mapping[str, str], rename: dict[str, str]
) -> None:
    """C1's declared attributes must be table columns (after renaming)."""
    names = {rename.get(c, c) for c in columns}
    unknown = sorted(set(fiche.criteria.c01_nature.attributes) - names)
    if unknown:
        raise ValueError(f"criteria.c01_nature.attributes {unknown} are not table columns")


class VectorKind(LayeredKind[VectorSpec]):
    name = "vector"
    spec = VectorSpec
    formats = ("GPKG", "ESRI Shapefile", "GeoJSON", "INSEE-GRID-CSV")
    geometry_types = get_args(GeometryType)
    methods = frozenset(
        {"photogrammetry", "survey", "compilation", "administrative", "census", "model", "lidar"}
    )
    footprint = "features"
    gold = True

    def check(self, fiche: Fiche) -> None:
        spec = self.spec_of(fiche)
        declared = fiche.criteria.c01_nature.geometry_type
        if declared != spec.geometry_type:
            raise ValueError(
                f"criteria.c01_nature.geometry_type {declared!r} differs from "
                f"vector.geometry_type {spec.geometry_type!r}"
            )
        attributes_are_columns(fiche, spec.columns, spec.rename)

    def merge(
        self, store: Lakehouse, fiche: Fiche, entries: list[BronzeEntry], scope: Scope
    ) -> IngestReport:
        v = self.spec_of(fiche)
        precision = fiche.criteria.c08_precision
        layer = LayerSpec(
            dict(v.columns),
            dict(v.rename),
            v.id_column,
            list(v.identity_columns),
            v.keep_z,
            geometry_type=v.geometry_type,
            extent=fiche.criteria.c06_extent.bbox,
            extent_tolerance=max(precision.resolution_m or 0, precision.positional_accuracy_m or 0),
        )
        source = VectorSource(
            fiche.source.format, fiche.source.layer, fiche.source.crs, layer, fiche.source.encoding
        )
        return ingest_vector(
            store,
            fiche.id,
            source,
            entries,
            **scope.merging(),
        )

    def preview(self, store: Lakehouse, fiche: Fiche, summary: LayerSummary) -> bytes | None:
        return preview.vector_preview(summary.wkb, fiche.title)

    def observe(
        self,
        store: Lakehouse,
        fiche: Fiche,
        obs: Observation,
        rows: pa.Table,
        tiles: list[str] | None,
    ) -> None:
        super().observe(store, fiche, obs, rows, tiles)
        obs.geometry_types = geometry_types(rows["geometry"].to_numpy(zero_copy_only=False))
        gold = store.gold_path(fiche.id)
        if store.exists(gold):
            obs.gold_geo = json.loads(pq.read_schema(store.fetch(gold)).metadata[b"geo"])

    def stac_assets(self, store: Lakehouse, fiche: Fiche, row: dict) -> dict[str, pystac.Asset]:
        snapshot = pystac.Asset(
            store.uri(store.gold_path(fiche.id)),
            media_type=PARQUET_TYPE,
            roles=["data"],
            title="current snapshot (GeoParquet 1.1)",
        )
        return {"data": snapshot}
