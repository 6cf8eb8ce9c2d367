"""The SCD type 2 merge of a vintage into a layer's history (`versions` + `closures`, see
`lakehouse/history.py`): unchanged rows stay, changed rows are closed and re-opened, removed
rows closed, new rows inserted, scoped by tile. Nothing is rewritten in place: a 5 % change
costs a 5 % write."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
from deltalake import (
    ColumnProperties,
    CommitProperties,
    DeltaTable,
    WriterProperties,
    write_deltalake,
)

from jnft.ingest.staging import Incoming, TableRows
from jnft.lakehouse.delta import ensure_table, open_table
from jnft.lakehouse.history import (
    CLOSURE_SCHEMA,
    COMMITS_SCHEMA,
    VERSION_KEY,
    Pending,
    beside,
    commits_uri,
    current_state,
    last_vintage,
    pending_keys,
    vintage_timestamp,
    with_version_columns,
)
from jnft.lakehouse.swap import commit_point

REQUIRED_COLUMNS = ("feature_id", "row_hash", "tile")
# Rows written per commit of the versions (see `_groups`): the Delta writer buffers about
# 400 MB per million rows of a commit.
GROUP_ROWS = 250_000
_NO_CLOSURES = pl.DataFrame(
    schema={"feature_id": pl.String, "valid_from": pl.Datetime("us", "UTC"), "tile": pl.String}
)


class VintageOrderError(ValueError):
    """A vintage older than one already merged, or a conflicting re-delivery of the same vintage."""


@dataclass(frozen=True)
class MergeResult:
    vintage: dt.date
    tiles: tuple[str, ...]
    inserted: int
    changed: int
    closed: int
    unchanged: int
    versions_version: int | None
    closures_version: int | None

    @property
    def is_noop(self) -> bool:
        return self.inserted == 0 and self.changed == 0 and self.closed == 0


STAGED_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("tile", pa.string()),
        ("vintage", pa.date32()),
        ("reasons", pa.string()),
        ("staged_at", pa.timestamp("us", tz="UTC")),
    ]
)


# Statistics only where they prune files: ids, time and the bbox (not WKB geometries).
STATS_COLUMNS = "feature_id,valid_from,vintage,bbox_xmin,bbox_ymin,bbox_xmax,bbox_ymax"
# Unique values: a dictionary page is wasted work on geometries, ids and hashes.
_PLAIN = ColumnProperties(dictionary_enabled=False)
WRITER = WriterProperties(
    compression="ZSTD",
    compression_level=1,
    column_properties={
        "geometry": ColumnProperties(dictionary_enabled=False, statistics_enabled="NONE"),
        "feature_id": _PLAIN,
        "row_hash": _PLAIN,
    },
)


def _append(uri: str, data: pa.Table | pa.RecordBatchReader, vintage: dt.date, run_id: str) -> int:
    write_deltalake(
        uri,
        data,
        mode="append",
        partition_by=["tile"],
        writer_properties=WRITER,
        configuration={"delta.dataSkippingStatsColumns": STATS_COLUMNS},
        commit_properties=CommitProperties(
            custom_metadata={"jnft.vintage": vintage.isoformat(), "jnft.run_id": run_id}
        ),
    )
    return DeltaTable(uri).version()


def _keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Two independent 64-bit hashes of feature_id: joining on integers is far cheaper than on
    strings, and the second hash confirms each match (a 128-bit check). Polars' hash is not
    stable across versions: these keys live in memory only, never in a table."""
    return frame.select(
        pl.col("feature_id").hash(seed=2154).alias("key"),
        pl.col("feature_id").hash(seed=4326).alias("check"),
        "row_hash",
    )


def _match(incoming: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame | None:
    """Full join of row numbers on feature_id: columns row (incoming), crow (current),
    row_hash, row_hash_current. None when the integer keys cannot be trusted."""
    left = _keys(incoming).with_row_index("row")
    right = _keys(current).with_row_index("crow")
    joined = left.join(right, on="key", how="full", coalesce=True, suffix="_current")
    both = joined.filter(pl.col("row").is_not_null() & pl.col("crow").is_not_null())
    if (both["check"] != both["check_current"]).any():
        return None
    return joined.select("row", "crow", "row_hash", "row_hash_current")


def _match_strings(incoming: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """The same join on the feature_id strings (slow path: duplicates or a hash collision)."""
    return (
        incoming.select("feature_id", "row_hash")
        .with_row_index("row")
        .join(
            current.select("feature_id", "row_hash").with_row_index("crow"),
            on="feature_id",
            how="full",
            coalesce=True,
            suffix="_current",
        )
        .select("row", "crow", "row_hash", "row_hash_current")
    )


def _has_duplicates(ids: pl.Series) -> bool:
    """Whether some id repeats: a cheap test on 64-bit hashes, confirmed on the strings."""
    return ids.hash(seed=2154).n_unique() < len(ids) and ids.n_unique() < len(ids)


def _diff(
    incoming: pl.DataFrame,
    current: pl.DataFrame,
    close_removed: bool = True,
    unknown: Collection[str] = (),
) -> tuple[pl.Series, pl.DataFrame, dict]:
    """Row numbers of `incoming` to insert, versions to close, and the counts of each kind.
    A current feature absent from `incoming` is closed unless its id is `unknown` (delivered
    but unreadable: quarantined, not demolished)."""
    stale = current.clear()
    if _has_duplicates(current["feature_id"]):
        # A feature open twice (a move between tiles merged tile by tile): the newest wins and
        # the others are closed.
        newest = current.sort("valid_from", descending=True).unique("feature_id", keep="first")
        stale = current.join(newest, on=VERSION_KEY, how="anti")
        current = newest
    joined = _match(incoming, current)
    if joined is None:
        joined = _match_strings(incoming, current)
    held = np.flatnonzero(current["feature_id"].is_in(list(unknown)).to_numpy())
    joined = joined.with_columns(
        is_new=pl.col("crow").is_null(),
        is_removed=pl.col("row").is_null()
        & pl.lit(close_removed)
        & ~pl.col("crow").is_in(pl.Series(held, dtype=pl.UInt32).implode()),
        is_changed=pl.col("row").is_not_null()
        & pl.col("crow").is_not_null()
        & (pl.col("row_hash") != pl.col("row_hash_current")),
    )
    to_insert = joined.filter(pl.col("is_new") | pl.col("is_changed"))["row"]
    closing = joined.filter(pl.col("is_removed") | pl.col("is_changed"))["crow"]
    to_close = pl.concat(
        [
            current[closing.to_numpy()].select("feature_id", "valid_from", "tile"),
            stale.select("feature_id", "valid_from", "tile"),
        ]
    )
    flags = joined.select(pl.col("is_new", "is_changed", "is_removed").sum()).row(0)
    counts = {"inserted": flags[0], "changed": flags[1], "closed": flags[2] + stale.height}
    return to_insert, to_close, counts


def ensure_commits(versions_uri: str) -> None:
    """The `commits` and `staged` tables of a layer (a history kept before them has no merge
    begun and unpublished: all of it stays visible)."""
    ensure_table(beside(versions_uri, "staged"), STAGED_SCHEMA)
    ensure_table(commits_uri(versions_uri), COMMITS_SCHEMA, ["tile"])


def publish_merges(versions_uri: str, keys: Pending) -> None:
    """The one commit that makes staged merges' closures and versions visible."""
    if keys.height:
        _write_commits(commits_uri(versions_uri), keys, "published")
        commit_point("merge.published")


def hold_merges(staged_uri: str, keys: Pending, reasons: list[str]) -> None:
    """Record staged merges refused by their audit, with the reasons (the `_staged` view)."""
    rows = keys.with_columns(
        pl.lit("; ".join(reasons)).alias("reasons"),
        pl.lit(dt.datetime.now(dt.UTC)).alias("staged_at"),
    )
    table = rows.to_arrow().select(STAGED_SCHEMA.names).cast(STAGED_SCHEMA)
    write_deltalake(staged_uri, table, mode="append")


def _write_commits(uri: str, keys: Pending, state: str) -> None:
    table = keys.with_columns(
        pl.lit(state).alias("state"), pl.lit(dt.datetime.now(dt.UTC)).alias("committed_at")
    ).to_arrow()
    write_deltalake(
        uri,
        table.select(COMMITS_SCHEMA.names).cast(COMMITS_SCHEMA),
        mode="append",
        partition_by=["tile"],
    )


def _incoming(rows: pa.Table | Incoming) -> Incoming:
    """The rows of a vintage, refused when system columns lack or ids repeat."""
    incoming = TableRows(rows) if isinstance(rows, pa.Table) else rows
    missing = [c for c in REQUIRED_COLUMNS if c not in incoming.schema.names]
    if missing:
        raise ValueError(f"rows lack the system columns {missing}")
    duplicated = incoming.duplicated_ids()
    if len(duplicated):
        raise ValueError(
            f"{len(duplicated)} feature_id values are duplicated in the vintage "
            f"(e.g. {duplicated.head(3).to_list()}); quarantine duplicates before merging"
        )
    return incoming


def _merge_scope(counts: dict[str, int], versions_uri: str, tiles: list[str] | None) -> list[str]:
    """The tiles a merge covers (by default the vintage's and the table's); every incoming row
    must lie in them."""
    if tiles is None:
        versions_table = open_table(versions_uri)
        existing = (
            []
            if versions_table is None
            else sorted({p["tile"] for p in versions_table.partitions()})
        )
        tiles = sorted(set(counts) | set(existing))
    outside = sorted(set(counts) - set(tiles))
    if outside:
        raise ValueError(
            f"{sum(counts[t] for t in outside)} rows fall in tiles outside the merge scope "
            f"{tiles}: {outside[:5]}"
        )
    return tiles


def _groups(counts: dict[str, int]) -> list[list[str]]:
    """Tiles in groups of about `GROUP_ROWS` rows, each group written in one commit: the
    Delta writer holds every file of a commit open until its end, so a commit's size bounds
    the memory of a merge; a tile stays in one group (one file per tile and merge)."""
    groups: list[list[str]] = [[]]
    size = 0
    for tile in sorted(counts):
        if size and size + counts[tile] > GROUP_ROWS:
            groups.append([])
            size = 0
        groups[-1].append(tile)
        size += counts[tile]
    return [g for g in groups if g]


def merge_vintage(
    versions_uri: str,
    closures_uri: str,
    rows: pa.Table | Incoming,
    vintage: dt.date,
    *,
    tiles: list[str] | None = None,
    run_id: str = "",
    complete: bool = True,
    unknown: Collection[str] = (),
    publish: bool = True,
    pending: Pending | None = None,
) -> MergeResult:
    """Merge a full snapshot of the layer over `tiles` (default: its tiles and the table's).

    Unchanged rows stay; changed rows get their version closed and a new one opened; rows absent
    from the snapshot are closed; new rows are inserted. A re-run of the same vintage is a no-op.
    An incomplete snapshot (a file of the delivery quarantined) closes nothing for absence:
    the features of the missing file are unknown, not removed; nor are the `unknown` ids, the
    delivered rows that were quarantined.

    With `publish` False the merge is written but stays staged: the caller publishes it
    (`publish_merges`) once audited. `pending` are merges of the same run staged before this
    one, which it builds on.
    """
    incoming = _incoming(rows)
    counts_in = incoming.tile_counts()
    tiles = _merge_scope(counts_in, versions_uri, tiles)
    ensure_commits(versions_uri)
    last = last_vintage(versions_uri, closures_uri, tiles, pending)
    if last is not None and vintage < last:
        raise VintageOrderError(
            f"vintage {vintage} is older than vintage {last} already merged in tiles {tiles}: "
            "merge vintages in chronological order"
        )

    valid_from = vintage_timestamp(vintage)
    current = current_state(versions_uri, closures_uri, tiles, pending)
    if current.is_empty():  # a first load: everything is new; no key to read, nothing to join
        to_insert: np.ndarray | None = None
        inserted = counts_in
        to_close = _NO_CLOSURES
        counts = {"inserted": sum(counts_in.values()), "changed": 0, "closed": 0}
    else:
        keys = incoming.keys()
        rows_in, to_close, counts = _diff(keys, current, complete, unknown)
        chosen = keys[rows_in.sort().to_numpy()]
        to_insert = chosen["row"].to_numpy()
        tally = chosen["tile"].value_counts()
        inserted = dict(zip(tally["tile"].to_list(), tally["count"].to_list(), strict=True))
    same_vintage = to_close.filter(pl.col("valid_from") == valid_from)
    if len(same_vintage):
        raise VintageOrderError(
            f"vintage {vintage} was already merged with different content for "
            f"{len(same_vintage)} features (e.g. {same_vintage['feature_id'].head(3).to_list()}); "
            "merge a correction as a new vintage"
        )

    unchanged = sum(counts_in.values()) - counts["inserted"] - counts["changed"]
    closures_version = versions_version = None
    # Begun, closures, versions, then published: readers hide a merge begun and not published,
    # so a merge killed between its commits is never seen, and its re-run (a new run id) starts
    # again from the published state.
    keys = pending_keys(run_id, tiles, vintage)
    writes = bool(
        to_close.height or counts["inserted"] + counts["changed"]
    )  # a merge that changes nothing commits nothing
    if writes:
        _write_commits(commits_uri(versions_uri), keys, "begun")
        commit_point("merge.begun")
    if to_close.height:
        closures = to_close.with_columns(
            pl.lit(valid_from).cast(pl.Datetime("us", "UTC")).alias("valid_to"),
            pl.lit(vintage).alias("vintage"),
            pl.lit(run_id).alias("run_id"),
        ).select(CLOSURE_SCHEMA.names)
        closures_version = _append(
            closures_uri, closures.to_arrow().cast(CLOSURE_SCHEMA), vintage, run_id
        )
        commit_point("closures.appended")
    if counts["inserted"] + counts["changed"]:
        for group in _groups(inserted):
            new_rows = (
                with_version_columns(batch, vintage, valid_from, run_id)
                for batch in incoming.batches(group, to_insert)
            )
            first = next(new_rows, None)
            if first is None:
                continue
            reader = pa.RecordBatchReader.from_batches(
                first.schema,
                (b for t in itertools.chain([first], new_rows) for b in t.to_batches()),
            )
            versions_version = _append(versions_uri, reader, vintage, run_id)
        commit_point("versions.appended")
    ensure_table(closures_uri, CLOSURE_SCHEMA, ["tile"])
    if publish and writes:
        publish_merges(versions_uri, keys)
    return MergeResult(
        vintage,
        tuple(tiles),
        counts["inserted"],
        counts["changed"],
        counts["closed"],
        unchanged,
        versions_version,
        closures_version,
    )
