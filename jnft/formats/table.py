"""Delimited attribute tables (INSEE legal populations, registers keyed by a code) read with every
code kept as text."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from jnft.formats.errors import SourceFileError

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
