"""GeoParquet output checked against the official 1.1.0 schema and test data (../shared/data)."""

import json

import duckdb
import geopandas
import pyarrow.parquet as pq
import pytest

from jnft.formats.geoparquet import validate_geo_metadata, write_geoparquet
from tests.formats.test_geoparquet import layer

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def official(shared_data):
    root = shared_data / "conformance" / "geoparquet_v1.1.0"
    return root, json.loads((root / "schema.json").read_text())


def test_our_files_conform_to_the_official_schema(official, tmp_path):
    _, schema = official
    path = tmp_path / "batiment.parquet"
    write_geoparquet(layer(), path, "EPSG:2154")
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert validate_geo_metadata(geo, schema) == []


def test_the_validator_accepts_the_official_examples(official):
    root, schema = official
    for name in ("example_metadata.json", "example_metadata_point.json"):
        document = json.loads((root / "examples" / name).read_text())
        assert validate_geo_metadata(document["geo"], schema) == [], name
    geo = json.loads(pq.read_schema(root / "examples" / "example.parquet").metadata[b"geo"])
    assert validate_geo_metadata(geo, schema) == []


def test_the_validator_rejects_what_the_schema_forbids(official):
    _, schema = official
    geo = json.loads((official[0] / "examples" / "example_metadata.json").read_text())["geo"]
    geo["version"] = "1.0.0"
    geo["columns"]["geometry"]["encoding"] = "WKT"
    problems = validate_geo_metadata(geo, schema)
    assert any("version" in p for p in problems) and any("encoding" in p for p in problems)


def test_official_test_data_reads_like_ours(official, tmp_path):
    root, _ = official
    ours = tmp_path / "ours.parquet"
    write_geoparquet(layer(), ours, "EPSG:2154")
    for path in [ours, *sorted((root / "test_data").glob("*encoding_wkb.parquet"))]:
        frame = geopandas.read_parquet(path)
        assert len(frame) > 0 and frame.crs is not None, path
        (count,) = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()
        assert count == len(frame)


def test_gdal_reads_our_file_when_it_has_the_parquet_driver(tmp_path):
    pyogrio = pytest.importorskip("pyogrio")
    if "Parquet" not in pyogrio.list_drivers():
        pytest.skip("this GDAL build has no Parquet driver (the pyogrio wheels ship none)")
    path = tmp_path / "ours.parquet"
    write_geoparquet(layer(), path, "EPSG:2154")
    assert pyogrio.read_info(path)["crs"] == "EPSG:2154"
