import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyogrio
import pytest
import shapely

from jnft.formats.vector import read_vector
from jnft.ingest.vector import LayerSpec, prepare_layer

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
