"""Vector rows for the lakehouse: columns mapped and typed as the fiche says, geometries
prepared (reprojected, repaired or rejected), ids, bbox, tile and row hash derived, rejected rows
split off for the quarantine; and a vector concept's vintages merged into its history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyproj

from jnft.formats.errors import Rejections, SourceFileError
from jnft.formats.geometry import crs_of, prepare_geometries
from jnft.formats.vector import RawLayer, read_vector
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.hashing import hash_columns, row_hash, to_hex
from jnft.ingest.quarantine import quarantine_rows
from jnft.ingest.vintages import (
    IngestReport,
    PreparedLayer,
    VintageRows,
    merge_vintages,
    prepared_rows,
)
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


def _reject_outside(
    b: np.ndarray, spec: LayerSpec, crs: pyproj.CRS, rejections: Rejections
) -> None:
    """Rows outside the declared extent (C6), beyond the precision's slack; degrees in a
    projected layer — the classic wrong-CRS delivery — named as such."""
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
    if outside.any():
        # How far beyond, in metres: a few is a bbox to widen, kilometres a wrong delivery.
        overflow = np.max(
            np.stack([x0 - b[:, 0], y0 - b[:, 1], b[:, 2] - x1, b[:, 3] - y1])[:, outside]
        )
        rejections.add(
            outside,
            f"outside the declared extent {list(spec.extent)} (by up to {overflow:.0f} m)",
            "c06_extent",
        )


def prepare_layer(
    raw: RawLayer,
    spec: LayerSpec,
    *,
    source_path: Path,
    source_sha256: str,
    tiles: list[str] | None = None,
) -> PreparedLayer:
    """Rows ready for `history.merge_vintage` (within `tiles`, if given) and quarantined rows.

    Quarantined: geometries that are missing, undecodable, outside the CRS domain or invalid
    beyond a certain repair, and every row of a duplicated feature_id.
    """
    table = raw.table
    geometry = prepare_geometries(
        table.column("geometry"),
        raw.crs,
        crs_of(TARGET_CRS),
        keep_z=spec.keep_z,
        declared_type=spec.geometry_type,
    )
    attributes = _cast_columns(table, spec, source_path)
    feature_id = _feature_ids(attributes, spec)
    columns = dict(attributes)
    columns = {"feature_id": feature_id, **columns}
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
    ids = pl.from_arrow(feature_id)
    assert isinstance(ids, pl.Series)  # an Arrow array, not a table
    candidates = ids.set(pl.Series(rejections.mask), None)
    duplicated = (candidates.is_duplicated() & candidates.is_not_null()).to_numpy()
    rejections.add(duplicated, "duplicate feature_id in the source")
    if spec.extent is not None:
        _reject_outside(geometry.bounds, spec, raw.crs, rejections)

    in_scope = ~rejections.mask
    if tiles is not None:
        in_scope &= pc.is_in(full["tile"], pa.array(tiles, pa.string())).to_numpy(
            zero_copy_only=False
        )
    rows = full if in_scope.all() else full.filter(pa.array(in_scope))
    hashed = [c for c in rows.column_names if c not in ("feature_id", "tile", *BBOX_COLUMNS)]
    rows = rows.append_column("row_hash", row_hash(rows, hashed))
    rows = rows.append_column(
        "source_sha256", pa.repeat(pa.scalar(source_sha256, pa.string()), rows.num_rows)
    )
    quarantine = quarantine_rows(table, feature_id, rejections, source_path.name, source_sha256)
    return PreparedLayer(rows, quarantine, geometry.repaired)


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

    def rows_of(
        files: list[BronzeEntry], wanted: Callable[[str], bool], report: IngestReport
    ) -> VintageRows:
        return prepared_rows(store, concept, files, read, report)

    return merge_vintages(store, concept, entries, tiles, run_id, rows_of, staged)
