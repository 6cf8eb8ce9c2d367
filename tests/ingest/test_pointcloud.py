import shutil

import numpy as np
import polars as pl
import pyproj
import rasterio

from jnft.formats.pdal import parse_pipeline
from jnft.ingest.bronze import land_files
from jnft.ingest.pointcloud import PointCloudSource, covered_area, ingest_pointcloud
from jnft.lakehouse.history import current
from jnft.lakehouse.store import Lakehouse
from tests.factories import write_las


def _quarantined_files(store, concept):
    table = pl.read_delta(store.table_uri(concept, "quarantine"))
    return table.filter(pl.col("level") == "file").select("source_name", "reason", "criterion")


def test_density_counts_the_area_the_files_cover_once():
    boxes = [(390_000, 6_544_000, 391_000, 6_545_000), (390_500, 6_544_000, 391_500, 6_545_000)]
    assert covered_area(boxes, "0390_6550") == 1_500_000
    assert covered_area([(399_500, 6_544_000, 400_500, 6_545_000)], "0390_6550") == 500_000


def test_point_clouds_truncated_or_far_away_are_quarantined(tmp_path):
    store = Lakehouse.at(tmp_path / "lake")
    folder = tmp_path / "src" / "lidar" / "LHD_2024-06-30"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, x0 in (("good", 390_000.0), ("cut", 391_000.0), ("far", 490_000.0)):
        x, y = x0 + rng.uniform(0, 200, 40_000), 6_544_000 + rng.uniform(0, 200, 40_000)
        write_las(folder / f"{name}.laz", x, y, 10 + 0.01 * (x - x0))
    cut = folder / "cut.laz"
    cut.write_bytes(cut.read_bytes()[:60_000])
    entries, _ = land_files(
        store, "lidar", tmp_path / "src", "lidar/*/*.laz", r"_(\d{4}-\d{2}-\d{2})/"
    )
    products = {"mnt": parse_pipeline([{"type": "writers.gdal", "output_type": "mean"}], 1.0)}
    source = PointCloudSource("EPSG:2154", 1.0, products, 10_000)
    extent = (380_000, 6_540_000, 400_000, 6_550_000)
    report = ingest_pointcloud(
        store, "lidar", source, entries, tiles=None, run_id="r", extent=extent
    )
    problems = sorted(report.rejected_files)
    assert problems[0].startswith("lidar/LHD_2024-06-30/cut.laz: truncated or corrupt")
    assert (
        problems[1].startswith("lidar/LHD_2024-06-30/far.laz: its data at (490000.0, 6544000.0")
        and "lie outside the territory (380000, 6540000, 400000, 6550000)" in problems[1]
    )
    files = _quarantined_files(store, "lidar")
    assert dict(zip(files["source_name"], files["criterion"], strict=True)) == {
        "lidar/LHD_2024-06-30/cut.laz": "c10_standard",
        "lidar/LHD_2024-06-30/far.laz": "c06_extent",
    }
    (row,) = current(
        store.table_uri("lidar", "versions"), store.table_uri("lidar", "closures")
    ).to_pylist()
    assert row["point_count"] == 40_000 and row["las_files"] == 1


def _ingest_one(tmp_path, write):
    """Land one LAZ written by `write(path)` and ingest it with a mean DTM at 1 m."""
    store = Lakehouse.at(tmp_path / "lake")
    folder = tmp_path / "src" / "lidar" / "LHD_2024-06-30"
    folder.mkdir(parents=True)
    write(folder / "tile.laz")
    entries, _ = land_files(
        store, "lidar", tmp_path / "src", "lidar/*/*.laz", r"_(\d{4}-\d{2}-\d{2})/"
    )
    products = {"mnt": parse_pipeline([{"type": "writers.gdal", "output_type": "mean"}], 1.0)}
    source = PointCloudSource("EPSG:2154", 1.0, products, 10_000)
    extent = (380_000, 6_540_000, 400_000, 6_550_000)
    report = ingest_pointcloud(
        store, "lidar", source, entries, tiles=None, run_id="r", extent=extent
    )
    return store, report


def test_a_point_cloud_in_utm_is_transformed_to_lambert_93(tmp_path):
    """The same terrain delivered in UTM 30N lands in the Lambert-93 tile it lies in, its
    heights as delivered; the COGs say how the points were transformed."""
    rng = np.random.default_rng(2)
    x, y = 390_000 + rng.uniform(0, 200, 40_000), 6_544_000 + rng.uniform(0, 200, 40_000)
    z = 10 + 0.01 * (x - 390_000)
    ux, uy = pyproj.Transformer.from_crs(2154, 32630, always_xy=True).transform(x, y)
    store, report = _ingest_one(tmp_path, lambda p: write_las(p, ux, uy, z, crs="EPSG:32630"))
    assert report.rejected_files == []
    (row,) = current(
        store.table_uri("lidar", "versions"), store.table_uri("lidar", "closures")
    ).to_pylist()
    assert row["tile"] == "0390_6550" and row["crs"] == "EPSG:2154"
    assert row["point_count"] == 40_000
    assert abs(row["bbox_xmin"] - 390_000) < 1.5 and abs(row["bbox_ymax"] - 6_544_200) < 1.5
    with rasterio.open(store.root / row["path"]) as cog:
        dtm, transform = cog.read(1), cog.transform
        lineage = cog.tags()["JNFT_LINEAGE"]
    assert lineage.startswith("transformed from EPSG:32630 (WGS 84 / UTM zone 30N) to EPSG:2154")
    assert lineage.endswith("heights kept as delivered (the file's CRS declares no vertical datum)")
    cols = np.arange(dtm.shape[1])
    centres = transform.c + (cols + 0.5) * transform.a
    plane = np.broadcast_to(10 + 0.01 * (centres - 390_000), dtm.shape)
    filled = dtm != -9999
    assert filled.sum() > 20_000  # one point per m² on average, no gap filling
    assert np.abs(dtm[filled] - plane[filled]).max() < 0.02  # 1 m cells on a 1 % slope


def test_a_geocentric_point_cloud_is_refused_without_the_geoid_grid(tmp_path):
    """EPSG:4978 heights are ellipsoidal: NGF-IGN69 needs IGN's geoid grid, absent here, so
    the file is refused naming both CRSs rather than stored ~50 m off (c06_extent)."""
    rng = np.random.default_rng(3)
    x, y = 390_000 + rng.uniform(0, 200, 1_000), 6_544_000 + rng.uniform(0, 200, 1_000)
    to_geocentric = pyproj.Transformer.from_crs(2154, 4978, always_xy=True)
    gx, gy, gz = to_geocentric.transform(x, y, np.full(1_000, 55.0))
    store, report = _ingest_one(
        tmp_path, lambda p: write_las(p, gx, gy, gz, crs="EPSG:4978", version="1.4")
    )
    (reason,) = report.rejected_files
    assert reason.startswith("lidar/LHD_2024-06-30/tile.laz: EPSG:4978 (WGS 84) cannot be brought")
    assert "EPSG:5698 (RGF93 v1 / Lambert-93 + NGF-IGN69 height)" in reason
    assert "geoid grid" in reason
    files = _quarantined_files(store, "lidar")
    assert files["criterion"].to_list() == ["c06_extent"]


def test_a_point_cloud_outside_france_is_refused_naming_where_it_lies(shared_data, tmp_path):
    oregon = shared_data / "lidar" / "PDAL__1.2-with-color.copc.laz"
    _, report = _ingest_one(tmp_path, lambda p: shutil.copy(oregon, p))
    (reason,) = report.rejected_files
    assert "NAD83 / Oregon LCC (m) + NAVD88 height (ftUS)" in reason
    # The file declares metres where its coordinates are feet: it lies where its CRS says.
    assert "lie at lon -117.2693…-117.2207, lat 49.3392…49.3819, outside France" in reason
