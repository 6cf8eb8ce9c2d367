"""Real IGN LiDAR HD tiles (LAZ 1.4, COPC) through the point-cloud engine (../shared/data)."""

import json

import numpy as np
import pytest
import rasterio

from jnft.formats.pdal import parse_pipeline, rasterize_tile
from jnft.formats.pointcloud import GridWindow, PointCloudError, read_info
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.pointcloud import PointCloudSource, ingest_pointcloud
from jnft.lakehouse.history import current
from jnft.lakehouse.store import Lakehouse
from jnft.quality.fiche import load_fiche
from tests.factories import CONCEPTS_DIR

pytestmark = pytest.mark.realdata

IGN_TILE = "ign-pdal-tools__test_data_77055_627760_LA93_IGN69.laz"


def test_our_half_metre_dtm_matches_ign_on_tile_77055_627760(shared_data, record_property):
    """The fiche's DTM pipeline (ground, water, virtual points; mean per cell; gaps filled)
    at 0.5 m against IGN's own DTM of the tile, on the cells both define."""
    path = shared_data / "lidar" / IGN_TILE
    with rasterio.open(
        shared_data / "dem" / "las-digital-models__DTM_77055_627760_50CM.tif"
    ) as src:
        reference, nodata = src.read(1), src.nodata
        window = GridWindow.from_bounds(tuple(src.bounds), 0.5)
    stages = load_fiche(CONCEPTS_DIR / "nuage_lidar.yaml").spec.products["mnt"]
    dtm = parse_pipeline(stages, default_resolution=0.5)
    info = read_info(path)
    ours = rasterize_tile([(path, info.bounds)], {"mnt": dtm}, window).arrays["mnt"]
    both = (reference != nodata) & (ours != dtm.writer.nodata)
    rmse = float(np.sqrt(np.mean((ours[both] - reference[both]) ** 2)))
    record_property("dtm_rmse_m", round(rmse, 4))
    print(f"DTM 0.5 m vs IGN on 77055_627760: RMSE {rmse:.3f} m over {both.sum()} cells")
    assert both.mean() > 0.99
    assert rmse <= 0.15


def test_a_copc_without_crs_takes_the_fiche_crs(shared_data):
    path = shared_data / "lidar" / "ctview__test_data_77050_627755_LA93_IGN69.copc.laz"
    with pytest.raises(PointCloudError, match="no CRS and the fiche declares none"):
        read_info(path)
    info = read_info(path, "EPSG:2154")
    assert info.is_copc and info.crs == "EPSG:2154" and info.point_count == 21_172


def test_a_full_lidar_hd_tile_becomes_indexed_cogs(shared_data, tmp_path):
    path = shared_data / "lidar" / "ign-pdal-tools__test_semis_2023_0292_6833_LA93_IGN69.laz"
    fiche = load_fiche(CONCEPTS_DIR / "nuage_lidar.yaml")
    store = Lakehouse.at(tmp_path)
    entry = BronzeEntry("1" * 64, path.name, f"lidar/{path.name}", str(path), "2023-01-01", 0, "")
    source = PointCloudSource("EPSG:2154", 1.0, fiche.spec.pipelines(), 100_000)
    report = ingest_pointcloud(store, "lidar", source, [entry], tiles=None, run_id="r")
    assert report.rejected_files == [] and report.merges[0].inserted == 1
    (index,) = current(
        store.table_uri("lidar", "versions"), store.table_uri("lidar", "closures")
    ).to_pylist()
    assert index["tile"] == "0290_6840" and index["point_count"] == 289_055
    assert 0.2 < index["density"] < 1.0  # points per m² over the 1 km² tile (thinned sample)
    histogram = json.loads(index["class_histogram"])
    assert sum(histogram.values()) == 289_055 and histogram["2"] > 0
    for product in json.loads(index["products"]).values():
        with rasterio.open(store.root / product) as src:
            assert src.crs.to_epsg() == 2154 and src.res == (1.0, 1.0)
            assert src.overviews(1)  # a COG: tiled, with overviews
