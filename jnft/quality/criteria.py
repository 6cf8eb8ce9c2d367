"""The 10 criteria of a geo-concept, each with its mandatory and recommended fields.

Mandatory fields have no default: a fiche without them does not load. Recommended fields
default to None: the characterization (`jnft concepts characterize`) can fill the observable ones.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jnft.formats.geometry import crs_of

LICENCES = {
    "etalab-2.0": "Licence Ouverte / Open Licence 2.0 (Etalab)",
    "etalab-1.0": "Licence Ouverte 1.0 (Etalab)",
    "ODbL-1.0": "Open Database License 1.0",
    "CC-BY-4.0": "Creative Commons Attribution 4.0",
    "CC0-1.0": "Creative Commons Zero 1.0",
    "restricted": "Restricted: no public output",
}
_ISO_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)


class _Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Nature(_Criterion):
    """C1: what the entities are."""

    feature_class: str  # the class of entities, in the producer's vocabulary
    geometry_type: Literal[
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "Raster",
        "PointCloud",
        "None",  # an attribute table joined to geometries by a code
    ]
    attributes: list[str]  # the attribute schema of the table
    definition: str | None = None
    inspire_theme: str | None = None


class Provenance(_Criterion):
    """C2: who produces it, from which dataset."""

    producer: str
    dataset: str
    identifier: str  # the producer's dataset identifier or catalogue URI
    lineage: str | None = None
    url: str | None = None


class Frequency(_Criterion):
    """C3: how often it is updated (ISO 8601 duration)."""

    update_frequency: str
    last_update: dt.date | None = None

    @field_validator("update_frequency")
    @classmethod
    def _iso_8601(cls, value: str) -> str:
        if not _ISO_DURATION.match(value):
            raise ValueError(f"{value!r} is not an ISO 8601 duration (e.g. P1Y, P3M, PT1H)")
        return value


class Origin(_Criterion):
    """C4: how the data is acquired."""

    acquisition_method: Literal[
        "lidar",
        "photogrammetry",
        "survey",
        "sensor",
        "census",
        "administrative",
        "model",
        "compilation",
    ]
    description: str | None = None


class Licence(_Criterion):
    """C5: under which licence it may be used."""

    licence: str
    attribution: str | None = None

    @field_validator("licence")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in LICENCES:
            raise ValueError(f"unknown licence {value!r}; expected one of {sorted(LICENCES)}")
        return value


class Extent(_Criterion):
    """C6: the territory it covers."""

    territory: str
    crs: str
    bbox: tuple[float, float, float, float] | None = None  # in `crs`

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        crs_of(value)
        return value


class Access(_Criterion):
    """C7: how it is obtained."""

    modality: Literal["open_download", "api", "restricted"]
    endpoint: str | None = None
    format: str | None = None

    @model_validator(mode="after")
    def _endpoint(self) -> Access:
        if self.modality != "restricted" and not self.endpoint:
            raise ValueError("an open download or an API declares its endpoint")
        return self


class Precision(_Criterion):
    """C8: how precise it is; at least one measure."""

    positional_accuracy_m: float | None = Field(default=None, gt=0)
    resolution_m: float | None = Field(default=None, gt=0)
    point_density_per_m2: float | None = Field(default=None, gt=0)
    scale: str | None = None
    # For tables: the spatial unit the figures refer to (e.g. "commune").
    statistical_unit: str | None = None

    @model_validator(mode="after")
    def _one_measure(self) -> Precision:
        measures = (
            self.positional_accuracy_m,
            self.resolution_m,
            self.point_density_per_m2,
            self.statistical_unit,
        )
        if all(m is None for m in measures):
            raise ValueError(
                "declare positional_accuracy_m, resolution_m, point_density_per_m2 "
                "or statistical_unit"
            )
        return self


class Quality(_Criterion):
    """C9: what the data must satisfy (checked by the quality suite)."""

    completeness: float = Field(ge=0, le=1)  # minimum share of non-null values per required column
    required_attributes: list[str]
    ranges: dict[str, tuple[float, float]] | None = None


class Standard(_Criterion):
    """C10: the format and standards it follows."""

    format: str  # as delivered
    standard: str  # as published by the lakehouse
    specification: str | None = None


class Criteria(_Criterion):
    c01_nature: Nature
    c02_provenance: Provenance
    c03_frequency: Frequency
    c04_origin: Origin
    c05_licence: Licence
    c06_extent: Extent
    c07_access: Access
    c08_precision: Precision
    c09_quality: Quality
    c10_standard: Standard

    @property
    def is_public(self) -> bool:
        return self.c05_licence.licence != "restricted" and self.c07_access.modality != "restricted"
