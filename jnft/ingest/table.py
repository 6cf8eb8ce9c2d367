"""Attribute tables without geometry (INSEE legal populations, registers keyed by a code):
typed as the fiche declares, prepared as history rows of the non-spatial tile `TABLE_TILE`, and
merged vintage by vintage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from jnft.formats.errors import Rejections
from jnft.formats.table import POLARS_TYPES, read_table
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.hashing import row_hash
from jnft.ingest.quarantine import quarantine_rows
from jnft.ingest.vintages import (
    IngestReport,
    PreparedLayer,
    VintageRows,
    merge_vintages,
    prepared_rows,
)
from jnft.lakehouse.store import Lakehouse

TABLE_TILE = "table"  # the single partition of a non-spatial concept


def prepare_table(
    frame: pl.DataFrame,
    columns: dict[str, str],
    rename: dict[str, str],
    id_column: str,
    *,
    source_name: str,
    source_sha256: str,
) -> PreparedLayer:
    """Typed rows keyed by `id_column`; values that do not cast, missing and duplicated ids
    are quarantined with the reason."""
    rejections = Rejections(frame.height)
    typed = {}
    for column, type_name in columns.items():
        text = frame[column].str.strip_chars()
        if type_name == "date":
            values = text.str.to_date(strict=False)
        else:
            values = text.cast(POLARS_TYPES[type_name], strict=False)
        rejections.add(
            (values.is_null() & text.is_not_null()).to_numpy(), f"{column}: not a {type_name}"
        )
        typed[rename.get(column, column)] = values.to_arrow()
    feature_id = typed[rename.get(id_column, id_column)].cast(pa.string())
    rejections.add(pc.is_null(feature_id).to_numpy(zero_copy_only=False), "missing identifier")
    duplicated = pl.from_arrow(feature_id).is_duplicated().to_numpy()
    rejections.add(duplicated, f"duplicate {id_column} in the source")
    rows = pa.table({"feature_id": feature_id, **typed}).filter(pa.array(~rejections.mask))
    hashed = [c for c in rows.column_names if c != "feature_id"]
    rows = rows.append_column("row_hash", row_hash(rows, hashed))
    n = rows.num_rows
    rows = rows.append_column("tile", pa.repeat(pa.scalar(TABLE_TILE), n))
    rows = rows.append_column("source_sha256", pa.repeat(pa.scalar(source_sha256), n))
    raw = frame.to_arrow().append_column("geometry", pa.nulls(frame.height, pa.binary()))
    quarantine = quarantine_rows(raw, feature_id, rejections, source_name, source_sha256)
    return PreparedLayer(rows, quarantine, 0)


@dataclass(frozen=True)
class TableSource:
    columns: dict[str, str]
    rename: dict[str, str]
    id_column: str
    delimiter: str
    encoding: str | None


def ingest_table(
    store: Lakehouse,
    concept: str,
    source: TableSource,
    entries: list[BronzeEntry],
    *,
    run_id: str,
    staged: bool = False,
) -> IngestReport:
    """Merge every landed vintage of an attribute table (one non-spatial partition)."""

    def read(entry: BronzeEntry) -> PreparedLayer:
        frame = read_table(
            Path(entry.bronze_path), list(source.columns), source.delimiter, source.encoding
        )
        return prepare_table(
            frame,
            source.columns,
            source.rename,
            source.id_column,
            source_name=entry.relative_path,
            source_sha256=entry.sha256,
        )

    def rows_of(
        files: list[BronzeEntry], wanted: Callable[[str], bool], report: IngestReport
    ) -> VintageRows:
        return prepared_rows(store, concept, files, read, report)

    return merge_vintages(store, concept, entries, None, run_id, rows_of, staged)
