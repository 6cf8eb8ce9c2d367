"""What a materialization reports about a layer: rows, extent, CRS, table version, schema."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jnft.lakehouse.delta import open_table
from jnft.lakehouse.history import Pending, current
from jnft.lakehouse.store import Lakehouse
from jnft.tiles import TARGET_CRS


@dataclass(frozen=True)
class LayerSummary:
    rows: int
    bbox: tuple[float, float, float, float] | None
    crs: str
    versions_version: int | None
    closures_version: int | None
    schema: pa.Schema | None
    wkb: np.ndarray  # current geometries, for previews
    current: pa.Table | None


def summarize(
    store: Lakehouse, concept: str, tiles: list[str] | None = None, pending: Pending | None = None
) -> LayerSummary:
    versions_uri = store.table_uri(concept, "versions")
    closures_uri = store.table_uri(concept, "closures")
    versions = open_table(versions_uri)
    if versions is None:
        return LayerSummary(0, None, TARGET_CRS, None, None, None, np.array([], dtype=object), None)
    closures = open_table(closures_uri)
    rows = current(versions_uri, closures_uri, tiles, pending)
    bbox = None
    if rows.num_rows and "bbox_xmin" in rows.column_names:
        bbox = (
            pc.min(rows["bbox_xmin"]).as_py(),
            pc.min(rows["bbox_ymin"]).as_py(),
            pc.max(rows["bbox_xmax"]).as_py(),
            pc.max(rows["bbox_ymax"]).as_py(),
        )
    return LayerSummary(
        rows.num_rows,
        bbox,
        TARGET_CRS,
        versions.version(),
        closures.version() if closures is not None else None,
        rows.schema,
        rows["geometry"].to_numpy(zero_copy_only=False)
        if "geometry" in rows.column_names
        else np.array([], dtype=object),
        rows,
    )
