import json

import duckdb
import geopandas
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from jnft.formats.geoparquet import geo_metadata, validate_geo_metadata, write_geoparquet
from jnft.tiles import BBOX_COLUMNS

# The parts of the official schema this module relies on; the full official schema is
# exercised in tests/realdata/test_geoparquet_conformance.py.
MINI_SCHEMA = {
    "type": "object",
    "required": ["version", "primary_column", "columns"],
    "properties": {
        "columns": {
            "type": "object",
            "patternProperties": {
                ".+": {
                    "type": "object",
                    "required": ["encoding", "geometry_types"],
                    "properties": {
                        "crs": {
                            "oneOf": [
                                {"$ref": "https://proj.org/schemas/v0.7/projjson.schema.json"},
                                {"type": "null"},
                            ]
                        }
                    },
                }
            },
        }
    },
}


def layer(n=120):
    rng = np.random.default_rng(1)
    x = rng.uniform(380_000, 400_000, n)
    y = rng.uniform(6_540_000, 6_550_000, n)
    boxes = shapely.box(x, y, x + 10, y + 8)
    columns = {
        "feature_id": [f"B{i}" for i in range(n)],
        "hauteur": rng.uniform(3, 12, n),
        "geometry": pa.array(list(shapely.to_wkb(boxes)), pa.binary()),
        "tile": np.where(x < 390_000, "0380_6550", "0390_6550"),
    }
    for name, values in zip(BBOX_COLUMNS, shapely.bounds(boxes).T, strict=True):
        columns[name] = values
    return pa.table(columns)


def test_written_file_has_valid_geo_metadata_and_bbox_covering(tmp_path):
    path = tmp_path / "batiment.parquet"
    geo = write_geoparquet(layer(), path, "EPSG:2154")
    stored = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert stored == geo
    column = stored["columns"]["geometry"]
    assert stored["version"] == "1.1.0" and column["encoding"] == "WKB"
    assert column["geometry_types"] == ["Polygon"]
    assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    assert validate_geo_metadata(stored, MINI_SCHEMA) == []
    assert pq.read_schema(path).field("bbox").type.names == ["xmin", "ymin", "xmax", "ymax"]


def test_readable_by_geopandas_and_duckdb(tmp_path):
    path = tmp_path / "batiment.parquet"
    write_geoparquet(layer(), path, "EPSG:2154")
    frame = geopandas.read_parquet(path)
    assert frame.crs.to_epsg() == 2154 and len(frame) == 120
    assert frame.geometry.area.round(6).eq(80.0).all()
    con = duckdb.connect()
    (count,) = con.sql(
        f"SELECT count(*) FROM read_parquet('{path}') WHERE bbox.xmin < 390000"
    ).fetchone()
    assert count == (frame.geometry.bounds.minx < 390_000).sum()


def test_rows_are_ordered_by_tile_for_pruning(tmp_path):
    path = tmp_path / "b.parquet"
    write_geoparquet(layer(), path, "EPSG:2154")
    tiles = pq.read_table(path, columns=["tile"])["tile"].to_pylist()
    assert tiles == sorted(tiles)


def test_bad_crs_is_reported():
    geo = geo_metadata(layer(3), "EPSG:2154")
    geo["columns"]["geometry"]["crs"] = {"type": "NotACRS"}
    problems = validate_geo_metadata(geo, MINI_SCHEMA)
    assert any("not a valid PROJJSON CRS" in p for p in problems)


def test_empty_layer_is_still_a_valid_file(tmp_path):
    path = tmp_path / "empty.parquet"
    geo = write_geoparquet(layer(0), path, "EPSG:2154")
    assert "bbox" not in geo["columns"]["geometry"]
    assert pq.read_table(path).num_rows == 0


@pytest.mark.parametrize("crs", ["EPSG:2154", "EPSG:5490"])
def test_crs_is_projjson(crs):
    geo = geo_metadata(layer(2), crs)
    assert geo["columns"]["geometry"]["crs"]["id"]["code"] == int(crs.split(":")[1])
