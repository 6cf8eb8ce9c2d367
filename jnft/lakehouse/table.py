"""Attribute tables without geometry (INSEE legal populations, registers keyed by a code):
read from delimited text with every code kept as text, typed as the fiche declares, and
prepared as history rows of the non-spatial tile `TABLE_TILE`."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from jnft.lakehouse.hashing import row_hash
from jnft.lakehouse.quarantine import Rejections, SourceFileError, quarantine_rows
from jnft.lakehouse.vector import PreparedLayer

TABLE_TILE = "table"  # the single partition of a non-spatial concept
POLARS_TYPES = {
    "string": pl.String,
    "int32": pl.Int32,
    "int64": pl.Int64,
    "float32": pl.Float32,
    "float64": pl.Float64,
    "bool": pl.Boolean,
}


def read_table(
    path: Path, columns: list[str], delimiter: str, encoding: str | None
) -> pl.DataFrame:
    """The declared columns, all as text: `01001` and `2A004` must not become numbers."""
    try:
        text = Path(path).read_bytes().decode(encoding or "utf-8")
    except UnicodeDecodeError as error:
        raise SourceFileError(
            f"{path}: not {encoding or 'UTF-8'} text ({error.reason} at byte {error.start}); "
            "declare source.encoding in the fiche (e.g. cp1252)"
        ) from error
    try:
        frame = pl.read_csv(io.StringIO(text), separator=delimiter, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as error:
        raise SourceFileError(f"{path}: not a readable delimited text file ({error})") from error
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise SourceFileError(f"{path}: columns {missing} not found in {frame.columns}")
    if frame.is_empty():
        raise SourceFileError(f"{path}: the table holds no row")
    return frame.select(columns)


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
