"""Gold snapshots as GeoParquet 1.1: WKB geometry, `geo` metadata (PROJJSON CRS, bbox, geometry
types) and a `bbox` covering column, row groups ordered by tile and space for pruning."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyproj
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from jnft.formats.geometry import crs_of, geometry_types
from jnft.tiles import BBOX_COLUMNS

GEOPARQUET_VERSION = "1.1.0"
ROW_GROUP_SIZE = 50_000


def geo_metadata(table: pa.Table, crs: str, geometry_column: str = "geometry") -> dict:
    """The `geo` file metadata for a table with WKB geometry and bbox_* columns."""
    wkb = table.column(geometry_column).to_numpy(zero_copy_only=False)
    column: dict = {
        "encoding": "WKB",
        "geometry_types": geometry_types(wkb),
        "crs": crs_of(crs).to_json_dict(),
        "edges": "planar",
        "covering": {"bbox": {name: ["bbox", name] for name in ("xmin", "ymin", "xmax", "ymax")}},
    }
    if table.num_rows:
        column["bbox"] = [
            pc.min(table["bbox_xmin"]).as_py(),
            pc.min(table["bbox_ymin"]).as_py(),
            pc.max(table["bbox_xmax"]).as_py(),
            pc.max(table["bbox_ymax"]).as_py(),
        ]
    return {
        "version": GEOPARQUET_VERSION,
        "primary_column": geometry_column,
        "columns": {geometry_column: column},
    }


def _spatial_order(table: pa.Table) -> np.ndarray:
    """Sort key: tile, then a Z-order of the bbox centre, so row groups are spatially compact."""
    x = (table["bbox_xmin"].to_numpy() + table["bbox_xmax"].to_numpy()) / 2
    y = (table["bbox_ymin"].to_numpy() + table["bbox_ymax"].to_numpy()) / 2
    span = max(np.ptp(x), np.ptp(y), 1.0)
    ix = ((x - x.min()) / span * 65535).astype(np.uint64)
    iy = ((y - y.min()) / span * 65535).astype(np.uint64)
    code = np.zeros(len(x), dtype=np.uint64)
    for bit in range(16):
        code |= ((ix >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit)
        code |= ((iy >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit + 1)
    tiles = table["tile"].to_numpy(zero_copy_only=False).astype(str)
    return np.lexsort((code, tiles))


def write_geoparquet(table: pa.Table, path: Path, crs: str) -> dict:
    """Write a GeoParquet 1.1 file atomically; returns its `geo` metadata."""
    if table.num_rows:
        table = table.take(_spatial_order(table))
    geo = geo_metadata(table, crs)
    bbox = pa.StructArray.from_arrays(
        [table[name].combine_chunks() for name in BBOX_COLUMNS],
        names=["xmin", "ymin", "xmax", "ymax"],
    )
    table = table.drop_columns(list(BBOX_COLUMNS)).append_column("bbox", bbox)
    metadata = dict(table.schema.metadata or {})
    metadata[b"geo"] = json.dumps(geo).encode()
    table = table.replace_schema_metadata(metadata)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    pq.write_table(
        table, partial, row_group_size=ROW_GROUP_SIZE, compression="zstd", write_statistics=True
    )
    partial.replace(path)
    return geo


PROJJSON_SCHEMA_URI = "https://proj.org/schemas/v0.7/projjson.schema.json"


def validate_geo_metadata(geo: dict, schema: dict) -> list[str]:
    """Problems of a `geo` metadata object against the official GeoParquet JSON schema.

    The schema `$ref`s PROJJSON by URL; that reference resolves locally to an open object
    schema (validation never touches the network) and each `crs` is checked by parsing it with
    pyproj instead.
    """
    registry = Registry().with_resource(
        PROJJSON_SCHEMA_URI,
        Resource.from_contents({"type": "object"}, default_specification=DRAFT7),
    )
    validator = jsonschema.Draft7Validator(schema, registry=registry)
    problems = [
        f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in validator.iter_errors(geo)
    ]
    for name, column in geo.get("columns", {}).items():
        crs = column.get("crs")
        if isinstance(crs, dict):
            try:
                pyproj.CRS.from_json_dict(crs)
            except pyproj.exceptions.CRSError as error:
                problems.append(f"columns/{name}/crs: not a valid PROJJSON CRS: {error}")
    return problems
