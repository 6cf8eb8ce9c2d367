"""History of a layer as slowly-changing dimension type 2, stored in two append-only Delta tables,
read back: the current rows, every version, the territory as of an instant.

`versions` holds one immutable row per version of a feature (`valid_from`, attributes, geometry).
`closures` holds one row per closed version: `(feature_id, valid_from) -> valid_to`.
A version's `valid_to` is its closure's, NULL while current. Nothing is ever rewritten in place:
delta-rs updates are copy-on-write, so closing 5 % of rows in place would rewrite every file that
holds one of them (all of them, for changes spread over a territory); appending a closure costs
a write proportional to the change (`ingest/scd2.py`). Both tables are partitioned by `tile` and
every read of the current state is scoped by a tile predicate.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import (
    DeltaTable,
)

from jnft.lakehouse.delta import frame_of, open_table

VERSION_KEY = ["feature_id", "valid_from"]


CLOSURE_SCHEMA = pa.schema(
    [
        ("feature_id", pa.string()),
        ("valid_from", pa.timestamp("us", tz="UTC")),
        ("valid_to", pa.timestamp("us", tz="UTC")),
        ("vintage", pa.date32()),
        ("tile", pa.string()),
        ("run_id", pa.string()),
    ]
)


# A merge notes its (run, tile, vintage) here as `begun` before it writes, and as `published`
# in one commit after its closures and versions: rows of a merge begun and never published (it
# died midway, or its audit refused it) are hidden from every reader. Most reads find none, and
# filter nothing.
COMMIT_KEY = ["run_id", "tile", "vintage"]
COMMITS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("tile", pa.string()),
        ("vintage", pa.date32()),
        ("state", pa.string()),  # begun | published
        ("committed_at", pa.timestamp("us", tz="UTC")),
    ]
)


def beside(versions_uri: str, table: str) -> str:
    """Another table of the layer whose `versions` these are (`commits`, `staged`)."""
    return versions_uri.rstrip("/").rsplit("/", 1)[0] + "/" + table


def commits_uri(versions_uri: str) -> str:
    return beside(versions_uri, "commits")


# Merges written but not published, seen by the run that stages them: (run_id, tile, vintage).
Pending = pl.DataFrame


def pending_keys(run_id: str, tiles: list[str], vintage: dt.date) -> Pending:
    return pl.DataFrame(
        {"run_id": [run_id] * len(tiles), "tile": tiles, "vintage": [vintage] * len(tiles)},
        schema={"run_id": pl.String, "tile": pl.String, "vintage": pl.Date},
    )


def _hidden(
    versions_uri: str, tiles: list[str] | None, pending: Pending | None = None
) -> pl.DataFrame | None:
    """The merges in the tiles begun and not published, but for the `pending` ones the caller
    stages; None when there is none (or the history is from before commits were kept)."""
    table = open_table(commits_uri(versions_uri))
    if table is None:
        return None
    notes = _read(table, [*COMMIT_KEY, "state"], tiles, None)
    begun = notes.filter(pl.col("state") == "begun").select(COMMIT_KEY)
    seen = notes.filter(pl.col("state") == "published").select(COMMIT_KEY)
    if pending is not None:
        seen = pl.concat([seen, pending.select(COMMIT_KEY)])
    hidden = begun.join(seen, on=COMMIT_KEY, how="anti").unique()
    return hidden if hidden.height else None


def vintage_timestamp(vintage: dt.date) -> dt.datetime:
    """The instant a vintage becomes valid: its date at 00:00 UTC."""
    return dt.datetime.combine(vintage, dt.time(), tzinfo=dt.UTC)


def _read(
    table: DeltaTable | None,
    columns: list[str],
    tiles: list[str] | None,
    hidden: pl.DataFrame | None,
) -> pl.DataFrame:
    """Columns of a table's rows within the tiles (partition pruning), but those of `hidden`
    merges, through Polars' parallel Parquet reader."""
    if table is None:
        return pl.DataFrame()
    frame = pl.scan_delta(table)
    if tiles is not None:
        frame = frame.filter(pl.col("tile").is_in(tiles))
    if hidden is not None:
        frame = frame.join(hidden.lazy(), on=COMMIT_KEY, how="anti")
    return frame.select(columns).collect()


def current_state(
    versions_uri: str,
    closures_uri: str,
    tiles: list[str] | None,
    pending: Pending | None = None,
) -> pl.DataFrame:
    """Open versions (feature_id, valid_from, row_hash, tile) within the tiles."""
    columns = ["feature_id", "valid_from", "row_hash", "tile"]
    hidden = _hidden(versions_uri, tiles, pending)
    versions = _read(open_table(versions_uri), columns, tiles, hidden)
    if versions.is_empty():
        return versions
    closures = _read(open_table(closures_uri), VERSION_KEY, tiles, hidden)
    if closures.is_empty():
        return versions
    return versions.join(closures, on=VERSION_KEY, how="anti")


def _max_vintage(table: DeltaTable | None, tiles: list[str]) -> dt.date | None:
    """Latest vintage in the tiles, from the files' statistics when every file has them."""
    if table is None:
        return None
    files = frame_of(pa.table(table.get_add_actions(flatten=True)))
    if "max.vintage" in files.columns and "partition.tile" in files.columns:
        files = files.filter(pl.col("partition.tile").is_in(tiles))
        if files["max.vintage"].null_count() == 0:
            # polars types a column's max as any Python scalar: these are Date columns
            return cast(dt.date | None, files["max.vintage"].max())
    frame = _read(table, ["vintage"], tiles, None)
    return None if frame.is_empty() else cast(dt.date, frame["vintage"].max())


def last_vintage(
    versions_uri: str, closures_uri: str, tiles: list[str], pending: Pending | None = None
) -> dt.date | None:
    """The latest vintage published (or staged by the caller, `pending`) in the tiles: a
    delivery held by its audit does not make an older one out of order."""
    hidden = _hidden(versions_uri, tiles, pending)
    if hidden is None:
        maxima = [_max_vintage(open_table(uri), tiles) for uri in (versions_uri, closures_uri)]
    else:
        frames = [
            _read(open_table(u), ["vintage"], tiles, hidden) for u in (versions_uri, closures_uri)
        ]
        maxima = [cast(dt.date, f["vintage"].max()) if f.height else None for f in frames]
    dates = [d for d in maxima if d is not None]
    return max(dates) if dates else None


def with_version_columns(
    rows: pa.Table, vintage: dt.date, valid_from: dt.datetime, run_id: str
) -> pa.Table:
    n = rows.num_rows
    extra = {
        "vintage": pa.repeat(pa.scalar(vintage, pa.date32()), n),
        "valid_from": pa.repeat(pa.scalar(valid_from, pa.timestamp("us", tz="UTC")), n),
        "run_id": pa.repeat(pa.scalar(run_id, pa.string()), n),
    }
    for name, values in extra.items():
        if name in rows.column_names:
            rows = rows.drop_columns(name)
        rows = rows.append_column(name, values)
    return rows


def history(
    versions_uri: str,
    closures_uri: str,
    tiles: list[str] | None = None,
    pending: Pending | None = None,
) -> pa.Table:
    """Every published version (and those `pending`) with its `valid_to` (NULL while
    current)."""
    versions = open_table(versions_uri)
    if versions is None:
        raise FileNotFoundError(f"no Delta table at {versions_uri}")
    hidden = _hidden(versions_uri, tiles, pending)
    table = _read(versions, [f.name for f in versions.schema().fields], tiles, hidden)
    closures = _read(open_table(closures_uri), [*VERSION_KEY, "valid_to"], tiles, hidden)
    if closures.is_empty():
        table = table.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("valid_to"))
    else:
        table = table.join(closures, on=VERSION_KEY, how="left")
    return table.to_arrow()


def as_of(history_table: pa.Table, instant: dt.datetime) -> pa.Table:
    """The rows valid at an instant: valid_from <= instant < valid_to (or still open)."""
    frame = frame_of(history_table)
    instant = instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)
    return frame.filter(
        (pl.col("valid_from") <= instant)
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") > instant))
    ).to_arrow()


def current(
    versions_uri: str,
    closures_uri: str,
    tiles: list[str] | None = None,
    pending: Pending | None = None,
) -> pa.Table:
    """The current rows (open versions) within the tiles, without `valid_to`."""
    rows = history(versions_uri, closures_uri, tiles, pending)
    return rows.filter(pc.is_null(rows["valid_to"])).drop_columns("valid_to")
