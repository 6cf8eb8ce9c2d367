"""The out-of-core screening gives exactly what the in-memory one gives: the filled DEM, the
D8 receivers (flats included), the flow accumulation and HAND, on generated DEMs whose
depressions and flats straddle tile boundaries, with no-data holes, on tile grids that do not
divide the DEM, from the DEM's edges or from the data's edges; tasks run on a LocalCluster of
worker processes, or on the scheduler Dask's configuration names."""

from pathlib import Path

import dask
import numpy as np
import pytest
import rasterio
import scipy.ndimage
from distributed import LocalCluster
from rasterio.transform import from_origin

from jnft.formats.raster import cog_problem
from jnft.simulation.outofcore import QUANTITIES, screen
from jnft.simulation.outofcore.cluster import dask_client, scheduler_address
from jnft.simulation.outofcore.flow import receivers
from jnft.simulation.outofcore.grid import TileGrid, Window, ring
from jnft.simulation.outofcore.rasters import open_dem, tile_path, write_tile
from jnft.simulation.screening import accumulation, drainage, hand

CELL = 5.0
THRESHOLD_KM2 = 0.005  # 200 cells of 25 m²


@pytest.fixture(scope="module")
def client():
    with dask_client(n_workers=2) as c:
        yield c


def terrain(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Valleys and noise rounded to 0.5 m (flats), a wide depression across tiles, holes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    z = 0.02 * x + 3 * np.sin(x / 37.0) * np.cos(y / 23.0) + rng.normal(0, 0.3, (h, w))
    z[30:100, 20:120] -= 4.0
    z = np.round(z * 2) / 2
    z[rng.random((h, w)) < 0.01] = np.nan
    z[70:80, 130:150] = np.nan  # a no-data lake
    return z.astype(np.float32)


def write(path: Path, z: np.ndarray, nodata: float = np.nan) -> Path:
    with rasterio.open(
        path, "w", driver="GTiff", height=z.shape[0], width=z.shape[1], count=1,
        dtype=z.dtype.name, crs="EPSG:2154", transform=from_origin(600_000, 6_800_000, CELL, CELL),
        nodata=nodata, tiled=True, blockxsize=16, blockysize=16,
    ) as dst:  # fmt: skip
        dst.write(z, 1)
    return path


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


@pytest.mark.parametrize(
    ("shape", "tile", "outlets"),
    [((150, 170), 64, "edges"), ((150, 170), 149, "edges"), ((121, 133), 40, "data_edges")],
)
def test_tiles_screen_exactly_as_in_memory(tmp_path, client, shape, tile, outlets):
    z = terrain(*shape)
    result = screen(write(tmp_path / "dem.tif", z), tmp_path / "out", client, tile=tile,
                    threshold_km2=THRESHOLD_KM2, outlets=outlets)  # fmt: skip
    z64 = z.astype(np.float64)
    valid = np.isfinite(z64)
    seeds = None if outlets == "edges" else valid & ~scipy.ndimage.binary_erosion(valid)
    flow = drainage(z64, seeds=seeds)
    assert np.array_equal(read(result.path("filled")), flow.filled.astype(np.float32),
                          equal_nan=True)  # fmt: skip
    assert np.array_equal(receivers(read(result.path("direction"))), flow.receiver)
    ours, theirs = read(result.path("accumulation")), accumulation(flow)
    assert np.array_equal(ours[valid], theirs[valid]) and np.isnan(ours[~valid]).all()
    streams = np.where(valid, theirs * CELL**2 / 1e6, 0.0) >= THRESHOLD_KM2
    heights = hand(flow, streams)
    assert np.isfinite(heights).mean() > 0.2  # a network the paths meet
    assert np.array_equal(read(result.path("hand")), heights.astype(np.float32), equal_nan=True)
    if tile == 64:
        assert result.flat_rounds > 1  # the flats filling makes cross tiles: relaxed in rounds


def test_the_filled_levels_are_exact_on_a_float64_dem(tmp_path, client):
    """Levels are elevations: kept in the DEM's own precision."""
    z = terrain(60, 70, seed=2).astype(np.float64) + 1e-9
    result = screen(write(tmp_path / "dem.tif", z), tmp_path / "out", client, tile=25,
                    threshold_km2=THRESHOLD_KM2)  # fmt: skip
    assert np.array_equal(read(result.path("filled")), drainage(z).filled, equal_nan=True)


def test_an_integer_dem_with_a_nodata_value_fills_as_in_memory(tmp_path, client):
    """Decimetres in int16, holes marked by the file's no-data value, levels in float32."""
    z = terrain(60, 70, seed=4) * 10
    stored = np.where(np.isfinite(z), z, -32768).astype(np.int16)
    result = screen(write(tmp_path / "dem.tif", stored, nodata=-32768), tmp_path / "out", client,
                    tile=25, threshold_km2=THRESHOLD_KM2)  # fmt: skip
    filled = read(result.path("filled"))
    assert filled.dtype == np.float32 and np.isnan(filled).sum() == np.isnan(z).sum()
    expected = drainage(z.astype(np.float64)).filled.astype(np.float32)
    assert np.array_equal(filled, expected, equal_nan=True)


def test_perimeter_ids_number_each_tile_ring_once():
    grid = TileGrid(11, 9, 4)  # tiles of 4, 4, 3 rows and 4, 4, 1 columns
    ids = []
    for i, j in grid.tiles():
        win = grid.window(i, j)
        rows, cols = ring(win.height, win.width)
        found = grid.ring_ids(rows + win.row, cols + win.col)
        assert np.array_equal(found, np.arange(grid.ring_range(i, j).start,
                                               grid.ring_range(i, j).stop))  # fmt: skip
        ids.append(found)
    every = np.concatenate(ids)
    assert np.array_equal(np.sort(every), np.arange(grid.ring_cells))
    inside = grid.ring_ids(np.array([1, 5]), np.array([1, 5]))  # tile interiors
    assert (inside == -1).all()
    assert all((a >= 0).all() and (b >= 0).all() for a, b in grid.cross_pairs())


def test_the_tiles_are_cogs_the_lakehouse_accepts(tmp_path):
    """Tiles larger than a COG block get overviews (the screening's test DEMs are smaller)."""
    dem = open_dem(write(tmp_path / "dem.tif", terrain(8, 8)))
    win = Window(1024, 2048, 1030, 1100)
    cells = np.arange(win.height * win.width).reshape(win.height, win.width)
    tiles = {
        "filled": (cells.astype(np.float32), np.nan),
        "direction": ((cells % 9).astype(np.uint8), None),
        "accumulation": (cells.astype(np.float64), np.nan),
        "hand": (cells.astype(np.float32), np.nan),
    }
    assert set(tiles) == set(QUANTITIES)
    for name, (data, nodata) in tiles.items():
        write_tile(tmp_path, name, 3, 2, win, dem, data, nodata)
        path = tile_path(tmp_path, name, 3, 2)
        assert cog_problem(path) is None
        with rasterio.open(path) as src:
            assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.overviews(1)
            assert src.xy(0, 0, offset="ul") == (600_000 + 2048 * CELL, 6_800_000 - 1024 * CELL)
            assert np.array_equal(src.read(1), data)


def test_a_dem_gdal_cannot_read_or_with_several_bands_is_refused(tmp_path):
    missing = tmp_path / "absent.tif"
    with pytest.raises(ValueError, match=r"absent\.tif: not a raster GDAL can read"):
        open_dem(missing)
    two = tmp_path / "two.tif"
    with rasterio.open(two, "w", driver="GTiff", height=4, width=4, count=2, dtype="float32") as d:
        d.write(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"two\.tif: 2 bands; .* single-band"):
        open_dem(two)


def test_the_scheduler_comes_from_dasks_configuration():
    """`DASK_SCHEDULER_ADDRESS` (or `scheduler-address` in a Dask YAML) points the client at a
    running cluster instead of starting one."""
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                           dashboard_address=":0")  # fmt: skip
    with cluster, dask.config.set({"scheduler-address": cluster.scheduler_address}):
        assert scheduler_address() == cluster.scheduler_address
        with dask_client() as c:
            assert c.scheduler.address == cluster.scheduler_address
            assert c.submit(sum, [1, 2]).result() == 3
    with dask.config.set({"scheduler-address": None}):
        assert scheduler_address() is None
