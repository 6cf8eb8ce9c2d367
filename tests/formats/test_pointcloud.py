import numpy as np
import pytest

from jnft.formats.pointcloud import (
    Accumulator,
    GridWindow,
    PointCloudError,
    fill_gaps,
    read_chunks,
    read_info,
)
from tests.factories import write_las


def plane_points(n=20_000, seed=0, x0=700_000.0, y0=6_600_000.0, size=100.0):
    rng = np.random.default_rng(seed)
    x = x0 + rng.uniform(0, size, n)
    y = y0 + rng.uniform(0, size, n)
    return x, y, 10 + 0.05 * (x - x0) + 0.02 * (y - y0)


@pytest.mark.parametrize(
    ("version", "point_format", "suffix"),
    [("1.2", 3, ".las"), ("1.3", 1, ".laz"), ("1.4", 6, ".laz")],
)
def test_header_facts_of_las_12_and_laz_14(tmp_path, version, point_format, suffix):
    x, y, z = plane_points(1000)
    path = tmp_path / f"tile{suffix}"
    write_las(path, x, y, z, version=version, point_format=point_format)
    info = read_info(path)
    assert (info.version, info.point_format, info.point_count) == (version, point_format, 1000)
    assert info.crs == "EPSG:2154"
    assert info.bounds == pytest.approx((x.min(), y.min(), x.max(), y.max()), abs=0.01)


def test_a_missing_crs_comes_from_the_fiche_or_is_an_error(tmp_path):
    x, y, z = plane_points(100)
    path = tmp_path / "no_crs.laz"
    write_las(path, x, y, z, crs=None)
    assert read_info(path, "EPSG:2154").crs == "EPSG:2154"
    with pytest.raises(PointCloudError, match=r"no_crs\.laz.*no CRS and the fiche declares none"):
        read_info(path)


def test_points_stream_in_bounded_chunks(tmp_path):
    x, y, z = plane_points(25_000)
    path = tmp_path / "t.laz"
    write_las(path, x, y, z)
    chunks = list(read_chunks(path, {"X", "Y", "Z", "Classification"}, chunk_points=10_000))
    assert [len(c["X"]) for c in chunks] == [10_000, 10_000, 5_000]
    assert np.allclose(np.concatenate([c["Z"] for c in chunks]), z, atol=0.006)


def test_a_truncated_laz_names_the_file_and_the_point_reached(tmp_path):
    x, y, z = plane_points(50_000)
    path = tmp_path / "t.laz"
    write_las(path, x, y, z)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PointCloudError, match=r"t\.laz: truncated or corrupt point data"):
        for _ in read_chunks(path, {"X", "Y", "Z"}, chunk_points=5_000):
            pass


def test_an_empty_file_is_not_a_point_cloud(tmp_path):
    path = tmp_path / "empty.laz"
    path.write_bytes(b"")
    with pytest.raises(PointCloudError, match=r"empty\.laz: not a readable LAS/LAZ file"):
        read_info(path)


def test_binning_matches_numpy_for_every_operation():
    rng = np.random.default_rng(3)
    window = GridWindow(0.0, 10.0, 1.0, 10, 10)
    x, y = rng.uniform(-1, 11, 5000), rng.uniform(-1, 11, 5000)
    z = rng.normal(size=5000)
    keep = rng.random(5000) < 0.8
    col, row = np.floor(x).astype(int), np.floor(10 - y).astype(int)
    inside = keep & (col >= 0) & (col < 10) & (row >= 0) & (row < 10)
    cells = row[inside] * 10 + col[inside]
    counts = np.bincount(cells, minlength=100)
    expected = {"count": counts, "mean": np.bincount(cells, z[inside], 100) / np.maximum(counts, 1)}
    lowest = np.full(100, np.inf)
    np.minimum.at(lowest, cells, z[inside])
    highest = np.full(100, -np.inf)
    np.maximum.at(highest, cells, z[inside])
    expected |= {"min": lowest, "max": highest}
    for operation, values in expected.items():
        acc = Accumulator(window, operation)
        acc.add(x, y, z, keep)
        result = acc.result().ravel()
        has = counts > 0
        assert np.array_equal(np.isfinite(result), has), operation
        assert np.allclose(result[has], values[has], rtol=1e-6), operation


def test_gaps_are_filled_smoothly_up_to_the_distance():
    yy, xx = np.mgrid[0:64, 0:64]
    plane = 5 + 0.1 * xx + 0.05 * yy
    known = np.ones_like(plane, bool)
    known[20:26, 20:26] = False  # a hole of 6 cells
    known[:, 50:] = False  # a 14-cell wide strip with no data
    filled = fill_gaps(np.where(known, plane, np.nan).astype(np.float32), max_distance_cells=8)
    assert np.allclose(filled[known], plane[known], atol=1e-5)  # measured cells are kept
    assert np.abs(filled[20:26, 20:26] - plane[20:26, 20:26]).max() < 0.15
    assert np.isfinite(filled[:, 50:58]).all() and np.isnan(filled[:, 59:]).all()
