import numpy as np
import pyflwdir
import pytest
import richdem

from jnft.simulation.screening import accumulation, bathtub_depth, drainage, edges, hand

# pyflwdir's D8 codes by (row offset, column offset)
D8 = {(-1, 0): 64, (-1, 1): 128, (0, 1): 1, (1, 1): 2, (1, 0): 4, (1, -1): 8, (0, -1): 16,
      (-1, -1): 32}  # fmt: skip


def terrain(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n]
    return 0.02 * x + 3 * np.sin(x / 37.0) * np.cos(y / 23.0) + rng.normal(0, 0.3, (n, n))


def test_the_filled_dem_equals_pyflwdirs_and_richdems():
    z = terrain()
    ours = drainage(z).filled
    theirs, _ = pyflwdir.fill_depressions(z)
    assert np.allclose(ours, theirs, atol=1e-6)  # pyflwdir queues float32 elevations
    rd = richdem.fill_depressions(richdem.rdarray(z.copy(), no_data=-9999.0), in_place=False)
    assert np.array_equal(ours, np.asarray(rd))


def test_hand_equals_pyflwdirs_on_the_same_network():
    z = terrain()
    d = drainage(z)
    cols = z.shape[1]
    codes = np.zeros(z.size, dtype=np.uint8)  # 0: outlet
    for cell, target in enumerate(d.receiver):
        if target >= 0:
            codes[cell] = D8[(target // cols - cell // cols, target % cols - cell % cols)]
    network = pyflwdir.from_array(codes.reshape(z.shape), ftype="d8", check_ftype=False)
    streams = accumulation(d) > 500
    theirs = network.hand(streams, d.filled)
    ours = hand(d, streams)
    both = np.isfinite(ours) & (theirs != -9999)
    assert both.mean() > 0.9
    assert np.abs(ours[both] - theirs[both]).max() <= 0.01
    assert np.array_equal(accumulation(d).astype(int), network.upstream_area(unit="cell"))


@pytest.mark.parametrize("strips", [1, 3])
def test_directions_run_downstream_in_the_order(strips):
    d = drainage(terrain(80), strips=strips)
    position = np.empty_like(d.order)
    position[d.order] = np.arange(d.order.size)
    assert d.order.size == 80 * 80  # every cell: no cycle
    has = d.receiver >= 0
    assert (position[d.receiver[has]] < position[has]).all()
    assert (d.receiver[edges((80, 80)).ravel()] == -1).all()
    assert has.sum() == 80 * 80 - edges((80, 80)).sum()  # every flat drains somewhere


@pytest.mark.parametrize("strips", [2, 3, 7])
def test_strips_flood_exactly_as_one(strips):
    """Barnes' parallel Priority-Flood: strips flooded apart, joined by their spill graph, give
    the whole DEM's filled levels, from the edges and from seas, around no-data cells;
    depressions and flats straddling the strips' shared rows drain to the same receivers."""
    z = terrain(150, seed=3)
    z[60:90, 40:110] -= 4.0  # a wide depression across the strips' boundaries
    z[rng_mask(z.shape, 0.01)] = np.nan
    west, north = np.zeros(z.shape, dtype=bool), np.zeros(z.shape, dtype=bool)
    west[:, :8] = True
    north[:5] = True  # the southern strips have no seed of their own
    for seeds in (None, west, north):
        whole, split = drainage(z, seeds, strips=1), drainage(z, seeds, strips=strips)
        assert np.array_equal(whole.filled, split.filled, equal_nan=True)
        streams = accumulation(whole) > 200
        assert np.array_equal(hand(whole, streams), hand(split, streams), equal_nan=True)
        assert np.array_equal(whole.receiver, split.receiver)  # flats routed the same too


def rng_mask(shape, fraction, seed=5):
    return np.random.default_rng(seed).random(shape) < fraction


def test_the_bathtub_floods_only_what_the_sea_reaches():
    """A polder behind a dike stays dry until the sea tops the dike; then it fills."""
    z = np.full((20, 30), 3.0)
    z[:, :5] = -2.0  # sea
    z[:, 10] = 4.0  # dike
    z[5:15, 12:20] = 0.5  # polder, below the sea levels tried
    sea = np.zeros(z.shape, dtype=bool)
    sea[:, :5] = True
    spill = drainage(z, seeds=sea).filled
    at_3 = bathtub_depth(z, spill, 3.5)
    assert np.isnan(at_3[10, 15]) and at_3[10, 2] == pytest.approx(5.5)
    at_4 = bathtub_depth(z, spill, 4.5)
    assert at_4[10, 15] == pytest.approx(4.0)  # over the dike: the polder is as deep as the sea
    assert np.nanmax(spill[5:15, 12:20]) == pytest.approx(4.0)  # its spill level is the dike's


def test_strips_agree_on_random_dems_with_ties_and_holes():
    """Small random DEMs with tied elevations, no-data holes and scattered seeds: any number of
    strips fills exactly like one, and every receiver chain is acyclic."""
    rng = np.random.default_rng(0)
    for _ in range(60):
        z = np.round(rng.normal(0, 1, rng.integers(4, 40, 2)) * 10) / 10
        z[rng.random(z.shape) < 0.1] = np.nan
        seeds = rng.random(z.shape) < 0.05
        if not (seeds & np.isfinite(z)).any():
            continue
        whole = drainage(z, seeds, strips=1)
        for strips in (2, 3, 5):
            split = drainage(z, seeds, strips=strips)
            assert np.array_equal(whole.filled, split.filled, equal_nan=True)
            assert np.array_equal(whole.receiver, split.receiver)
            assert split.order.size == z.size
