"""The VRT mosaic of COG tiles: read as one grid, each tile's cells where they were; tiles of
another grid refused."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from jnft.ogcapi.mosaic import MosaicError, write_vrt

NODATA = -99999.0


def tile(path, left: float, top: float, values: np.ndarray, res: float = 5.0):
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": 1,
        "width": values.shape[1],
        "height": values.shape[0],
        "crs": "EPSG:2154",
        "transform": from_origin(left, top, res, res),
        "nodata": NODATA,
    }
    with rasterio.open(path, "w", **profile) as target:
        target.write(values.astype("float32"), 1)
    return path


def test_tiles_read_as_one_grid(tmp_path):
    west = np.arange(12, dtype="float32").reshape(3, 4)
    east = 100 + np.arange(6, dtype="float32").reshape(3, 2)
    east[0, 0] = NODATA
    paths = [
        tile(tmp_path / "east.tif", 380020.0, 6545015.0, east),
        tile(tmp_path / "west.tif", 380000.0, 6545015.0, west),
    ]
    vrt = write_vrt(paths, tmp_path / "mosaic" / "m.vrt")
    with rasterio.open(vrt) as grid:
        assert (grid.width, grid.height) == (6, 3)
        assert grid.bounds == (380000.0, 6545000.0, 380030.0, 6545015.0)
        assert grid.nodata == NODATA and grid.crs.to_epsg() == 2154
        values = grid.read(1)
    assert np.array_equal(values[:, :4], west)
    assert np.array_equal(values[:, 4:], east)


def test_a_tile_between_two_others_leaves_no_data_in_the_gap(tmp_path):
    one = np.ones((2, 2), dtype="float32")
    paths = [
        tile(tmp_path / "a.tif", 380000.0, 6545010.0, one),
        tile(tmp_path / "b.tif", 380020.0, 6545000.0, 2 * one),
    ]
    with rasterio.open(write_vrt(paths, tmp_path / "m.vrt")) as grid:
        values = grid.read(1, masked=True)
    assert values.shape == (4, 6)
    assert values[:2, :2].tolist() == [[1, 1], [1, 1]] and values[2:, 4:].sum() == 8
    assert values.mask[:2, 2:].all() and values.mask[2:, :4].all()


@pytest.mark.parametrize(
    ("left", "res", "problem"), [(380002.0, 5.0, "off the grid"), (380020.0, 2.0, "res")]
)
def test_a_tile_of_another_grid_is_refused(tmp_path, left, res, problem):
    paths = [
        tile(tmp_path / "a.tif", 380000.0, 6545010.0, np.ones((2, 2))),
        tile(tmp_path / "b.tif", left, 6545010.0, np.ones((2, 2)), res=res),
    ]
    with pytest.raises(MosaicError, match=problem) as refused:
        write_vrt(paths, tmp_path / "m.vrt")
    assert "b.tif" in str(refused.value)
    assert not (tmp_path / "m.vrt").exists()
