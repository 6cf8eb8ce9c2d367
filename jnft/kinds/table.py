"""Attribute-table concepts (INSEE legal populations, registers keyed by a code): no geometry,
one non-spatial partition, joined to geometries in SQL by their code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jnft.ingest.table import TableSource, ingest_table
from jnft.ingest.vintages import IngestReport
from jnft.kinds.base import Scope
from jnft.kinds.layered import LayeredKind
from jnft.kinds.vector import ColumnType, attributes_are_columns
from jnft.lakehouse.store import Lakehouse

if TYPE_CHECKING:
    from jnft.ingest.bronze import BronzeEntry
    from jnft.quality.fiche import Fiche


class TableSpec(BaseModel):
    """An attribute table without geometry, keyed by a code (e.g. the INSEE code)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_column: str
    columns: dict[str, ColumnType]
    rename: dict[str, str] = Field(default_factory=dict)
    delimiter: str = ","

    @model_validator(mode="after")
    def _identity(self) -> TableSpec:
        if self.id_column not in self.columns:
            raise ValueError(f"id_column {self.id_column!r} is not among columns")
        return self


class TableKind(LayeredKind[TableSpec]):
    name = "table"
    spec = TableSpec
    formats = ("CSV",)
    geometry_types = ("None",)
    methods = frozenset({"census", "administrative", "survey", "compilation", "model"})
    footprint = "none"
    view_columns = "v.*"

    def check(self, fiche: Fiche) -> None:
        spec = self.spec_of(fiche)
        attributes_are_columns(fiche, spec.columns, spec.rename)

    def merge(
        self, store: Lakehouse, fiche: Fiche, entries: list[BronzeEntry], scope: Scope
    ) -> IngestReport:
        t = self.spec_of(fiche)
        source = TableSource(
            dict(t.columns), dict(t.rename), t.id_column, t.delimiter, fiche.source.encoding
        )
        return ingest_table(
            store, fiche.id, source, entries, run_id=scope.run_id, staged=scope.audit
        )
