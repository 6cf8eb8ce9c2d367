import numpy as np
import pytest
import rasterio.transform

from jnft.formats.footprint import file_footprint
from jnft.formats.raster import write_ascii_grid
from tests.factories import write_las


def test_a_point_cloud_header_tells_its_lambert93_box(tmp_path):
    path = tmp_path / "t.laz"
    write_las(
        path, np.array([390_100.0, 390_900.0]), np.array([6_544_100.0, 6_544_800.0]), np.zeros(2)
    )
    assert file_footprint(path, "LAS", None) == pytest.approx(
        (390_100, 6_544_100, 390_900, 6_544_800)
    )


def test_a_grid_without_crs_uses_the_fiche_crs(tmp_path):
    path = tmp_path / "g.asc"
    transform = rasterio.transform.from_origin(389_997.5, 6_545_002.5, 5, 5)
    write_ascii_grid(np.zeros((10, 10), np.float32), transform, path, nodata=-99999)
    assert file_footprint(path, "AAIGrid", None) is None
    assert file_footprint(path, "AAIGrid", "EPSG:2154") == pytest.approx(
        (389_997.5, 6_544_952.5, 390_047.5, 6_545_002.5)
    )


def test_an_unreadable_file_has_no_footprint(tmp_path):
    path = tmp_path / "broken.gpkg"
    path.write_bytes(b"not a geopackage")
    assert file_footprint(path, "GPKG", "EPSG:2154") is None
