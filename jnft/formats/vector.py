"""Vector deliveries read to Arrow (GPKG, Shapefile, GeoJSON, INSEE grid CSV, zipped or not),
batch by batch through GDAL's Arrow stream: attributes plus WKB geometry in the source's CRS,
text decoded as declared."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import pyogrio.errors
import pyproj
import shapely

from jnft.formats.errors import SourceFileError
from jnft.formats.geometry import crs_of

# Rows per batch read from a vector file: large enough that per-batch overheads (a GDAL call,
# a Parquet part, a NumPy pass) vanish, small enough that a batch and its prepared copies stay a
# few tens of MB whatever the file's size.
BATCH_ROWS = 65_536


@dataclass(frozen=True)
class RawLayer:
    """Attributes plus a WKB `geometry` column, in the CRS the source declares."""

    table: pa.Table
    crs: pyproj.CRS


@dataclass(frozen=True)
class RawStream:
    """A vector file read batch by batch: tables of attributes plus a WKB `geometry` column,
    in the CRS the source declares. A batch that cannot be decoded raises `SourceFileError`."""

    schema: pa.Schema
    crs: pyproj.CRS
    batches: Iterator[pa.Table]


@contextmanager
def open_vector(
    path: Path,
    fmt: str,
    *,
    layer: str | None,
    columns: list[str],
    fallback_crs: str | None,
    encoding: str | None = None,
    batch_size: int = BATCH_ROWS,
) -> Iterator[RawStream]:
    """Open a vector file (or the layer of a zip archive) as a stream of batches; the file's
    CRS wins over the fiche's; a CRS in neither is an error. `encoding` is for DBF files
    without a `.cpg`. The INSEE grid CSV is read whole (one line per 200 m square of a
    territory: a few MB) and then cut into batches."""
    if fmt == "INSEE-GRID-CSV":
        raw = _read_insee_grid(path, columns)
        yield RawStream(raw.table.schema, raw.crs, _slices(raw.table, batch_size))
        return
    dataset = archive_member(path, fmt, layer) if zipfile.is_zipfile(path) else str(path)
    with ExitStack() as stack:
        with _reading(path, fmt, encoding):
            meta, reader = stack.enter_context(
                pyogrio.raw.open_arrow(
                    dataset,
                    layer=layer if fmt == "GPKG" else None,
                    columns=columns,
                    encoding=encoding,
                    batch_size=batch_size,
                    use_pyarrow=True,
                )
            )
        geometry_name = meta.get("geometry_name") or "wkb_geometry"
        names = reader.schema.names
        if geometry_name not in names:
            raise SourceFileError(f"{path}: layer {layer!r} has no geometry column")
        declared = meta.get("crs") or fallback_crs
        if declared is None:
            raise SourceFileError(f"{path}: the file has no CRS and the fiche declares none")
        missing = sorted(set(columns) - set(names))
        if missing:
            hint = (
                " (Shapefile field names are cut at 10 characters: map the short names)"
                if fmt == "ESRI Shapefile" and any(len(m) > 10 for m in missing)
                else ""
            )
            raise SourceFileError(f"{path}: layer {layer!r} lacks the columns {missing}{hint}")
        renamed = ["geometry" if c == geometry_name else c for c in names]
        schema = pa.schema(
            [f.with_name(n) for f, n in zip(reader.schema, renamed, strict=True)],
            reader.schema.metadata,
        )

        def batches() -> Iterator[pa.Table]:
            while True:
                with _reading(path, fmt, encoding):
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        return
                table = pa.Table.from_batches([batch]).rename_columns(renamed)
                _check_text_decoded(table, path, encoding)
                yield table

        yield RawStream(schema, crs_of(declared), batches())


@contextmanager
def _reading(path: Path, fmt: str, encoding: str | None) -> Iterator[None]:
    """GDAL's errors while a file is opened or read, as errors for people."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise SourceFileError(
            f"{path}: text attributes are not UTF-8 and no encoding is declared "
            f"({error.reason} at byte {error.start}); set source.encoding in the fiche "
            "(e.g. cp1252 or latin-1) or deliver the .cpg file"
        ) from error
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        raise SourceFileError(f"{path}: not a readable {fmt} file ({error})") from error
    except OSError as error:  # GDAL failing midway through a truncated or corrupt file
        raise SourceFileError(f"{path}: not a readable {fmt} file ({error})") from error


def _slices(table: pa.Table, size: int) -> Iterator[pa.Table]:
    for start in range(0, table.num_rows, size):
        yield table.slice(start, size)


def read_vector(
    path: Path,
    fmt: str,
    *,
    layer: str | None,
    columns: list[str],
    fallback_crs: str | None,
    encoding: str | None = None,
) -> RawLayer:
    """A whole vector file in memory (see `open_vector`, which streams it)."""
    with open_vector(
        path, fmt, layer=layer, columns=columns, fallback_crs=fallback_crs, encoding=encoding
    ) as stream:
        parts = list(stream.batches)
        table = pa.concat_tables(parts) if parts else stream.schema.empty_table()
        return RawLayer(table, stream.crs)


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
    cells = [m for m in parsed if m is not None]  # all of them, none being malformed
    epsg = {m.group(1) for m in cells}
    if len(epsg) != 1:
        raise SourceFileError(f"{path}: cells in several CRS {sorted(epsg)}")
    size = np.array([float(m.group(2)) for m in cells])
    north = np.array([float(m.group(3)) for m in cells])
    east = np.array([float(m.group(4)) for m in cells])
    squares = shapely.box(east, north, east + size, north + size)
    keep = [c for c in columns if c in table.column_names]
    missing = sorted(set(columns) - set(keep))
    if missing:
        raise SourceFileError(f"{path}: lacks the columns {missing}")
    table = table.select(keep).append_column(
        "geometry", pa.array(list(shapely.to_wkb(squares)), pa.binary())
    )
    return RawLayer(table, crs_of(f"EPSG:{epsg.pop()}"))
