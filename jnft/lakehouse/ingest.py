"""Bronze to silver for one concept: each landed vintage, in order, merged into the concept's
history for the requested tiles; rejected rows to quarantine; every merge logged."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import shapely
from deltalake import DeltaTable, write_deltalake

from jnft.lakehouse import raster
from jnft.lakehouse.bronze import BronzeEntry
from jnft.lakehouse.delta import ensure_table
from jnft.lakehouse.history import MergeResult, current_state, merge_vintage
from jnft.lakehouse.quarantine import (
    QUARANTINE_SCHEMA,
    SourceFileError,
    reject_file,
    write_quarantine,
)
from jnft.lakehouse.store import Lakehouse
from jnft.lakehouse.table import prepare_table, read_table
from jnft.lakehouse.tiles import tiles_covering
from jnft.lakehouse.vector import (
    BBOX_COLUMNS,
    LayerSpec,
    PreparedLayer,
    prepare_layer,
    read_vector,
)

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


@dataclass(frozen=True)
class VectorSource:
    format: str
    layer: str | None
    fallback_crs: str | None
    spec: LayerSpec
    encoding: str | None = None


@dataclass(frozen=True)
class RasterSource:
    fallback_crs: str | None
    resolution: float
    nodata: float
    dtype: str


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

    def totals(self) -> dict[str, int]:
        return {
            "inserted": sum(m.inserted for m in self.merges),
            "changed": sum(m.changed for m in self.merges),
            "closed": sum(m.closed for m in self.merges),
        }


def _by_vintage(entries: list[BronzeEntry]) -> list[tuple[dt.date, list[BronzeEntry]]]:
    ordered = sorted(entries, key=lambda e: (e.vintage, e.relative_path))
    return [
        (dt.date.fromisoformat(v), list(group))
        for v, group in itertools.groupby(ordered, key=lambda e: e.vintage)
    ]


def sources_key(files: list[BronzeEntry]) -> str:
    return ",".join(sorted(e.sha256 for e in files))


def merged_already(store: Lakehouse, concept: str) -> set[tuple[str, str, str]]:
    """(tile, vintage, sources) triples already merged: the idempotency log."""
    uri = store.table_uri(concept, "merges")
    if not DeltaTable.is_deltatable(uri):
        return set()
    log = DeltaTable(uri).to_pyarrow_table(columns=["tile", "vintage", "sources"]).to_pylist()
    return {(r["tile"], r["vintage"].isoformat(), r["sources"]) for r in log}


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


def raster_index_row(tile_info: raster.RasterTile, root: Path, sources: str) -> dict:
    footprint = shapely.box(*tile_info.bounds)
    return {
        "feature_id": tile_info.tile,
        "path": tile_info.path.relative_to(root).as_posix(),
        "crs": tile_info.crs,
        "resolution": tile_info.resolution,
        "nodata": tile_info.nodata,
        "width": tile_info.width,
        "height": tile_info.height,
        "valid_fraction": tile_info.valid_fraction,
        "valid_cells": tile_info.valid_cells,
        "minimum": tile_info.minimum,
        "maximum": tile_info.maximum,
        "mean": tile_info.mean,
        "geometry": shapely.to_wkb(footprint),
        **dict(zip(BBOX_COLUMNS, tile_info.bounds, strict=True)),
        "tile": tile_info.tile,
        # The first 64 bits of the content hash, as a signed int64 like every row_hash.
        "row_hash": int.from_bytes(
            bytes.fromhex(tile_info.content_sha256[:16]), "big", signed=True
        ),
        "source_sha256": sources,
    }


INDEX_SCHEMA = pa.schema(
    [
        ("feature_id", pa.string()),
        ("path", pa.string()),
        ("crs", pa.string()),
        ("resolution", pa.float64()),
        ("nodata", pa.float64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("valid_fraction", pa.float64()),
        ("valid_cells", pa.int64()),
        ("minimum", pa.float64()),
        ("maximum", pa.float64()),
        ("mean", pa.float64()),
        ("geometry", pa.binary()),
        *[(c, pa.float64()) for c in BBOX_COLUMNS],
        ("tile", pa.string()),
        ("row_hash", pa.int64()),
        ("source_sha256", pa.string()),
    ]
)


@dataclass
class VintageRows:
    rows: pa.Table
    complete: bool = True  # False when a file of the vintage was quarantined


# Builds the rows of one vintage from its files, for the tiles `wanted` accepts.
RowsOf = Callable[[list[BronzeEntry], Callable[[str], bool], IngestReport], VintageRows]


def merge_vintages(
    store: Lakehouse,
    concept: str,
    entries: list[BronzeEntry],
    tiles: list[str] | None,
    run_id: str,
    rows_of: RowsOf,
) -> IngestReport:
    """Merge each landed vintage, oldest first, into the tiles where it is not yet merged."""
    report = IngestReport(concept, tiles)
    done = merged_already(store, concept)
    ensure_table(store.table_uri(concept, "quarantine"), QUARANTINE_SCHEMA)
    for vintage, files in _by_vintage(entries):
        key = sources_key(files)

        def wanted(tile: str, vintage: dt.date = vintage, key: str = key) -> bool:
            return (tiles is None or tile in tiles) and (tile, vintage.isoformat(), key) not in done

        if tiles is not None and not any(wanted(t) for t in tiles):
            report.skipped_vintages.append(vintage.isoformat())
            continue
        built = rows_of(files, wanted, report)
        rows = built.rows
        if not built.complete:
            report.incomplete_vintages.append(vintage.isoformat())
        scope = (
            tiles
            if tiles is not None
            else sorted(set(rows["tile"].to_pylist()) | _existing_tiles(store, concept))
        )
        pending = [t for t in scope if wanted(t)]
        if not pending:
            report.skipped_vintages.append(vintage.isoformat())
            continue
        in_pending = pc.is_in(rows["tile"], pa.array(pending, pa.string()))
        if not pc.all(in_pending).as_py():
            rows = rows.filter(in_pending)
        result = merge_vintage(
            store.table_uri(concept, "versions"),
            store.table_uri(concept, "closures"),
            rows,
            vintage,
            tiles=pending,
            run_id=run_id,
            complete=built.complete,
        )
        _log_merge(store, concept, result, key, run_id)
        report.merges.append(result)
    return report


T = TypeVar("T")


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


def ingest_vector(
    store: Lakehouse,
    concept: str,
    source: VectorSource,
    entries: list[BronzeEntry],
    *,
    tiles: list[str] | None,
    run_id: str,
) -> IngestReport:
    """Merge every landed vintage not yet merged for the tiles (all tiles when None)."""

    def read(entry: BronzeEntry) -> PreparedLayer:
        raw = read_vector(
            Path(entry.bronze_path),
            source.format,
            layer=source.layer,
            columns=list(source.spec.columns),
            fallback_crs=source.fallback_crs,
            encoding=source.encoding,
        )
        return prepare_layer(
            raw, source.spec, source_path=Path(entry.original_name), source_sha256=entry.sha256
        )

    def rows_of(files: list[BronzeEntry], wanted, report: IngestReport) -> VintageRows:
        return _prepared_rows(store, concept, files, read, report)

    return merge_vintages(store, concept, entries, tiles, run_id, rows_of)


def _prepared_rows(
    store: Lakehouse,
    concept: str,
    files: list[BronzeEntry],
    read: Callable[[BronzeEntry], PreparedLayer],
    report: IngestReport,
) -> VintageRows:
    """The rows of a vintage's readable files; their rejected rows to quarantine."""
    readable = readable_files(store, concept, files, read, report)
    prepared = [layer for _, layer in readable]
    if prepared:
        write_quarantine(
            store.table_uri(concept, "quarantine"),
            pa.concat_tables([p.quarantine for p in prepared]),
            [e.sha256 for e, _ in readable],
        )
    report.quarantined += sum(p.quarantine.num_rows for p in prepared)
    report.repaired += sum(p.repaired for p in prepared)
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
    return VintageRows(rows, complete=len(prepared) == len(files))


@dataclass(frozen=True)
class TableSource:
    columns: dict[str, str]
    rename: dict[str, str]
    id_column: str
    delimiter: str
    encoding: str | None


def ingest_table(
    store: Lakehouse, concept: str, source: TableSource, entries: list[BronzeEntry], *, run_id: str
) -> IngestReport:
    """Merge every landed vintage of an attribute table (one non-spatial partition)."""

    def read(entry: BronzeEntry) -> PreparedLayer:
        frame = read_table(
            Path(entry.bronze_path), list(source.columns), source.delimiter, source.encoding
        )
        return prepare_table(
            frame,
            source.columns,
            source.rename,
            source.id_column,
            source_name=entry.relative_path,
            source_sha256=entry.sha256,
        )

    def rows_of(files: list[BronzeEntry], wanted, report: IngestReport) -> VintageRows:
        return _prepared_rows(store, concept, files, read, report)

    return merge_vintages(store, concept, entries, None, run_id, rows_of)


def union_bounds(
    bounds: list[tuple[float, float, float, float]],
) -> tuple[float, float, float, float]:
    return (
        min(b[0] for b in bounds),
        min(b[1] for b in bounds),
        max(b[2] for b in bounds),
        max(b[3] for b in bounds),
    )


def unchanged_hashes(store: Lakehouse, concept: str) -> dict[str, int]:
    """row_hash of each tile's current index row: a tile whose content hash is unchanged keeps
    its COG files."""
    current = current_state(
        store.table_uri(concept, "versions"), store.table_uri(concept, "closures"), None
    )
    if current.is_empty():
        return {}
    return dict(zip(current["tile"].to_list(), current["row_hash"].to_list(), strict=True))


def single_crs(readable: list[tuple[BronzeEntry, tuple]], concept: str) -> str | None:
    crs = {info[0] for _, info in readable}
    if len(crs) > 1:
        raise ValueError(
            f"vintage {readable[0][0].vintage} of {concept} mixes CRS {sorted(crs)}: "
            "deliver one CRS per vintage"
        )
    return next(iter(crs), None)


def ingest_raster(
    store: Lakehouse,
    concept: str,
    source: RasterSource,
    entries: list[BronzeEntry],
    *,
    tiles: list[str] | None,
    run_id: str,
) -> IngestReport:
    """Mosaic each landed vintage onto the tile grid as COGs and merge the tile index."""

    def read(entry: BronzeEntry) -> tuple[str, tuple[float, float, float, float]]:
        return raster.inspect_source(
            Path(entry.bronze_path), source.fallback_crs, source.resolution
        )

    def rows_of(files: list[BronzeEntry], wanted, report: IngestReport) -> VintageRows:
        readable = readable_files(store, concept, files, read, report)
        crs = single_crs(readable, concept)
        bounds = {Path(e.bronze_path): info[1] for e, info in readable}
        unchanged = unchanged_hashes(store, concept)
        rows = []
        covered = tiles_covering(union_bounds(list(bounds.values()))) if bounds else []
        for tile in filter(wanted, covered):
            grid = raster.tile_grid_bounds(tile, source.resolution)
            overlapping = [p for p, b in bounds.items() if raster.overlaps(b, grid)]
            if not overlapping:
                continue
            array, transform = raster.mosaic_tile(
                overlapping,
                tile,
                resolution=source.resolution,
                nodata=source.nodata,
                dtype=source.dtype,
            )
            path = store.cog_path(concept, tile, files[0].vintage)
            info = raster.describe(
                array, transform, tile=tile, path=path, crs=crs, nodata=source.nodata
            )
            row = raster_index_row(info, store.root, sources_key(files))
            if unchanged.get(tile) != row["row_hash"]:  # an unchanged tile keeps its COG
                raster.write_cog(array, transform, crs, source.nodata, path)
            rows.append(row)
        return VintageRows(
            pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), complete=len(readable) == len(files)
        )

    return merge_vintages(store, concept, entries, tiles, run_id, rows_of)
