"""The UK Environment Agency 2D benchmark tests (Néelz & Pender 2013), as reconstructed in
`jnft.simulation.validation` from the report's published descriptions (sizes, slopes,
roughness, grids, durations and peak inflows are the report's; bowl shapes, hydrograph
ordinates and output points are ours — see the case docstrings)."""

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage

from jnft.simulation.inertial import simulate
from jnft.simulation.validation import ea_test2, ea_test4, fill_spill

GOLDEN = Path(__file__).parent / "golden" / "ea_test4_landlab.json"


def test_fill_spill_pours_a_cascade_of_lakes():
    z = np.full((5, 12), 2.0)
    z[1:4, 1:4], z[1:4, 6:9] = 0.0, -1.0  # two basins, the second deeper
    z[2, 4:6] = 1.0  # a sill between them
    surface = fill_spill(z, (2, 2), volume=9 * 1.0 + 4.5, dx=1.0)
    assert np.allclose(surface[1:4, 1:4], 1.0)  # the first basin full to its sill
    assert np.allclose(surface[1:4, 6:9], -0.5)  # the rest settles in the second
    assert (surface - z).sum() == pytest.approx(13.5)


def test_ea2_final_levels_match_the_fill_spill_of_the_inflow():
    """After 48 h the depressions hold the water a static fill-spill of the same inflow volume
    puts in them, within 2 cm: the full one at its spill level, the partly filled one, last in
    the cascade, at the level its share of the volume gives."""
    case = ea_test2()
    result = simulate(case.setup, case.duration)
    assert abs(result.volume.error) < 1e-3
    z = case.setup.z
    source = case.setup.inflows[0].cells[0]
    reference = fill_spill(z, source, result.volume.final, case.setup.dx)
    lakes, count = scipy.ndimage.label(reference - z > 0.05)
    assert count >= 2
    levels = []
    for lake in range(1, count + 1):
        cells = lakes == lake
        ours = float(np.median((z + result.depth)[cells]))
        expected = float(np.median(reference[cells]))
        full = cells.sum() == max((lakes == k).sum() for k in range(1, count + 1))
        levels.append((ours, expected, full))
        assert abs(ours - expected) <= 0.02, (lake, ours, expected)
    assert sum(full for *_, full in levels) >= 1 and not all(full for *_, full in levels)


def test_ea4_depths_agree_with_the_landlab_peer():
    """Depths at the six output points within 10 % of landlab's OverlandFlow on the same case
    (`bench/peers/ea_test4_landlab.py` makes the golden file): the peaks, and at least 90 % of
    the 5-minute reports once the water is 5 cm deep (the leading edge's timing aside)."""
    golden = json.loads(GOLDEN.read_text())
    case = ea_test4()
    result = simulate(case.setup, case.duration, probes=case.points, probe_every=golden["every_s"])
    assert abs(result.volume.error) < 1e-3
    for name, series in golden["depths"].items():
        peer = np.array([d for _, d in series])
        ours = np.array([d for _, d in result.probes[name]])
        assert ours.max() == pytest.approx(peer.max(), rel=0.10), name
        wet = peer > 0.05
        close = np.abs(ours[wet] - peer[wet]) <= 0.10 * peer[wet]
        assert close.mean() >= 0.9, (name, close.mean())
