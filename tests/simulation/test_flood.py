import numpy as np
import pytest

from jnft.simulation.flood import (
    Forcing,
    Grid,
    coarsen,
    domain_for,
    inflow_cells,
    normal_depth,
    run_domain,
    sea_cells,
)
from jnft.simulation.inertial import Hydrograph


def test_coarsening_averages_blocks_and_ignores_holes():
    dem = np.arange(16, dtype=float).reshape(4, 4)
    dem[0, 0] = np.nan
    out = coarsen(dem, 2)
    assert out.shape == (2, 2) and out[0, 0] == np.mean([1, 4, 5]) and out[1, 1] == 12.5


def test_the_sea_is_the_low_ground_open_to_the_edge():
    z = np.ones((6, 6))
    z[:, 0] = -3  # the sea along the west edge
    z[3, 3] = -1  # an inland hollow below zero: not the sea
    sea = sea_cells(z)
    assert sea[:, 0].all() and not sea[3, 3] and sea.sum() == 6


def test_the_river_enters_at_its_highest_edge_cell():
    z = np.tile(np.linspace(0, 10, 20), (9, 1))  # the valley falls westwards
    channel = np.zeros_like(z, dtype=bool)
    channel[4, :] = True
    cells = inflow_cells(z, channel, width_cells=3)
    assert cells == [(3, 19), (4, 19), (5, 19)]


def test_a_tile_computes_the_whole_flood_that_reaches_it():
    flooded = np.zeros((10, 30), dtype=bool)
    flooded[4:6, 2:28] = True  # a valley across three tiles of 10 columns
    flooded[0:2, 25:30] = True  # another flood, apart
    assert domain_for(flooded, (0, 10, 10, 20), margin_cells=1) == (3, 7, 1, 29)
    assert domain_for(np.zeros_like(flooded), (0, 10, 10, 20), 1) is None


def test_normal_depth_follows_manning():
    h = normal_depth(100.0, 50.0, 0.001, 0.035)
    assert 50 * h ** (5 / 3) * 0.001**0.5 / 0.035 == pytest.approx(100.0, rel=1e-9)


def test_a_second_tile_reads_the_shared_run(tmp_path):
    z = np.tile(np.linspace(2.0, 0.0, 30), (12, 1))
    sea = np.zeros_like(z, dtype=bool)
    sea[:, 0] = True
    forcing = Forcing(((6, 29),), Hydrograph.constant(5.0), sea, Hydrograph.constant(0.5))
    manning = np.full(z.shape, 0.04)
    first = run_domain(z, manning, forcing, (0, 12, 0, 30), 10.0, 600.0, cache=tmp_path)
    again = run_domain(z, manning, forcing, (0, 12, 0, 30), 10.0, 600.0, cache=tmp_path)
    assert np.array_equal(first.max_depth, again.max_depth) and len(list(tmp_path.iterdir())) == 1
    assert first.max_depth[6, 29] > 0 and abs(first.volume.error) < 1e-3


def test_grid_windows_follow_cell_centres():
    grid = Grid(x0=-12.5, y1=112.5, resolution=25.0, rows=5, cols=8)
    assert grid.window_of((-12.5, -12.5, 87.5, 112.5)) == (0, 5, 0, 4)
