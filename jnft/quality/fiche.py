"""The fiche of a geo-concept (`concepts/<id>.yaml`): typed model and loading with clear errors.

A fiche says what a layer is (identity, role), where it comes from (source) and how to read it
(its kind's section, see `jnft/kinds/`). `criteria` holds the 10 criteria C1..C10, each a
mapping of fields.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jnft.formats.geometry import crs_of
from jnft.kinds import KINDS
from jnft.quality.criteria import Criteria

CRITERIA = tuple(Criteria.model_fields)
# The roles a concept can fill for the models: the columns (keys of the role) each must map,
# then those it may map (a missing one is estimated, and the estimate flagged, by the model).
ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "terrain": ((), ()),
    "watercourses": ((), ()),
    "buildings": ((), ("dwellings", "height")),
    "residents": (("count",), ()),
    "admin_units": (("code", "name"), ("population",)),
    "equipment": (("category",), ("nature",)),
    # A table of populations by admin unit code (INSEE), joined to the admin units.
    "populations": (("code", "count"), ()),
}


def role_keys(role: str) -> str:
    """How a role is declared, for messages: `code: <column>, name: <column>[, …]`."""
    required, optional = ROLES[role]
    keys = [f"{k}: <column>" for k in required] + [f"[{k}: <column>]" for k in optional]
    return ", ".join(keys) or "(nothing)"


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
    format: str  # one of a kind's formats (`jnft/kinds/`)
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


class Fiche(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str
    role: Literal["calcul", "contextualisation"]
    kind: str
    group: Literal["territory_layers"] = "territory_layers"
    theme: str
    owners: list[str] = Field(default_factory=lambda: ["team:geodata"])
    tiled: bool = True
    source: SourceSpec
    # The kind's own section (`vector:`, `raster:`…), validated by the kind's spec model.
    spec: BaseModel
    # Roles the concept fills for the models: role -> {role key: column}.
    roles: dict[str, dict[str, str]] = Field(default_factory=dict)
    criteria: Criteria

    @model_validator(mode="before")
    @classmethod
    def _kind_section(cls, data: object) -> object:
        """Move the kind's section into `spec`, validated by that kind's model."""
        if not isinstance(data, dict):
            return data
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if not isinstance(data.get(kind), dict):
            raise ValueError(f"a {kind} concept needs a `{kind}` section (a mapping)")
        others = [k for k in KINDS if k != kind and k in data]
        if others:
            raise ValueError(f"a {kind} concept has no `{others[0]}` section")
        try:
            spec = KINDS[kind].spec.model_validate(data[kind])
        except ValidationError as error:
            raise ValueError(
                "; ".join(
                    f"{kind}.{'.'.join(str(p) for p in e['loc']) or '(all fields)'}: {e['msg']}"
                    for e in error.errors()
                )
            ) from None
        return {**{k: v for k, v in data.items() if k != kind}, "spec": spec}

    @model_validator(mode="after")
    def _kind_agrees(self) -> Fiche:
        kind = KINDS[self.kind]
        if self.source.format not in kind.formats:
            raise ValueError(
                f"source.format {self.source.format!r} is not read as {self.kind}; "
                f"use one of {', '.join(kind.formats)}"
            )
        if self.tiled and not kind.tileable:
            raise ValueError(f"a {self.kind} concept is not tiled (tiled: false)")
        declared = self.criteria.c01_nature.geometry_type
        if declared not in kind.geometry_types:
            raise ValueError(
                f"criteria.c01_nature.geometry_type of a {self.kind} concept is one of "
                f"{', '.join(kind.geometry_types)}, not {declared!r}"
            )
        kind.check(self)
        for role, columns in self.roles.items():
            if role not in ROLES:
                raise ValueError(f"roles: unknown role {role!r}; known: {', '.join(ROLES)}")
            required, optional = ROLES[role]
            if not set(required) <= set(columns) <= set(required) | set(optional):
                raise ValueError(f"roles.{role} maps {role_keys(role)}")
            unknown = sorted(set(columns.values()) - set(self.criteria.c01_nature.attributes))
            if unknown:
                raise ValueError(
                    f"roles.{role}: columns {unknown} are not in criteria.c01_nature.attributes"
                )
        missing = sorted(
            set(self.criteria.c09_quality.required_attributes)
            - set(self.criteria.c01_nature.attributes)
        )
        if missing:
            raise ValueError(
                f"criteria.c09_quality.required_attributes {missing} are not in c01_nature"
            )
        return self

    @property
    def patterns(self) -> list[str]:
        """The file patterns of the source this concept reads: its deliveries, and the files
        that travel with them (e.g. the gaugings of a series' rating curve)."""
        return [self.source.pattern, *KINDS[self.kind].companion_patterns(self)]

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
    """Every fiche of a folder, sorted by id; sources shared by several fiches (each reading
    its own files of the delivery, by its pattern) must agree on vintages and producer."""
    fiches = [load_fiche(p) for p in sorted(Path(folder).glob("*.yaml"))]
    by_source: dict[str, Fiche] = {}
    for fiche in fiches:
        other = by_source.setdefault(fiche.source.name, fiche)
        if (other.source.vintage_pattern, other.source.producer) != (
            fiche.source.vintage_pattern,
            fiche.source.producer,
        ):
            raise FicheError(
                f"concepts {other.id} and {fiche.id} share source {fiche.source.name!r} but "
                "declare different vintage patterns or producers: give one of them its own "
                "`source.name`"
            )
    return fiches


def filling(fiches: list[Fiche], role: str, required: bool = True) -> Fiche | None:
    """The one concept that fills a role (None when none does and the role is optional),
    with a fix when none or several do."""
    found = [f for f in fiches if role in f.roles]
    if not found and not required:
        return None
    if not found:
        raise FicheError(
            f"no concept fills the role {role!r}: add `roles: {{{role}: {{{role_keys(role)}}}}}` "
            "to the fiche of the layer that holds it"
        )
    if len(found) > 1:
        raise FicheError(
            f"concepts {', '.join(f.id for f in found)} all fill the role {role!r}: keep one"
        )
    return found[0]
