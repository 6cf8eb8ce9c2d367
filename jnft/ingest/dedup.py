"""Series rows before they are appended: repeats of a (station, variable, time) collapsed when
identical, quarantined when they differ."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from jnft.ingest.quarantine import QUARANTINE_SCHEMA, quarantine_table
from jnft.lakehouse.observations import KEY


def deduplicate(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows with each key once, rows of keys repeated with different values).

    Exact repeats collapse (a certain repair); a key whose values disagree cannot be
    resolved and all its rows are returned for quarantine.
    """
    distinct = rows.unique(subset=[*KEY, "value", "quality"], maintain_order=True)
    conflicting = distinct.filter(pl.len().over(KEY) > 1)
    return distinct.filter(pl.len().over(KEY) == 1), conflicting


def quarantine_series_rows(
    rows: pl.DataFrame, reason: str, source_sha256: str, source_name: str, criterion: str
) -> pa.Table:
    """Quarantine rows with one reason, or a `reason` column per row; a `record` column holds
    the raw record already, else the row is the record."""
    if rows.is_empty():
        return QUARANTINE_SCHEMA.empty_table()
    reasons = rows["reason"].to_list() if "reason" in rows.columns else [reason] * rows.height
    records = rows["record"].to_list() if "record" in rows.columns else rows.to_dicts()
    return quarantine_table(
        source_sha256,
        source_name,
        [f"{source_name}: {r}" for r in reasons],
        [criterion] * rows.height,
        records,
    )
