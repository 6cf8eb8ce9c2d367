"""Vector sources to lakehouse rows: read (GPKG, Shapefile, GeoJSON, INSEE grid CSV, zipped or
not), map columns, prepare geometries, derive ids, bbox, tile and row hash; split off
quarantined rows."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyogrio
import pyogrio.errors
import pyproj
import shapely

from jnft.lakehouse.geometry import crs_of, prepare_geometries
from jnft.lakehouse.hashing import hash_columns, row_hash, to_hex
from jnft.lakehouse.quarantine import SourceFileError, quarantine_rows
from jnft.lakehouse.tiles import tile_array

TARGET_CRS = "EPSG:2154"
BBOX_COLUMNS = ("bbox_xmin", "bbox_ymin", "bbox_xmax", "bbox_ymax")
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
class RawLayer:
    """Attributes plus a WKB `geometry` column, in the CRS the source declares."""

    table: pa.Table
    crs: pyproj.CRS


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


@dataclass(frozen=True)
class PreparedLayer:
    rows: pa.Table
    quarantine: pa.Table
    repaired: int


def read_vector(
    path: Path,
    fmt: str,
    *,
    layer: str | None,
    columns: list[str],
    fallback_crs: str | None,
    encoding: str | None = None,
) -> RawLayer:
    """Read a vector file (or the layer of a zip archive); the file's CRS wins over the
    fiche's; a CRS in neither is an error. `encoding` is for DBF files without a `.cpg`."""
    if fmt == "INSEE-GRID-CSV":
        return _read_insee_grid(path, columns)
    dataset = archive_member(path, fmt, layer) if zipfile.is_zipfile(path) else str(path)
    try:
        meta, table = pyogrio.read_arrow(
            dataset, layer=layer if fmt == "GPKG" else None, columns=columns, encoding=encoding
        )
    except UnicodeDecodeError as error:
        raise SourceFileError(
            f"{path}: text attributes are not UTF-8 and no encoding is declared "
            f"({error.reason} at byte {error.start}); set source.encoding in the fiche "
            "(e.g. cp1252 or latin-1) or deliver the .cpg file"
        ) from error
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        raise SourceFileError(f"{path}: not a readable {fmt} file ({error})") from error
    _check_text_decoded(table, path, encoding)
    geometry_name = meta.get("geometry_name") or "wkb_geometry"
    if geometry_name not in table.column_names:
        raise SourceFileError(f"{path}: layer {layer!r} has no geometry column")
    table = table.rename_columns(
        ["geometry" if c == geometry_name else c for c in table.column_names]
    )
    declared = meta.get("crs") or fallback_crs
    if declared is None:
        raise SourceFileError(f"{path}: the file has no CRS and the fiche declares none")
    missing = sorted(set(columns) - set(table.column_names))
    if missing:
        hint = (
            " (Shapefile field names are cut at 10 characters: map the short names)"
            if fmt == "ESRI Shapefile" and any(len(m) > 10 for m in missing)
            else ""
        )
        raise SourceFileError(f"{path}: layer {layer!r} lacks the columns {missing}{hint}")
    return RawLayer(table, crs_of(declared))


def _check_text_decoded(table: pa.Table, path: Path, encoding: str | None) -> None:
    """GDAL passes the bytes of a DBF without `.cpg` through undecoded: Windows-1252 accents
    would then be invalid UTF-8 in the table. Refuse rather than store mangled names."""
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            try:
                column.validate(full=True)
            except pa.ArrowInvalid as error:
                raise SourceFileError(
                    f"{path}: text of {name!r} is not valid in the assumed encoding "
                    f"({encoding or 'none declared, UTF-8 assumed'}); set source.encoding in "
                    "the fiche (e.g. cp1252 or latin-1) or deliver the .cpg file"
                ) from error


_EXTENSIONS = {"GPKG": (".gpkg",), "ESRI Shapefile": (".shp",), "GeoJSON": (".geojson", ".json")}


def archive_member(path: Path, fmt: str, layer: str | None) -> str:
    """The GDAL path of the dataset inside a zip archive, refusing unsafe member names."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    unsafe = [n for n in names if n.startswith(("/", "\\")) or ".." in Path(n).parts]
    if unsafe:
        raise SourceFileError(
            f"{path}: archive members escape the archive folder (e.g. {unsafe[0]!r}); refused"
        )
    candidates = [n for n in names if n.lower().endswith(_EXTENSIONS.get(fmt, ()))]
    if layer is not None and fmt != "GPKG":
        candidates = [n for n in candidates if Path(n).stem == layer]
    if len(candidates) != 1:
        raise SourceFileError(
            f"{path}: expected one {fmt} dataset"
            + (f" named {layer!r}" if layer and fmt != "GPKG" else "")
            + f" in the archive, found {candidates or 'none'}"
        )
    return f"/vsizip/{Path(path).resolve()}/{candidates[0]}"


_INSEE_CELL = re.compile(r"^CRS(\d+)RES(\d+)mN(\d+)E(\d+)$")


def _read_insee_grid(path: Path, columns: list[str]) -> RawLayer:
    """INSEE gridded data (Filosofi): cell ids `CRS3035RES200mN…E…` encode the square's corner."""
    try:
        table = pacsv.read_csv(path)
    except pa.ArrowInvalid as error:
        raise SourceFileError(f"{path}: not a readable CSV file ({error})") from error
    id_column = next((c for c in table.column_names if c.lower().startswith("idcar_")), None)
    if id_column is None:
        raise SourceFileError(f"{path}: no Idcar_* cell id column")
    parsed = [_INSEE_CELL.match(value or "") for value in table[id_column].to_pylist()]
    bad = [i for i, m in enumerate(parsed) if m is None]
    if bad:
        raise SourceFileError(f"{path}: {len(bad)} malformed cell ids, e.g. row {bad[0] + 2}")
    epsg = {m.group(1) for m in parsed}
    if len(epsg) != 1:
        raise SourceFileError(f"{path}: cells in several CRS {sorted(epsg)}")
    size = np.array([float(m.group(2)) for m in parsed])
    north = np.array([float(m.group(3)) for m in parsed])
    east = np.array([float(m.group(4)) for m in parsed])
    squares = shapely.box(east, north, east + size, north + size)
    keep = [c for c in columns if c in table.column_names]
    missing = sorted(set(columns) - set(keep))
    if missing:
        raise SourceFileError(f"{path}: lacks the columns {missing}")
    table = table.select(keep).append_column(
        "geometry", pa.array(list(shapely.to_wkb(squares)), pa.binary())
    )
    return RawLayer(table, crs_of(f"EPSG:{epsg.pop()}"))


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
    columns = dict(attributes)
    if spec.id_column:
        feature_id = pc.cast(attributes[spec.table_name(spec.id_column)], pa.string())
    else:
        identity = pa.table({c: attributes[spec.table_name(c)] for c in spec.identity_columns})
        feature_id = to_hex(hash_columns(identity, identity.column_names))
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
    candidates = pl.from_arrow(feature_id).set(pl.Series(rejections.mask), None)
    duplicated = (candidates.is_duplicated() & candidates.is_not_null()).to_numpy()
    rejections.add(duplicated, "duplicate feature_id in the source")
    if spec.extent is not None:
        x0, y0, x1, y1 = spec.extent
        slack = spec.extent_tolerance
        b = geometry.bounds
        with np.errstate(invalid="ignore"):
            outside = (
                (b[:, 0] < x0 - slack)
                | (b[:, 1] < y0 - slack)
                | (b[:, 2] > x1 + slack)
                | (b[:, 3] > y1 + slack)
            )
        # Degrees in a projected layer: the classic wrong-CRS delivery, named as such.
        degrees = (
            outside
            & (np.abs(b[:, [0, 2]]) <= 180).all(axis=1)
            & (np.abs(b[:, [1, 3]]) <= 90).all(axis=1)
        )
        rejections.add(
            degrees,
            f"coordinates look like longitude/latitude degrees in a layer "
            f"declared {raw.crs.to_string()}: wrong CRS?",
            "c06_extent",
        )
        rejections.add(outside, f"outside the declared extent {list(spec.extent)}", "c06_extent")

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
