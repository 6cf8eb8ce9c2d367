import numpy as np
import polars as pl

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
        problems[1].startswith("lidar/LHD_2024-06-30/far.laz: points")
        and "territory" in problems[1]
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
