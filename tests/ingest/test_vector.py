import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyogrio
import pytest
import shapely
from deltalake import DeltaTable

from jnft.formats.vector import read_vector
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.vector import LayerSpec, VectorSource, ingest_vector, prepare_layer
from jnft.lakehouse.delta import frame_of
from jnft.lakehouse.store import Lakehouse

SPEC = LayerSpec(
    columns={"code": "string", "usage": "string", "height": "float64"},
    rename={"code": "cleabs"},
    id_column="code",
    identity_columns=[],
)


def write_layer(path: Path, geoms, codes, driver="GPKG", crs="EPSG:2154", **kwargs) -> Path:
    table = pa.table(
        {
            "code": pa.array(codes, pa.string()),
            "usage": pa.array(["Résidentiel"] * len(codes)),
            "height": pa.array(np.arange(len(codes), dtype=float)),
            "geometry": pa.array(
                [None if g is None else shapely.to_wkb(g) for g in geoms], pa.binary()
            ),
        }
    )
    pyogrio.write_arrow(
        table,
        path,
        driver=driver,
        geometry_name="geometry",
        geometry_type="Unknown",
        crs=crs,
        **kwargs,
    )
    return path


def prepared(path, fmt="GPKG", spec=SPEC, fallback="EPSG:2154", tiles=None):
    raw = read_vector(path, fmt, layer=None, columns=list(spec.columns), fallback_crs=fallback)
    return prepare_layer(raw, spec, source_path=path, source_sha256="abc", tiles=tiles)


def test_gpkg_rows_get_ids_bbox_tile_and_hash(tmp_path):
    boxes = [
        shapely.box(389_990, 6_545_000, 389_995, 6_545_010),
        shapely.box(390_100, 6_545_000, 390_110, 6_545_010),
    ]
    out = prepared(write_layer(tmp_path / "b.gpkg", boxes, ["B1", "B2"]))
    rows = out.rows.to_pydict()
    assert rows["feature_id"] == ["B1", "B2"] and rows["cleabs"] == ["B1", "B2"]
    assert rows["tile"] == ["0380_6550", "0390_6550"]
    assert rows["bbox_xmin"] == [389_990, 390_100]
    assert len(set(rows["row_hash"])) == 2 and rows["source_sha256"] == ["abc", "abc"]
    assert out.quarantine.num_rows == 0


def test_tile_scope_keeps_only_those_tiles(tmp_path):
    boxes = [
        shapely.box(389_990, 6_545_000, 389_995, 6_545_010),
        shapely.box(390_100, 6_545_000, 390_110, 6_545_010),
    ]
    out = prepared(write_layer(tmp_path / "b.gpkg", boxes, ["B1", "B2"]), tiles=["0390_6550"])
    assert out.rows["feature_id"].to_pylist() == ["B2"]


def test_duplicates_and_bad_geometries_go_to_quarantine_with_reasons(tmp_path):
    flat = shapely.Polygon([(390_000, 6_545_000), (390_010, 6_545_000), (390_020, 6_545_000)])
    ok = shapely.box(390_000, 6_545_000, 390_010, 6_545_010)
    path = write_layer(tmp_path / "b.gpkg", [ok, ok, flat, ok], ["D", "D", "F", "K"])
    out = prepared(path)
    assert out.rows["feature_id"].to_pylist() == ["K"]
    reasons = dict(
        zip(
            out.quarantine["feature_id"].to_pylist(),
            out.quarantine["reason"].to_pylist(),
            strict=False,
        )
    )
    assert reasons["D"] == "duplicate feature_id in the source"
    assert reasons["F"].startswith("invalid geometry")
    record = json.loads(out.quarantine["record"][0].as_py())
    assert record["code"] == "D"


def test_geojson_in_crs84_is_reprojected(tmp_path):
    path = write_layer(
        tmp_path / "c.geojson",
        [shapely.Point(-1.0, 46.0)],
        ["P"],
        driver="GeoJSON",
        crs="OGC:CRS84",
    )
    out = prepared(path, fmt="GeoJSON", fallback=None)
    assert 380_000 < out.rows["bbox_xmin"][0].as_py() < 410_000


def test_shapefile_without_prj_needs_the_fiche_crs(tmp_path):
    path = write_layer(
        tmp_path / "s.shp", [shapely.Point(390_000, 6_545_000)], ["S"], driver="ESRI Shapefile"
    )
    path.with_suffix(".prj").unlink()
    with pytest.raises(ValueError, match="no CRS"):
        prepared(path, fmt="ESRI Shapefile", fallback=None)
    assert prepared(path, fmt="ESRI Shapefile").rows.num_rows == 1


def test_identity_columns_make_an_id_when_the_source_has_none(tmp_path):
    spec = LayerSpec(
        columns={"code": "string", "usage": "string", "height": "float64"},
        rename={},
        id_column=None,
        identity_columns=["code", "usage"],
    )
    path = write_layer(tmp_path / "b.gpkg", [shapely.Point(390_000, 6_545_000)] * 2, ["A", "B"])
    ids = prepared(path, spec=spec).rows["feature_id"].to_pylist()
    assert len(set(ids)) == 2 and all(len(i) == 16 for i in ids)


def test_insee_grid_cells_become_200m_squares(tmp_path):
    path = tmp_path / "carreaux.csv"
    path.write_text("Idcar_200m,Ind\nCRS3035RES200mN2238200E3498400,12.5\n", encoding="utf-8")
    spec = LayerSpec(
        columns={"Idcar_200m": "string", "Ind": "float64"},
        rename={},
        id_column="Idcar_200m",
        identity_columns=[],
    )
    raw = read_vector(
        path, "INSEE-GRID-CSV", layer=None, columns=list(spec.columns), fallback_crs=None
    )
    assert raw.crs.to_epsg() == 3035
    square = shapely.from_wkb(raw.table["geometry"][0].as_py())
    assert square.bounds == (3_498_400, 2_238_200, 3_498_600, 2_238_400)
    out = prepare_layer(raw, spec, source_path=path, source_sha256="x")
    assert shapely.from_wkb(out.rows["geometry"][0].as_py()).area == pytest.approx(40_000, rel=5e-3)


def test_missing_column_is_a_clear_error(tmp_path):
    path = write_layer(tmp_path / "b.gpkg", [shapely.Point(390_000, 6_545_000)], ["A"])
    with pytest.raises(ValueError, match="lacks the columns"):
        read_vector(path, "GPKG", layer=None, columns=["code", "nope"], fallback_crs=None)


def _ingest_tables(path: Path, lake: Path, batch_size: int) -> dict[str, pl.DataFrame]:
    spec = LayerSpec(
        columns=SPEC.columns,
        rename=SPEC.rename,
        id_column="code",
        identity_columns=[],
        extent=(380_000, 6_540_000, 400_000, 6_560_000),
        extent_tolerance=1.0,
    )
    entry = BronzeEntry("f" * 64, path.name, path.name, str(path), "2024-06-15", 1, "")
    store = Lakehouse.at(lake)
    source = VectorSource("GPKG", None, "EPSG:2154", spec)
    ingest_vector(store, "b", source, [entry], tiles=None, run_id="r", batch_size=batch_size)
    versions = frame_of(DeltaTable(store.table_uri("b", "versions")).to_pyarrow_table())
    quarantine = frame_of(DeltaTable(store.table_uri("b", "quarantine")).to_pyarrow_table())
    merges = frame_of(DeltaTable(store.table_uri("b", "merges")).to_pyarrow_table())
    return {
        "versions": versions.sort("feature_id"),
        "quarantine": quarantine.sort("feature_id", "record"),
        "merges": merges.drop("merged_at").sort("tile"),
    }


def test_batches_of_7_rows_give_the_tables_of_one_batch(tmp_path):
    n = 40
    x = 385_000 + 100.0 * np.arange(n)
    geoms = list(shapely.box(x, 6_545_000, x + 10, 6_545_010))
    codes = [f"B{i:02d}" for i in range(n)]
    codes[30] = "B02"  # a duplicate of a row of the first batch, in the fifth
    codes[33] = "B10"  # a duplicate of a row whose copy lies outside the extent
    geoms[10] = shapely.box(401_000, 6_545_000, 401_010, 6_545_010)  # 1 km beyond
    geoms[36] = shapely.box(403_000, 6_545_000, 403_010, 6_545_010)  # 3 km beyond, batch 6
    geoms[25] = shapely.Polygon([(390_000, 6_545_000), (390_010, 6_545_000), (390_020, 6_545_000)])
    geoms[27] = None
    codes[12] = None
    path = write_layer(tmp_path / "b.gpkg", geoms, codes)

    streamed = _ingest_tables(path, tmp_path / "streamed", batch_size=7)
    whole = _ingest_tables(path, tmp_path / "whole", batch_size=1_000)
    for name, table in whole.items():
        assert streamed[name].equals(table), name
    reasons = dict(zip(*whole["quarantine"].select("feature_id", "reason"), strict=True))
    assert whole["quarantine"].height == 8  # B02 ×2, B10 ×2, B36, B25, B27, the null id
    assert reasons["B02"] == reasons["B10"] == "duplicate feature_id in the source"
    assert reasons["B36"].endswith("(by up to 3010 m)")  # the file's largest overflow
    assert whole["versions"].height == n - 8
