"""Vector rows for the lakehouse, prepared batch by batch: columns mapped and typed as the fiche
says, geometries prepared (reprojected, repaired or rejected), ids, bbox, tile and row hash
derived, rejected rows split off for the quarantine, the others spooled (`ingest/staging.py`);
and a vector concept's vintages merged into its history from the spool, in memory flat in the
file size."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyproj

from jnft.formats.errors import Rejections, SourceFileError
from jnft.formats.geometry import crs_of, prepare_geometries
from jnft.formats.vector import BATCH_ROWS, RawLayer, RawStream, open_vector
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.hashing import hash_columns, row_hash, to_hex
from jnft.ingest.quarantine import QUARANTINE_SCHEMA, quarantine_rows, quarantine_table
from jnft.ingest.staging import ROW, SpooledRows
from jnft.ingest.vintages import (
    IngestReport,
    PreparedLayer,
    SpooledLayer,
    VintageRows,
    merge_vintages,
    spooled_rows,
)
from jnft.lakehouse.delta import frame_of
from jnft.lakehouse.store import Lakehouse
from jnft.tiles import BBOX_COLUMNS, TARGET_CRS, tile_array

ARROW_TYPES = {
    "string": pa.string(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
}


@dataclass(frozen=True)
class LayerSpec:
    """How source columns map to a table (the vector part of a fiche, without the fiche)."""

    columns: dict[str, str]  # source column -> type name in ARROW_TYPES
    rename: dict[str, str]
    id_column: str | None
    identity_columns: list[str]
    keep_z: bool = False
    geometry_type: str | None = None  # declared; single parts are promoted to a Multi type
    extent: tuple[float, float, float, float] | None = None  # declared (C6), in TARGET_CRS
    extent_tolerance: float = 0.0  # how far a feature may straddle the extent (C8 precision)

    def table_name(self, column: str) -> str:
        return self.rename.get(column, column)


def _cast_columns(table: pa.Table, spec: LayerSpec, path: Path) -> dict[str, pa.Array]:
    out = {}
    for column, type_name in spec.columns.items():
        values = table.column(column)
        try:
            if type_name == "date" and pa.types.is_timestamp(values.type):
                values = values.cast(pa.date32())
            elif type_name == "date" and pa.types.is_string(values.type):
                values = pc.strptime(values, format="%Y-%m-%d", unit="s").cast(pa.date32())
            out[spec.table_name(column)] = values.cast(ARROW_TYPES[type_name])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise SourceFileError(
                f"{path}: column {column!r} is not {type_name}: {error}"
            ) from error
    return out


def _feature_ids(attributes: dict[str, pa.Array], spec: LayerSpec) -> pa.Array:
    """The source's stable id, else a hash of the identity columns."""
    if spec.id_column:
        return pc.cast(attributes[spec.table_name(spec.id_column)], pa.string())
    identity = pa.table({c: attributes[spec.table_name(c)] for c in spec.identity_columns})
    return to_hex(hash_columns(identity, identity.column_names))


# The reason of rows outside the declared extent names the largest overflow of the whole file,
# known at its end: batches give this placeholder, replaced then.
_OUTSIDE = "\x00outside"
_DUPLICATE = "duplicate feature_id in the source"


def _reject_outside(
    b: np.ndarray, spec: LayerSpec, crs: pyproj.CRS, rejections: Rejections
) -> float:
    """Rows outside the declared extent (C6), beyond the precision's slack; degrees in a
    projected layer — the classic wrong-CRS delivery — named as such. Returns how far beyond
    the extent, in metres, the rows reach (-inf when none does)."""
    assert spec.extent is not None
    x0, y0, x1, y1 = spec.extent
    slack = spec.extent_tolerance
    with np.errstate(invalid="ignore"):
        outside = (
            (b[:, 0] < x0 - slack)
            | (b[:, 1] < y0 - slack)
            | (b[:, 2] > x1 + slack)
            | (b[:, 3] > y1 + slack)
        )
    degrees = (
        outside
        & (np.abs(b[:, [0, 2]]) <= 180).all(axis=1)
        & (np.abs(b[:, [1, 3]]) <= 90).all(axis=1)
    )
    rejections.add(
        degrees,
        f"coordinates look like longitude/latitude degrees in a layer "
        f"declared {crs.to_string()}: wrong CRS?",
        "c06_extent",
    )
    outside &= ~degrees
    if not outside.any():
        return -np.inf
    rejections.add(outside, _OUTSIDE, "c06_extent")
    # How far beyond, in metres: a few is a bbox to widen, kilometres a wrong delivery.
    return float(
        np.max(np.stack([x0 - b[:, 0], y0 - b[:, 1], b[:, 2] - x1, b[:, 3] - y1])[:, outside])
    )


@dataclass(frozen=True)
class _Batch:
    """A batch prepared: its rows kept (with `_row`), its quarantined rows (with `_row`), and
    the ids of the rows that may still be duplicates, as hashes with their positions."""

    rows: pa.Table
    quarantine: pa.Table
    id_hashes: np.ndarray
    id_rows: np.ndarray
    overflow: float
    repaired: int


def _prepare_batch(
    table: pa.Table,
    crs: pyproj.CRS,
    spec: LayerSpec,
    start: int,
    source_path: Path,
    source_sha256: str,
) -> _Batch:
    geometry = prepare_geometries(
        table.column("geometry"),
        crs,
        crs_of(TARGET_CRS),
        keep_z=spec.keep_z,
        declared_type=spec.geometry_type,
    )
    attributes = _cast_columns(table, spec, source_path)
    feature_id = _feature_ids(attributes, spec)
    columns = {"feature_id": feature_id, **attributes}
    columns["geometry"] = geometry.wkb
    for i, name in enumerate(BBOX_COLUMNS):
        columns[name] = pa.array(geometry.bounds[:, i], pa.float64())
    center_x = (geometry.bounds[:, 0] + geometry.bounds[:, 2]) / 2
    center_y = (geometry.bounds[:, 1] + geometry.bounds[:, 3]) / 2
    columns["tile"] = tile_array(center_x, center_y, ~geometry.rejections.mask)
    full = pa.table(columns)

    rejections = geometry.rejections
    rejections.add(
        pc.is_null(feature_id).to_numpy(zero_copy_only=False), "missing feature identifier"
    )
    # Rows kept so far may share their id with a row of this batch or another: duplicates are
    # found once the whole file is read, from 8-byte hashes of the ids.
    candidates = np.flatnonzero(~rejections.mask)
    id_hashes = hash_columns(pa.table({"id": feature_id.take(pa.array(candidates))}), ["id"])
    overflow = -np.inf
    if spec.extent is not None:
        overflow = _reject_outside(geometry.bounds, spec, crs, rejections)

    kept = ~rejections.mask
    rows = full if kept.all() else full.filter(pa.array(kept))
    hashed = [c for c in rows.column_names if c not in ("feature_id", "tile", *BBOX_COLUMNS)]
    rows = rows.append_column("row_hash", row_hash(rows, hashed))
    rows = rows.append_column(
        "source_sha256", pa.repeat(pa.scalar(source_sha256, pa.string()), rows.num_rows)
    )
    rows = rows.append_column(ROW, pa.array(start + np.flatnonzero(kept), pa.int64()))
    quarantine = quarantine_rows(table, feature_id, rejections, source_path.name, source_sha256)
    positions = start + np.array(sorted(rejections.reasons), dtype=np.int64)
    quarantine = quarantine.append_column(ROW, pa.array(positions, pa.int64()))
    return _Batch(rows, quarantine, id_hashes, start + candidates, overflow, geometry.repaired)


OpenSource = Callable[[], AbstractContextManager[RawStream]]


def spool_layer(
    open_source: OpenSource,
    spec: LayerSpec,
    spool: SpooledRows,
    *,
    source_path: Path,
    source_sha256: str,
) -> SpooledLayer:
    """Prepare a file batch by batch into `spool`: rows ready for the merge, the others to
    quarantine — geometries missing, undecodable, outside the CRS domain or invalid beyond a
    certain repair, rows outside the extent, and every row of a duplicated feature_id (across
    batches: a file is opened again only to quote the records of duplicates).

    A file that fails midway leaves nothing in the spool."""
    mark, start = spool.mark(), spool.next_row
    try:
        quarantine, hashes, positions = [], [], []
        overflow, repaired, offset = -np.inf, 0, start
        with open_source() as stream:
            for table in stream.batches:
                batch = _prepare_batch(table, stream.crs, spec, offset, source_path, source_sha256)
                spool.append(batch.rows)
                quarantine.append(batch.quarantine)
                hashes.append(batch.id_hashes)
                positions.append(batch.id_rows)
                overflow = max(overflow, batch.overflow)
                repaired += batch.repaired
                offset += table.num_rows
        spool.next_row = offset
        rejected = _concat(quarantine)
        duplicates = _duplicates(
            np.concatenate(hashes) if hashes else np.zeros(0, np.uint64),
            np.concatenate(positions) if positions else np.zeros(0, np.int64),
            rejected,
            spool,
        )
        if len(duplicates):
            rejected = _quarantine_duplicates(
                duplicates, rejected, open_source, spec, start, source_path, source_sha256
            )
            spool.exclude(duplicates)
        if overflow > -np.inf:
            assert spec.extent is not None
            text = f"outside the declared extent {list(spec.extent)} (by up to {overflow:.0f} m)"
            reason = rejected["reason"]
            at = rejected.schema.get_field_index("reason")
            rejected = rejected.set_column(
                at, "reason", pc.if_else(pc.equal(reason, _OUTSIDE), text, reason)
            )
        order = pc.sort_indices(rejected[ROW])
        return SpooledLayer(rejected.take(order).drop_columns(ROW), repaired)
    except BaseException:
        spool.rollback(mark)
        raise


def _concat(parts: list[pa.Table]) -> pa.Table:
    schema = QUARANTINE_SCHEMA.append(pa.field(ROW, pa.int64()))
    return pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()


def _duplicates(
    hashes: np.ndarray, positions: np.ndarray, rejected: pa.Table, spool: SpooledRows
) -> np.ndarray:
    """Positions of the rows whose feature_id another row of the file holds: repeats among
    the hashes, confirmed on the ids (in the quarantine or read back from the spool)."""
    order = np.argsort(hashes, kind="stable")
    ranked = hashes[order]
    repeated = np.zeros(len(ranked), dtype=bool)
    repeated[1:] |= ranked[1:] == ranked[:-1]
    repeated[:-1] |= ranked[1:] == ranked[:-1]
    suspects = np.sort(positions[order[repeated]])
    if not len(suspects):
        return suspects
    in_quarantine = frame_of(rejected.select(["feature_id", ROW])).filter(
        pl.col(ROW).is_in(pl.Series(suspects, dtype=pl.Int64).implode())
    )
    ids = pl.concat([in_quarantine, spool.ids_at(suspects)])
    return np.sort(ids.filter(pl.col("feature_id").is_duplicated())[ROW].to_numpy())


def _quarantine_duplicates(
    duplicates: np.ndarray,
    rejected: pa.Table,
    open_source: OpenSource,
    spec: LayerSpec,
    start: int,
    source_path: Path,
    source_sha256: str,
) -> pa.Table:
    """Rows of a duplicated id, quarantined as such: those already rejected for their extent
    change reason (a duplicate's reason comes first), the others are quoted from the file."""
    at_reason = rejected.schema.get_field_index("reason")
    at_criterion = rejected.schema.get_field_index("criterion")
    known = pc.is_in(rejected[ROW], pa.array(duplicates, pa.int64()))
    rejected = rejected.set_column(
        at_reason, "reason", pc.if_else(known, _DUPLICATE, rejected["reason"])
    ).set_column(at_criterion, "criterion", pc.if_else(known, "c09_quality", rejected["criterion"]))
    quoted = np.setdiff1d(duplicates, rejected[ROW].to_numpy())
    parts = [rejected]
    offset = start
    with open_source() as stream:
        for table in stream.batches:
            inside = quoted[(quoted >= offset) & (quoted < offset + table.num_rows)] - offset
            if len(inside):
                rows = table.take(pa.array(inside))
                ids = _feature_ids(_cast_columns(rows, spec, source_path), spec)
                part = quarantine_table(
                    source_sha256,
                    source_path.name,
                    [_DUPLICATE] * len(inside),
                    ["c09_quality"] * len(inside),
                    rows.drop_columns("geometry").to_pylist(),
                    feature_ids=ids,
                    geometries=rows.column("geometry").cast(pa.binary()),
                )
                parts.append(part.append_column(ROW, pa.array(inside + offset, pa.int64())))
            offset += table.num_rows
    return _concat(parts)


def prepare_layer(
    raw: RawLayer,
    spec: LayerSpec,
    *,
    source_path: Path,
    source_sha256: str,
    tiles: list[str] | None = None,
) -> PreparedLayer:
    """Rows of a layer in memory ready for `scd2.merge_vintage` (within `tiles`, if given)
    and quarantined rows (see `spool_layer`)."""

    def open_source() -> AbstractContextManager[RawStream]:
        return nullcontext(RawStream(raw.table.schema, raw.crs, iter([raw.table])))

    with SpooledRows() as spool:
        layer = spool_layer(
            open_source, spec, spool, source_path=source_path, source_sha256=source_sha256
        )
        return PreparedLayer(spool.ordered(tiles), layer.quarantine, layer.repaired)


@dataclass(frozen=True)
class VectorSource:
    format: str
    layer: str | None
    fallback_crs: str | None
    spec: LayerSpec
    encoding: str | None = None


def ingest_vector(
    store: Lakehouse,
    concept: str,
    source: VectorSource,
    entries: list[BronzeEntry],
    *,
    tiles: list[str] | None,
    run_id: str,
    staged: bool = False,
    batch_size: int = BATCH_ROWS,
) -> IngestReport:
    """Merge every landed vintage not yet merged for the tiles (all tiles when None), each
    file read `batch_size` rows at a time and spooled: memory stays flat in the file size."""

    def open_source(entry: BronzeEntry) -> OpenSource:
        return lambda: open_vector(
            Path(entry.bronze_path),
            source.format,
            layer=source.layer,
            columns=list(source.spec.columns),
            fallback_crs=source.fallback_crs,
            encoding=source.encoding,
            batch_size=batch_size,
        )

    def spool(entry: BronzeEntry, rows: SpooledRows) -> SpooledLayer:
        return spool_layer(
            open_source(entry),
            source.spec,
            rows,
            source_path=Path(entry.original_name),
            source_sha256=entry.sha256,
        )

    def rows_of(
        files: list[BronzeEntry], wanted: Callable[[str], bool], report: IngestReport
    ) -> VintageRows:
        return spooled_rows(store, concept, files, spool, report)

    return merge_vintages(store, concept, entries, tiles, run_id, rows_of, staged)
