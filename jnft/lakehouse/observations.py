"""Series observations in the lakehouse: the append-only `observations` Delta table (partitioned by
station and year) and its current values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
from deltalake import write_deltalake

from jnft.lakehouse.delta import ensure_table, frame_of, open_table


@dataclass(frozen=True)
class AppendResult:
    new: int
    revised: int
    unchanged: int
    delta_version: int | None


def current_observations(uri: str, stations: list[str] | None = None) -> pl.DataFrame:
    """The current value of each (station, variable, time): its latest ingested row."""
    table = open_table(uri)
    if table is None:
        return pl.DataFrame(schema=pl.Schema(frame_of(SERIES_SCHEMA.empty_table()).schema))
    scan = pl.scan_delta(uri)
    if stations is not None:
        scan = scan.filter(pl.col("station").is_in(stations))
    return scan.sort("ingested_at").group_by(KEY, maintain_order=True).last().sort(KEY).collect()


def append_observations(
    uri: str, rows: pl.DataFrame, source_sha256: str, run_id: str
) -> AppendResult:
    """Append what is new or revised (value or quality changed) for each key; nothing else."""
    ensure_table(uri, SERIES_SCHEMA, ["station", "year"])
    current = current_observations(uri, rows["station"].unique().to_list())
    joined = rows.join(
        current.select(*KEY, pl.col("value").alias("_v"), pl.col("quality").alias("_q")),
        on=KEY,
        how="left",
    )
    is_new = joined["_v"].is_null()
    same = (joined["_v"] == joined["value"]) & joined["_q"].eq_missing(joined["quality"])
    changed = ~is_new & ~same.fill_null(False)
    appended = joined.filter(is_new | changed).drop("_v", "_q")
    version = None
    if appended.height:
        now = dt.datetime.now(dt.UTC)
        table = appended.with_columns(
            pl.col("time").dt.year().cast(pl.Int32).alias("year"),
            pl.lit(source_sha256).alias("source_sha256"),
            pl.lit(run_id).alias("run_id"),
            pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("ingested_at"),
        ).select(SERIES_SCHEMA.names)
        write_deltalake(uri, table.to_arrow().cast(SERIES_SCHEMA), mode="append")
        written = open_table(uri)
        assert written is not None  # ensured above
        version = written.version()
    return AppendResult(
        int(is_new.sum()), int(changed.sum()), rows.height - appended.height, version
    )


SERIES_SCHEMA = pa.schema(
    [
        ("station", pa.string()),
        ("variable", pa.string()),
        ("time", pa.timestamp("us", tz="UTC")),
        ("value", pa.float64()),
        ("unit", pa.string()),
        ("quality", pa.string()),
        ("year", pa.int32()),  # partition column with station
        ("source_sha256", pa.string()),
        ("run_id", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)


KEY = ["station", "variable", "time"]
