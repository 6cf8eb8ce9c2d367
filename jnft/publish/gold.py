"""A public concept's gold snapshot: its current rows as one GeoParquet file, written beside the
published one and renamed over it, so that a reader (QGIS, the STAC catalog, the checks) sees
the previous snapshot or the new one, never a partial file or none."""

from __future__ import annotations

import os

import pyarrow as pa

from jnft.formats.geoparquet import write_geoparquet
from jnft.lakehouse.store import Lakehouse
from jnft.lakehouse.swap import commit_point
from jnft.tiles import TARGET_CRS


def write_gold(store: Lakehouse, concept: str, rows: pa.Table) -> dict:
    """Publish `rows` as gold/<concept>.parquet in one rename; returns the file's `geo`."""
    path = store.gold_path(concept)
    for leftover in path.parent.glob(f".{path.name}.*"):  # of writers killed before renaming
        leftover.unlink()
    beside = path.with_name(f".{path.name}.{os.getpid()}")
    geo = write_geoparquet(rows, beside, TARGET_CRS)
    commit_point("gold.written")
    beside.replace(path)
    store.publish(path)
    return geo
