"""The fiche of a geo-concept (`concepts/<id>.yaml`): typed model and loading with clear errors.

A fiche says what a layer is (identity, role), where it comes from (source) and how to read it
(vector or raster spec). `criteria` holds the 10 criteria C1..C10, each a mapping of fields.
"""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jnft.formats.geometry import crs_of
from jnft.formats.pdal import PipelineError, RasterPipeline, parse_pipeline
from jnft.formats.series import DelimitedFormat
from jnft.quality.criteria import Criteria

RASTER_FORMATS = ("AAIGrid", "GTiff")
POINTCLOUD_FORMATS = ("LAS",)  # LAS 1.2–1.4, LAZ and COPC alike
SERIES_FORMATS = ("HUBEAU-JSON", "CSV")
UNIT_NAMES = Literal["mm", "cm", "m", "l/s", "m3/s"]
CRITERIA = tuple(Criteria.model_fields)


class FicheError(ValueError):
    """A fiche that cannot be used, with the file and the field at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    """Where the files of a source are and how to read them.

    Concepts read from the same product (e.g. the BD TOPO layers) share one `name`: its files are
    landed once in `bronze/<name>/`.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    producer: str
    pattern: str  # glob under the sources folder
    format: Literal[
        "GPKG",
        "ESRI Shapefile",
        "GeoJSON",
        "INSEE-GRID-CSV",
        "AAIGrid",
        "GTiff",
        "LAS",
        "HUBEAU-JSON",
        "CSV",
    ]
    layer: str | None = None  # GPKG layer, or the dataset's name inside a zip archive
    crs: str | None = None  # used when a file carries none; a file's own CRS wins
    encoding: str | None = None  # of DBF text when no .cpg says it (e.g. cp1252)
    vintage_pattern: str  # regex with one group capturing YYYY-MM-DD or YYYY, on the file path

    @field_validator("vintage_pattern")
    @classmethod
    def _one_group(cls, value: str) -> str:
        if re.compile(value).groups != 1:
            raise ValueError("vintage_pattern needs exactly one capturing group (the date)")
        return value

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str | None) -> str | None:
        if value is not None:
            crs_of(value)
        return value


class VectorSpec(_Strict):
    """How a vector layer maps to the lakehouse table."""

    id_column: str | None = None  # stable source identifier (e.g. BD TOPO `cleabs`)
    identity_columns: list[str] = Field(default_factory=list)  # hashed when there is no id
    columns: dict[str, Literal["string", "int32", "int64", "float32", "float64", "bool", "date"]]
    rename: dict[str, str] = Field(default_factory=dict)  # source name -> table name
    geometry_type: Literal[
        "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"
    ]
    keep_z: bool = False

    @model_validator(mode="after")
    def _identity(self) -> VectorSpec:
        if not self.id_column and not self.identity_columns:
            raise ValueError("declare id_column or identity_columns")
        for name in [self.id_column, *self.identity_columns]:
            if name and name not in self.columns:
                raise ValueError(f"identity column {name!r} is not among columns")
        return self


class RasterSpec(_Strict):
    """How a raster source maps to COG tiles."""

    resolution: float = Field(gt=0)
    nodata: float = -99999.0
    dtype: Literal["float32", "float64", "int16", "uint8"] = "float32"
    unit: str = "m"


class PointCloudSpec(_Strict):
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


class StationSpec(_Strict):
    """A station the files do not locate, in Lambert-93."""

    name: str | None = None
    x: float
    y: float


class RatingSpec(_Strict):
    """A stage–discharge rating curve fitted on a gaugings file (delimited text), turning the
    `stage_variable` rows into `derived_variable` rows (m³/s)."""

    gaugings: str  # glob under the sources folder; the file is landed in the source's bronze
    stage_column: str
    discharge_column: str
    stage_unit: UNIT_NAMES = "m"
    discharge_unit: UNIT_NAMES = "m3/s"
    delimiter: str = ","
    year_column: str | None = None
    since_year: int | None = None  # gaugings from this year on: the rating in force
    breakpoints: list[float] | None = None  # segment limits (stage, m); BIC chooses if absent
    stage_variable: str = "H"
    derived_variable: str = "Q_tarage"

    @model_validator(mode="after")
    def _since(self) -> RatingSpec:
        if self.since_year is not None and self.year_column is None:
            raise ValueError("since_year needs year_column")
        return self


class TimeSeriesSpec(_Strict):
    """How a series file maps to observations; the column fields are for CSV sources
    (Hub'Eau responses describe themselves)."""

    variable: str | None = None
    unit: UNIT_NAMES | None = None
    time_column: str | None = None
    value_column: str | None = None
    time_format: str = "iso"  # iso, excel (spreadsheet serial days) or a strftime pattern
    timezone: str = "UTC"
    station: str | None = None
    station_column: str | None = None
    quality_column: str | None = None
    delimiter: str = ","
    comment_prefix: str | None = None
    offset_m: float = 0.0  # vertical datum shift added to levels (e.g. ZH to NGF-IGN69)
    datum: str | None = None
    stations: dict[str, StationSpec] = Field(default_factory=dict)
    rating_curve: RatingSpec | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    def delimited(self) -> DelimitedFormat:
        return DelimitedFormat(
            time_column=self.time_column,
            value_column=self.value_column,
            variable=self.variable,
            unit=self.unit,
            time_format=self.time_format,
            timezone=self.timezone,
            station=self.station,
            station_column=self.station_column,
            quality_column=self.quality_column,
            delimiter=self.delimiter,
            comment_prefix=self.comment_prefix,
            offset_m=self.offset_m,
        )


class TableSpec(_Strict):
    """An attribute table without geometry, keyed by a code (e.g. the INSEE code)."""

    id_column: str
    columns: dict[str, Literal["string", "int32", "int64", "float32", "float64", "bool", "date"]]
    rename: dict[str, str] = Field(default_factory=dict)
    delimiter: str = ","

    @model_validator(mode="after")
    def _identity(self) -> TableSpec:
        if self.id_column not in self.columns:
            raise ValueError(f"id_column {self.id_column!r} is not among columns")
        return self


class Fiche(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str
    role: Literal["calcul", "contextualisation"]
    kind: Literal["vector", "raster", "pointcloud", "timeseries", "table"]
    group: Literal["territory_layers"] = "territory_layers"
    theme: str
    owners: list[str] = Field(default_factory=lambda: ["team:geodata"])
    tiled: bool = True
    source: SourceSpec
    vector: VectorSpec | None = None
    raster: RasterSpec | None = None
    pointcloud: PointCloudSpec | None = None
    timeseries: TimeSeriesSpec | None = None
    table: TableSpec | None = None
    criteria: Criteria

    @model_validator(mode="after")
    def _kind_spec(self) -> Fiche:
        if self.kind == "vector" and (self.vector is None or self.source.format in RASTER_FORMATS):
            raise ValueError("a vector concept needs a `vector` spec and a vector source format")
        if self.kind == "raster" and (
            self.raster is None or self.source.format not in RASTER_FORMATS
        ):
            raise ValueError("a raster concept needs a `raster` spec and a raster source format")
        if self.kind == "pointcloud" and (
            self.pointcloud is None or self.source.format not in POINTCLOUD_FORMATS
        ):
            raise ValueError("a pointcloud concept needs a `pointcloud` spec and a LAS source")
        if self.kind == "table" and (self.table is None or self.source.format != "CSV"):
            raise ValueError("a table concept needs a `table` spec and a CSV source")
        if self.kind == "timeseries":
            spec = self.timeseries
            if spec is None or self.source.format not in SERIES_FORMATS:
                raise ValueError(
                    "a timeseries concept needs a `timeseries` spec and a series source format"
                )
            needed = ("time_column", "value_column", "variable", "unit")
            missing = [f for f in needed if getattr(spec, f) is None]
            if self.source.format == "CSV" and missing:
                raise ValueError(f"a CSV series declares timeseries.{', '.join(missing)}")
            if self.tiled:
                raise ValueError("a timeseries concept is not tiled (tiled: false)")
        nature = self.criteria.c01_nature
        if self.vector is not None:
            if nature.geometry_type != self.vector.geometry_type:
                raise ValueError(
                    f"criteria.c01_nature.geometry_type {nature.geometry_type!r} differs from "
                    f"vector.geometry_type {self.vector.geometry_type!r}"
                )
            columns = {self.vector.rename.get(c, c) for c in self.vector.columns}
            unknown = sorted(set(nature.attributes) - columns)
            if unknown:
                raise ValueError(f"criteria.c01_nature.attributes {unknown} are not table columns")
        elif self.kind == "table":
            if nature.geometry_type != "None":
                raise ValueError("criteria.c01_nature.geometry_type of a table is 'None'")
            columns = {self.table.rename.get(c, c) for c in self.table.columns}
            unknown = sorted(set(nature.attributes) - columns)
            if unknown:
                raise ValueError(f"criteria.c01_nature.attributes {unknown} are not table columns")
        elif self.kind == "timeseries":
            if nature.geometry_type != "Point":
                raise ValueError("criteria.c01_nature.geometry_type of a timeseries is 'Point'")
        elif nature.geometry_type not in ("Raster", "PointCloud"):
            raise ValueError(
                "criteria.c01_nature.geometry_type of a raster or pointcloud concept is "
                "'Raster' or 'PointCloud'"
            )
        missing = sorted(
            set(self.criteria.c09_quality.required_attributes) - set(nature.attributes)
        )
        if missing:
            raise ValueError(
                f"criteria.c09_quality.required_attributes {missing} are not in c01_nature"
            )
        return self

    @property
    def patterns(self) -> list[str]:
        """The file patterns of the source this concept reads: its deliveries, and the
        gaugings of its rating curve, which travel with the series they calibrate."""
        rating = self.timeseries.rating_curve if self.timeseries is not None else None
        return [self.source.pattern] + ([rating.gaugings] if rating is not None else [])

    @property
    def is_public(self) -> bool:
        """Whether the concept may reach public outputs (gold files, catalog, public views)."""
        return self.criteria.is_public


def _where(loc: tuple) -> str:
    """`criterion c05_licence, field licence` for criteria, else the dotted field path."""
    parts = [str(p) for p in loc]
    if len(parts) >= 2 and parts[0] == "criteria":
        field = ".".join(parts[2:]) or "(all fields)"
        return f"criterion {parts[1]}, field {field}"
    return ".".join(parts) or "(fiche)"


def load_fiche(path: Path) -> Fiche:
    """Load one fiche, naming the file and the field in any error."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise FicheError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise FicheError(f"{path}: a fiche is a mapping of fields")
    try:
        fiche = Fiche.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(_where(e["loc"]) + f": {e['msg']}" for e in error.errors())
        raise FicheError(f"{path}: {problems}") from error
    if fiche.id != Path(path).stem:
        raise FicheError(f"{path}: id {fiche.id!r} must match the file name")
    return fiche


def load_fiches(folder: Path) -> list[Fiche]:
    """Every fiche of a folder, sorted by id; sources shared by several fiches must agree."""
    fiches = [load_fiche(p) for p in sorted(Path(folder).glob("*.yaml"))]
    by_source: dict[str, Fiche] = {}
    for fiche in fiches:
        other = by_source.setdefault(fiche.source.name, fiche)
        if (other.source.pattern, other.source.vintage_pattern, other.source.producer) != (
            fiche.source.pattern,
            fiche.source.vintage_pattern,
            fiche.source.producer,
        ):
            raise FicheError(
                f"concepts {other.id} and {fiche.id} share source {fiche.source.name!r} but "
                "declare different patterns, vintages or producers"
            )
    return fiches
