"""The fiche of a geo-concept (`concepts/<id>.yaml`): typed model and loading with clear errors.

A fiche says what a layer is (identity, role), where it comes from (source) and how to read it
(vector or raster spec). `criteria` holds the 10 criteria C1..C10, each a mapping of fields.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jnft.lakehouse.geometry import crs_of
from jnft.quality.criteria import Criteria

RASTER_FORMATS = ("AAIGrid", "GTiff")
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
    format: Literal["GPKG", "ESRI Shapefile", "GeoJSON", "INSEE-GRID-CSV", "AAIGrid", "GTiff"]
    layer: str | None = None
    crs: str | None = None  # used when a file carries none; a file's own CRS wins
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


class Fiche(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str
    role: Literal["calcul", "contextualisation"]
    kind: Literal["vector", "raster"]
    group: Literal["territory_layers"] = "territory_layers"
    theme: str
    owners: list[str] = Field(default_factory=lambda: ["team:geodata"])
    tiled: bool = True
    source: SourceSpec
    vector: VectorSpec | None = None
    raster: RasterSpec | None = None
    criteria: Criteria

    @model_validator(mode="after")
    def _kind_spec(self) -> Fiche:
        if self.kind == "vector" and (self.vector is None or self.source.format in RASTER_FORMATS):
            raise ValueError("a vector concept needs a `vector` spec and a vector source format")
        if self.kind == "raster" and (
            self.raster is None or self.source.format not in RASTER_FORMATS
        ):
            raise ValueError("a raster concept needs a `raster` spec and a raster source format")
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
        elif nature.geometry_type != "Raster":
            raise ValueError("criteria.c01_nature.geometry_type of a raster concept is 'Raster'")
        missing = sorted(
            set(self.criteria.c09_quality.required_attributes) - set(nature.attributes)
        )
        if missing:
            raise ValueError(
                f"criteria.c09_quality.required_attributes {missing} are not in c01_nature"
            )
        return self

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
