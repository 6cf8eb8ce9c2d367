"""Small Delta Lake helpers shared by the lakehouse tables."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable


def ensure_table(uri: str, schema: pa.Schema, partition_by: list[str] | None = None) -> None:
    """Create an empty Delta table if none exists (views and scans need it to exist)."""
    if not DeltaTable.is_deltatable(uri):
        DeltaTable.create(uri, schema=schema, partition_by=partition_by, mode="ignore")


def open_table(uri: str) -> DeltaTable | None:
    return DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None


def frame_of(table: pa.Table) -> pl.DataFrame:
    """An Arrow table as a Polars frame (`pl.from_arrow` is typed to return a Series too)."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def holds_already(
    uri: str, rows: pa.Table, where: dict[str, list[str]], ignore: tuple[str, ...] = ()
) -> bool:
    """Whether the table's rows whose `where` columns take these values (every row when
    `where` is empty) are already `rows`, up to order and the `ignore` columns: a rewrite
    would then commit a version that changes nothing."""
    table = open_table(uri)
    if table is None:
        return False
    old = pl.scan_delta(table)
    for column, values in where.items():
        old = old.filter(pl.col(column).is_in(values))
    before = old.collect().drop(ignore, strict=False)
    after = frame_of(rows).drop(ignore, strict=False)
    if before.shape != after.shape or before.columns != after.columns:
        return False
    return before.sort(before.columns).equals(after.sort(after.columns))
