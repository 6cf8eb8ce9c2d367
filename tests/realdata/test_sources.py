"""Real French source files through the lakehouse readers (../shared/data)."""

from pathlib import Path

import pytest
import rasterio

from jnft.formats.vector import read_vector
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.raster import RasterSource, ingest_raster
from jnft.ingest.vector import LayerSpec, prepare_layer
from jnft.lakehouse.history import current
from jnft.lakehouse.store import Lakehouse

pytestmark = pytest.mark.realdata


def test_admin_express_communes_in_crs84_land_in_lambert93(shared_data):
    path = shared_data / "vector" / "france-geojson__communes-17-charente-maritime.geojson"
    spec = LayerSpec(
        columns={"code": "string", "nom": "string"},
        rename={"code": "insee_com"},
        id_column="code",
        identity_columns=[],
    )
    raw = read_vector(path, "GeoJSON", layer=None, columns=["code", "nom"], fallback_crs=None)
    out = prepare_layer(raw, spec, source_path=path, source_sha256="x")
    assert out.rows.num_rows + out.quarantine.num_rows == 466
    xmin = min(out.rows["bbox_xmin"].to_pylist())
    ymax = max(out.rows["bbox_ymax"].to_pylist())
    assert 330_000 < xmin < 380_000 and 6_500_000 < ymax < 6_600_000  # Charente-Maritime
    assert all(
        len(code) == 5 and code.startswith("17") for code in out.rows["insee_com"].to_pylist()
    )


def _entry(path: Path, vintage: str) -> BronzeEntry:
    return BronzeEntry(
        "0" * 64,
        path.name,
        path.name,
        str(path),
        vintage,
        path.stat().st_size,
        "2026-01-01T00:00:00+00:00",
    )


def test_bd_alti_grid_without_crs_is_tiled_seamlessly(shared_data, tmp_path):
    path = shared_data / "dem" / "geoxygene__bdalti_echantillon38_ISERE_100.asc"
    with rasterio.open(path) as src:
        assert src.crs is None
        cells = int((src.read(1) != src.nodata).sum())
    store = Lakehouse.at(tmp_path)
    source = RasterSource("EPSG:2154", 100.0, -9999.0, "float32")
    report = ingest_raster(
        store, "bdalti", source, [_entry(path, "2011-01-01")], tiles=None, run_id="r"
    )
    assert report.merges[0].inserted >= 2
    index = current(store.table_uri("bdalti", "versions"), store.table_uri("bdalti", "closures"))
    assert sum(index["valid_cells"].to_pylist()) == cells  # 101 × 101 over 6 tiles: each once


def test_lidar_hd_dtm_geotiff_is_on_the_half_metre_grid(shared_data, tmp_path):
    path = shared_data / "dem" / "las-digital-models__DTM_77055_627760_50CM.tif"
    store = Lakehouse.at(tmp_path)
    source = RasterSource(None, 0.5, -9999.0, "float32")
    ingest_raster(store, "mnt_lidar", source, [_entry(path, "2023-01-01")], tiles=None, run_id="r")
    index = current(
        store.table_uri("mnt_lidar", "versions"), store.table_uri("mnt_lidar", "closures")
    )
    assert index["tile"].to_pylist() == ["0770_6280"]
    with rasterio.open(path) as src:
        original = src.read(1)
    with rasterio.open(store.root / index["path"][0].as_py()) as tile:
        window = tile.window(770_549.75, 6_277_550.25, 770_599.75, 6_277_600.25)
        assert (tile.read(1, window=window) == original).all()


def test_legal_populations_join_the_communes_by_insee_code(shared_data):
    """2018 communes of Charente-Maritime (CRS84) and the national legal-population file:
    codes stay text (01001, 2A004), and every commune finds its population except those
    merged into a commune nouvelle since 2018."""
    import polars as pl

    from jnft.formats.table import read_table
    from jnft.ingest.table import prepare_table

    path = shared_data / "population" / "decoupage-administratif__donnees_communes.csv"
    columns = {"COM": "string", "Commune": "string", "PMUN": "int64"}
    frame = read_table(path, list(columns), ";", None)
    table = prepare_table(frame, columns, {}, "COM", source_name=path.name, source_sha256="p")
    assert table.rows.num_rows + table.quarantine.num_rows == 34_970
    codes = set(table.rows["feature_id"].to_pylist())
    assert {"01001", "2A004"} <= codes
    geojson = shared_data / "vector" / "france-geojson__communes-17-charente-maritime.geojson"
    raw = read_vector(geojson, "GeoJSON", layer=None, columns=["code", "nom"], fallback_crs=None)
    spec = LayerSpec({"code": "string", "nom": "string"}, {}, "code", [])
    communes = pl.from_arrow(prepare_layer(raw, spec, source_path=geojson, source_sha256="c").rows)
    population = pl.from_arrow(table.rows).select("feature_id", "PMUN")
    joined = communes.join(population, on="feature_id", how="left")
    matched = joined["PMUN"].is_not_null().mean()
    print(f"Charente-Maritime 2018 communes with a legal population: {matched:.1%}")
    assert matched > 0.95
    assert joined.filter(pl.col("feature_id") == "17300")["PMUN"][0] > 70_000  # La Rochelle
