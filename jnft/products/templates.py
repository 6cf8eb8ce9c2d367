"""The product catalog: one YAML template per product and version (`catalog/*.yaml`), holding
how its files are recognized and the fiche body of each layer it yields, typed and loaded."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CATALOG_DIR = Path(__file__).parent / "catalog"


class CatalogError(ValueError):
    """A product template that cannot be used, with the file and the field at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _regex(value: str) -> str:
    re.compile(value)
    return value


class LayerTemplate(_Strict):
    """One layer a product yields: which files (or GeoPackage layer) and its fiche body."""

    id: str  # concept id; may hold `{resolution}`
    file: str | None = None  # regex on the delivery-relative path; else the product's
    glob: str | None = None  # file-name glob when delivered names differ; else the product's
    layer: str | None = None  # GeoPackage layer name
    source: str | None = None  # source.name; else the product's
    encoding: str | None = None  # of DBF text when no .cpg says it
    priority: int = 0  # among concepts that could fill the same role, the highest keeps it
    fiche: dict[str, Any]


class ProductTemplate(_Strict):
    """How one product's files are recognized, and the layers they yield."""

    product: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    format: str  # a kind's source format
    path: str  # regex (case-insensitive) a file's delivery-relative path must match
    file: str | None = None  # default of the layers'
    glob: str | None = None
    source: str | None = None
    vintage: list[str]  # regexes with one group (the date), tried in order, on the path
    crs: str | None = None  # assumed when a file carries no CRS
    crs_names: dict[str, str] = Field(default_factory=dict)  # path regex -> CRS it states
    territory: str | None = None  # regex whose group names the territory (département)
    defaults: dict[str, Any] = Field(default_factory=dict)  # fiche body shared by the layers
    layers: list[LayerTemplate]

    @field_validator("path", "file", "territory")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return _regex(value) if value is not None else None

    @field_validator("vintage")
    @classmethod
    def _one_group(cls, values: list[str]) -> list[str]:
        for value in values:
            if re.compile(value).groups != 1:
                raise ValueError(f"vintage regex {value!r} needs exactly one group (the date)")
        return values

    def file_of(self, layer: LayerTemplate) -> str:
        return layer.file or self.file or "$"

    def glob_of(self, layer: LayerTemplate) -> str:
        return layer.glob or self.glob or "*"

    def source_of(self, layer: LayerTemplate) -> str:
        name = layer.source or self.source
        if name is None:
            raise CatalogError(f"{self.product}: layer {layer.id} names no source")
        return name


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on `base`, mappings merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_template(path: Path) -> ProductTemplate:
    """One template, naming the file and the field in any error."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return ProductTemplate.model_validate(data)
    except yaml.YAMLError as error:
        raise CatalogError(f"{path}: not valid YAML: {error}") from error
    except ValidationError as error:
        problems = "; ".join(
            ".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in error.errors()
        )
        raise CatalogError(f"{path}: {problems}") from error


@cache
def load_catalog(folder: Path = CATALOG_DIR) -> tuple[ProductTemplate, ...]:
    """Every template of the catalog, in file-name order (the order recognition tries)."""
    templates = tuple(load_template(p) for p in sorted(Path(folder).glob("*.yaml")))
    seen: dict[str, str] = {}
    for template in templates:
        for layer in template.layers:
            source = template.source_of(layer)
            owner = seen.setdefault(source, template.product)
            if owner != template.product:
                raise CatalogError(
                    f"{folder}: source {source!r} is declared by {owner} and {template.product}"
                )
    return templates
