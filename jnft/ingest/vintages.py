"""Bronze to silver for one concept, whatever its kind: each landed vintage, in order, merged
into the concept's history for the requested tiles; unreadable files and rejected rows to
quarantine; every merge logged (`merges`), so that a re-run merges nothing twice."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from jnft.formats.errors import SourceFileError
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.quarantine import QUARANTINE_SCHEMA, reject_file, write_quarantine
from jnft.ingest.scd2 import MergeResult, ensure_commits, merge_vintage
from jnft.ingest.staging import Incoming, SpooledRows, TableRows
from jnft.lakehouse.delta import ensure_table, frame_of, open_table
from jnft.lakehouse.history import COMMIT_KEY, Pending, commits_uri, pending_keys
from jnft.lakehouse.store import Lakehouse

MERGES_SCHEMA = pa.schema(
    [
        ("tile", pa.string()),
        ("vintage", pa.date32()),
        ("sources", pa.string()),
        ("inserted", pa.int64()),
        ("changed", pa.int64()),
        ("closed", pa.int64()),
        ("unchanged", pa.int64()),
        ("run_id", pa.string()),
        ("merged_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass
class IngestReport:
    concept: str
    tiles: list[str] | None
    merges: list[MergeResult] = field(default_factory=list)
    skipped_vintages: list[str] = field(default_factory=list)
    quarantined: int = 0
    repaired: int = 0
    rejected_files: list[str] = field(default_factory=list)  # "file: reason"
    incomplete_vintages: list[str] = field(default_factory=list)
    staged: list[Pending] = field(default_factory=list)  # merges written, not yet published

    def pending(self) -> Pending | None:
        return pl.concat(self.staged) if self.staged else None

    def totals(self) -> dict[str, int]:
        return {
            "inserted": sum(m.inserted for m in self.merges),
            "changed": sum(m.changed for m in self.merges),
            "closed": sum(m.closed for m in self.merges),
        }


def _by_vintage(entries: list[BronzeEntry]) -> list[tuple[dt.date, list[BronzeEntry]]]:
    """The landed files of each vintage; a file delivered again at the same path (a corrected
    delivery) supersedes the one landed before it."""
    # Sorting is stable: files landed in the same second keep the manifest's landing order.
    latest = {e.relative_path: e for e in sorted(entries, key=lambda e: e.landed_at)}
    ordered = sorted(latest.values(), key=lambda e: (e.vintage, e.relative_path))
    return [
        (dt.date.fromisoformat(v), list(group))
        for v, group in itertools.groupby(ordered, key=lambda e: e.vintage)
    ]


def sources_key(files: list[BronzeEntry]) -> str:
    return ",".join(sorted(e.sha256 for e in files))


def merged_already(store: Lakehouse, concept: str) -> set[tuple[str, str, str]]:
    """(tile, vintage, sources) triples already merged: the idempotency log. A merge that was
    staged and never published (refused by its audit, or killed) is not merged: a re-run
    tries it again."""
    uri = store.table_uri(concept, "merges")
    if not DeltaTable.is_deltatable(uri):
        return set()
    log = frame_of(DeltaTable(uri).to_pyarrow_table())
    commits = open_table(commits_uri(store.table_uri(concept, "versions")))
    if commits is not None:
        notes = frame_of(commits.to_pyarrow_table(columns=[*COMMIT_KEY, "state"]))
        published = notes.filter(pl.col("state") == "published").select(COMMIT_KEY)
        wrote = pl.col("inserted") + pl.col("changed") + pl.col("closed") > 0
        log = pl.concat(
            [log.filter(~wrote), log.filter(wrote).join(published, on=COMMIT_KEY, how="semi")]
        )
    return {
        (r["tile"], r["vintage"].isoformat(), r["sources"])
        for r in log.select("tile", "vintage", "sources").iter_rows(named=True)
    }


def _log_merge(
    store: Lakehouse, concept: str, result: MergeResult, sources: str, run_id: str
) -> None:
    now = dt.datetime.now(dt.UTC)
    n = len(result.tiles)
    counts = {
        "inserted": result.inserted,
        "changed": result.changed,
        "closed": result.closed,
        "unchanged": result.unchanged,
    }
    # Counts are per merge, recorded on each tile row of that merge.
    rows = pa.table(
        {
            "tile": list(result.tiles),
            "vintage": [result.vintage] * n,
            "sources": [sources] * n,
            **{k: [v] * n for k, v in counts.items()},
            "run_id": [run_id] * n,
            "merged_at": [now] * n,
        },
        schema=MERGES_SCHEMA,
    )
    write_deltalake(store.table_uri(concept, "merges"), rows, mode="append")


def _existing_tiles(store: Lakehouse, concept: str) -> set[str]:
    uri = store.table_uri(concept, "versions")
    if not DeltaTable.is_deltatable(uri):
        return set()
    return {p["tile"] for p in DeltaTable(uri).partitions()}


@dataclass
class VintageRows:
    rows: pa.Table | Incoming
    complete: bool = True  # False when a file, or a row without its id, was quarantined
    unknown: frozenset[str] = frozenset()  # ids of rows quarantined: never closed for absence


# Builds the rows of one vintage from its files, for the tiles `wanted` accepts.
RowsOf = Callable[[list[BronzeEntry], Callable[[str], bool], IngestReport], VintageRows]


def merge_vintages(
    store: Lakehouse,
    concept: str,
    entries: list[BronzeEntry],
    tiles: list[str] | None,
    run_id: str,
    rows_of: RowsOf,
    staged: bool = False,
) -> IngestReport:
    """Merge each landed vintage, oldest first, into the tiles where it is not yet merged;
    `staged` merges are written unpublished (see `IngestReport.staged`) for an audit."""
    report = IngestReport(concept, tiles)
    done = merged_already(store, concept)
    ensure_table(store.table_uri(concept, "quarantine"), QUARANTINE_SCHEMA)
    ensure_commits(store.table_uri(concept, "versions"))
    for vintage, files in _by_vintage(entries):
        key = sources_key(files)

        def wanted(tile: str, vintage: dt.date = vintage, key: str = key) -> bool:
            return (tiles is None or tile in tiles) and (tile, vintage.isoformat(), key) not in done

        if tiles is not None and not any(wanted(t) for t in tiles):
            report.skipped_vintages.append(vintage.isoformat())
            continue
        built = rows_of(files, wanted, report)
        try:
            result = _merge_built(
                store, concept, built, vintage, tiles, wanted, run_id, staged, report
            )
        finally:
            if isinstance(built.rows, SpooledRows):
                built.rows.close()
        if result is None:
            report.skipped_vintages.append(vintage.isoformat())
            continue
        if staged and not result.is_noop:
            report.staged.append(pending_keys(run_id, list(result.tiles), vintage))
        _log_merge(store, concept, result, key, run_id)
        report.merges.append(result)
    return report


def _merge_built(
    store: Lakehouse,
    concept: str,
    built: VintageRows,
    vintage: dt.date,
    tiles: list[str] | None,
    wanted: Callable[[str], bool],
    run_id: str,
    staged: bool,
    report: IngestReport,
) -> MergeResult | None:
    """Merge a vintage's rows into the tiles still wanting it (None: no tile does)."""
    rows = TableRows(built.rows) if isinstance(built.rows, pa.Table) else built.rows
    if not built.complete:
        report.incomplete_vintages.append(vintage.isoformat())
    scope = (
        tiles
        if tiles is not None
        else sorted(set(rows.tile_counts()) | _existing_tiles(store, concept))
    )
    pending = [t for t in scope if wanted(t)]
    if not pending:
        return None
    return merge_vintage(
        store.table_uri(concept, "versions"),
        store.table_uri(concept, "closures"),
        rows.within(pending),
        vintage,
        tiles=pending,
        run_id=run_id,
        complete=built.complete,
        unknown=built.unknown,
        publish=not staged,
        pending=report.pending(),
    )


T = TypeVar("T")


class _Prepared(Protocol):
    """A file's rows made ready to merge, beside the rows it rejected."""

    @property
    def quarantine(self) -> pa.Table: ...

    @property
    def repaired(self) -> int: ...


L = TypeVar("L", bound=_Prepared)


def readable_files(
    store: Lakehouse,
    concept: str,
    files: list[BronzeEntry],
    read: Callable[[BronzeEntry], T],
    report: IngestReport,
) -> list[tuple[BronzeEntry, T]]:
    """`read` each file; a file that cannot be used lands in quarantine with its reason and
    the others go on. Quarantine rows of the files read are for the caller to write."""
    done = []
    for entry in files:
        try:
            done.append((entry, read(entry)))
        except SourceFileError as error:
            reason = str(error).replace(entry.bronze_path, entry.relative_path)
            uri = store.table_uri(concept, "quarantine")
            reject_file(uri, entry.sha256, entry.relative_path, reason, error.criterion)
            report.rejected_files.append(reason)
            report.quarantined += 1
    return done


def prepared_rows(
    store: Lakehouse,
    concept: str,
    files: list[BronzeEntry],
    read: Callable[[BronzeEntry], PreparedLayer],
    report: IngestReport,
) -> VintageRows:
    """The rows of a vintage's readable files; their rejected rows to quarantine."""
    readable = readable_files(store, concept, files, read, report)
    prepared = _rejects_recorded(store, concept, readable, report)
    rows = (
        pa.concat_tables([p.rows for p in prepared], promote_options="permissive")
        if prepared
        else pa.table(
            {
                "feature_id": pa.array([], pa.string()),
                "row_hash": pa.array([], pa.int64()),
                "tile": pa.array([], pa.string()),
            }
        )
    )
    complete, unknown = _completeness(len(prepared), len(files), [p.quarantine for p in prepared])
    return VintageRows(rows, complete, unknown)


def _rejects_recorded(
    store: Lakehouse, concept: str, readable: list[tuple[BronzeEntry, L]], report: IngestReport
) -> list[L]:
    """The files' prepared layers, once their rejected rows are in quarantine and counted."""
    layers = [layer for _, layer in readable]
    if layers:
        write_quarantine(
            store.table_uri(concept, "quarantine"),
            pa.concat_tables([layer.quarantine for layer in layers]),
            [e.sha256 for e, _ in readable],
        )
    report.quarantined += sum(layer.quarantine.num_rows for layer in layers)
    report.repaired += sum(layer.repaired for layer in layers)
    return layers


def spooled_rows(
    store: Lakehouse,
    concept: str,
    files: list[BronzeEntry],
    spool: Callable[[BronzeEntry, SpooledRows], SpooledLayer],
    report: IngestReport,
) -> VintageRows:
    """The rows of a vintage's readable files, spooled file after file to scratch Parquet
    parts (`spool` prepares one file into them); their rejected rows to quarantine."""
    rows = SpooledRows()
    try:
        readable = readable_files(store, concept, files, lambda e: spool(e, rows), report)
    except BaseException:
        rows.close()
        raise
    layers = _rejects_recorded(store, concept, readable, report)
    return VintageRows(
        rows, *_completeness(len(layers), len(files), [q.quarantine for q in layers])
    )


def _completeness(
    readable: int, files: int, quarantines: list[pa.Table]
) -> tuple[bool, frozenset[str]]:
    """Whether a vintage is complete, and the ids of its quarantined rows. A quarantined row
    is unknown, not absent: its stored feature stays. A row without an id, or sharing its id
    with another, could be any feature: the vintage then closes nothing for absence."""
    ids = [i for q in quarantines for i in q["feature_id"].to_pylist()]
    unknown = frozenset(i for i in ids if i is not None)
    return readable == files and len(unknown) == len(ids), unknown


@dataclass(frozen=True)
class SpooledLayer:
    """What spooling a file left outside the spool: its quarantined rows and repair count."""

    quarantine: pa.Table
    repaired: int


@dataclass(frozen=True)
class PreparedLayer:
    rows: pa.Table
    quarantine: pa.Table
    repaired: int
