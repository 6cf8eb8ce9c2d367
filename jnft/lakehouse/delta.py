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
