"""Rows and files that cannot be kept: their reasons while a layer is prepared, and the
quarantine table where they land with the source record, so that nothing is silently dropped.
A whole file that cannot be read lands there as one row naming the file and the problem."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from deltalake import write_deltalake

from jnft.lakehouse.delta import ensure_table

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


class SourceFileError(ValueError):
    """A delivered file that cannot be used at all, with the file and the problem, against
    the criterion it fails (by default C10: not the declared format)."""

    def __init__(self, message: str, criterion: str = "c10_standard") -> None:
        super().__init__(message)
        self.criterion = criterion


def file_rejection(
    source_sha256: str, source_name: str, reason: str, criterion: str = "c10_standard"
) -> pa.Table:
    """The quarantine row of a whole file that could not be read (no feature id, no geometry)."""
    return pa.table(
        {
            "source_sha256": [source_sha256],
            "source_name": [source_name],
            "feature_id": [None],
            "reason": [reason],
            "criterion": [criterion],
            "record": [json.dumps({"file": source_name}, ensure_ascii=False)],
            "geometry": [None],
            "level": ["file"],
        },
        schema=QUARANTINE_SCHEMA,
    )


class Rejections:
    """Which rows are rejected and why; sparse, as rejections are few and rows many.
    The first reason given for a row is kept."""

    def __init__(self, rows: int) -> None:
        self.mask = np.zeros(rows, dtype=bool)
        self.reasons: dict[int, str] = {}
        self.criteria: dict[int, str] = {}

    def add(
        self, rows: np.ndarray, reason: str | list[str], criterion: str = "c09_quality"
    ) -> None:
        """Reject rows (a boolean mask or indices) with one reason, or one reason per row,
        against the criterion they fail."""
        index = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows)
        texts = [reason] * len(index) if isinstance(reason, str) else reason
        for i, text in zip(index.tolist(), texts, strict=True):
            if not self.mask[i]:
                self.reasons[i] = text
                self.criteria[i] = criterion
        self.mask[index] = True

    def __len__(self) -> int:
        return len(self.reasons)


def quarantine_rows(
    table: pa.Table, ids: pa.Array, rejections: Rejections, source_name: str, source_sha256: str
) -> pa.Table:
    """The rejected rows of a source table, with their reason and the record as JSON."""
    if not len(rejections):
        return QUARANTINE_SCHEMA.empty_table()
    bad = np.array(sorted(rejections.reasons), dtype=np.int64)
    records = table.drop_columns("geometry").take(bad).to_pylist()
    return pa.table(
        {
            "source_sha256": pa.repeat(pa.scalar(source_sha256, pa.string()), len(bad)),
            "source_name": pa.repeat(pa.scalar(source_name, pa.string()), len(bad)),
            "feature_id": ids.take(pa.array(bad)).cast(pa.string()),
            "reason": pa.array([rejections.reasons[i] for i in bad.tolist()], pa.string()),
            "criterion": pa.array([rejections.criteria[i] for i in bad.tolist()], pa.string()),
            "record": pa.array(
                [json.dumps(r, default=str, ensure_ascii=False) for r in records], pa.string()
            ),
            "geometry": table.column("geometry").take(bad).cast(pa.binary()),
            "level": pa.repeat(pa.scalar("row", pa.string()), len(bad)),
        },
        schema=QUARANTINE_SCHEMA,
    )


def write_quarantine(uri: str, rows: pa.Table, shas: list[str]) -> None:
    """Replace the quarantine rows of these source files (idempotent across re-runs)."""
    ensure_table(uri, QUARANTINE_SCHEMA)
    predicate = "source_sha256 IN (" + ", ".join(f"'{s}'" for s in shas) + ")"
    write_deltalake(uri, rows, mode="overwrite", predicate=predicate)


def reject_file(
    uri: str, source_sha256: str, source_name: str, reason: str, criterion: str = "c10_standard"
) -> None:
    """Quarantine a whole file (idempotent: replaces that file's earlier quarantine rows)."""
    write_quarantine(
        uri, file_rejection(source_sha256, source_name, reason, criterion), [source_sha256]
    )
