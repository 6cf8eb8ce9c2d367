"""Rows and files that cannot be kept: their reasons while a layer is prepared, and the
quarantine table where they land with the source record, so that nothing is silently dropped.
A whole file that cannot be read lands there as one row naming the file and the problem."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from deltalake import write_deltalake

from jnft.formats.errors import Rejections
from jnft.lakehouse.delta import ensure_table, holds_already

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source_sha256", pa.string()),
        ("source_name", pa.string()),
        ("feature_id", pa.string()),
        ("reason", pa.string()),
        ("criterion", pa.string()),  # the criterion the row fails: c01_nature, c06_extent...
        ("record", pa.string()),
        ("geometry", pa.binary()),
        ("level", pa.string()),  # "row", or "file" for a whole file that could not be read
    ]
)


def quarantine_table(
    source_sha256: str,
    source_name: str,
    reasons: list[str],
    criteria: list[str],
    records: list[dict],
    *,
    feature_ids: pa.Array | None = None,
    geometries: pa.Array | None = None,
    level: str = "row",
) -> pa.Table:
    """Quarantine rows of one source file: a reason, criterion and source record (kept as
    JSON) per row; no feature id or geometry unless given."""
    n = len(reasons)
    return pa.table(
        {
            "source_sha256": pa.repeat(pa.scalar(source_sha256, pa.string()), n),
            "source_name": pa.repeat(pa.scalar(source_name, pa.string()), n),
            "feature_id": pa.nulls(n, pa.string()) if feature_ids is None else feature_ids,
            "reason": pa.array(reasons, pa.string()),
            "criterion": pa.array(criteria, pa.string()),
            "record": pa.array(
                [json.dumps(r, default=str, ensure_ascii=False) for r in records], pa.string()
            ),
            "geometry": pa.nulls(n, pa.binary()) if geometries is None else geometries,
            "level": pa.repeat(pa.scalar(level, pa.string()), n),
        },
        schema=QUARANTINE_SCHEMA,
    )


def file_rejection(
    source_sha256: str, source_name: str, reason: str, criterion: str = "c10_standard"
) -> pa.Table:
    """The quarantine row of a whole file that could not be read (no feature id, no geometry)."""
    return quarantine_table(
        source_sha256, source_name, [reason], [criterion], [{"file": source_name}], level="file"
    )


def quarantine_rows(
    table: pa.Table, ids: pa.Array, rejections: Rejections, source_name: str, source_sha256: str
) -> pa.Table:
    """The rejected rows of a source table, with their reason and the record as JSON."""
    if not len(rejections):
        return QUARANTINE_SCHEMA.empty_table()
    bad = np.array(sorted(rejections.reasons), dtype=np.int64)
    return quarantine_table(
        source_sha256,
        source_name,
        [rejections.reasons[i] for i in bad.tolist()],
        [rejections.criteria[i] for i in bad.tolist()],
        table.drop_columns("geometry").take(bad).to_pylist(),
        feature_ids=ids.take(pa.array(bad)).cast(pa.string()),
        geometries=table.column("geometry").take(bad).cast(pa.binary()),
    )


def write_quarantine(uri: str, rows: pa.Table, shas: list[str]) -> None:
    """Replace the quarantine rows of these source files (idempotent across re-runs)."""
    ensure_table(uri, QUARANTINE_SCHEMA)
    if holds_already(uri, rows, {"source_sha256": shas}):
        return  # a re-run: nothing to commit
    predicate = "source_sha256 IN (" + ", ".join(f"'{s}'" for s in shas) + ")"
    write_deltalake(uri, rows, mode="overwrite", predicate=predicate)


def reject_file(
    uri: str, source_sha256: str, source_name: str, reason: str, criterion: str = "c10_standard"
) -> None:
    """Quarantine a whole file (idempotent: replaces that file's earlier quarantine rows)."""
    write_quarantine(
        uri, file_rejection(source_sha256, source_name, reason, criterion), [source_sha256]
    )
