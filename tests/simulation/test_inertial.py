import numpy as np
import pytest

from jnft.simulation.inertial import (
    FreeOutflow,
    HeldLevel,
    Hydrograph,
    Inflow,
    Setup,
    simulate,
)
from jnft.simulation.validation import wetting_front, wetting_front_exact


def test_the_wetting_front_follows_the_analytical_solution():
    """Hunter et al. (2005) / Bates et al. (2010): u = 0.4 m/s, n = 0.01, Δx = 25 m, t = 9000 s;
    RMSE within 5 % of the boundary depth."""
    case = wetting_front()
    result = simulate(case.setup, case.duration)
    x = np.arange(case.setup.z.shape[1]) * case.setup.dx
    exact = wetting_front_exact(x, 0.4, 0.01, case.duration)
    behind = x <= 0.4 * case.duration
    rmse = np.sqrt(np.mean((result.depth[1, behind] - exact[behind]) ** 2))
    assert rmse <= 0.05 * exact[0]
    assert abs(result.volume.error) < 1e-3


def _basin(rows=30, cols=40, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols]
    return 0.01 * x + 0.005 * y + rng.normal(0, 0.05, (rows, cols))


@pytest.mark.parametrize(
    "setup",
    [
        Setup(z=_basin(), dx=10.0,
              inflows=[Inflow(((5, 35),), Hydrograph((0, 600, 1200), (0, 3, 0)))]),
        Setup(z=_basin(), dx=10.0, rain=Hydrograph.constant(5e-5),
              sides={"west": FreeOutflow(0.01)}),
        Setup(z=_basin(), dx=10.0, depth=np.full((30, 40), 0.3), manning=np.full((30, 40), 0.05),
              held=[HeldLevel(np.eye(30, 40, dtype=bool), Hydrograph((0, 1800), (0.2, 0.5)))]),
    ],
    ids=["inflow", "rain-and-free-outflow", "held-level-and-varying-n"],
)  # fmt: skip
def test_volume_is_conserved_in_every_run(setup):
    result = simulate(setup, 1800.0)
    assert abs(result.volume.error) < 1e-3  # 0.1 %
    assert (result.depth >= 0).all()


def test_free_outflow_drains_and_closed_sides_hold():
    z = np.zeros((10, 20))
    z[:, :] = np.linspace(1.0, 0.0, 20)  # sloping towards the east
    full = np.full(z.shape, 0.5)
    closed = simulate(Setup(z=z, dx=10.0, depth=full), 3600.0)
    free = simulate(Setup(z=z, dx=10.0, depth=full, sides={"east": FreeOutflow(0.005)}), 3600.0)
    assert closed.volume.final == pytest.approx(closed.volume.initial, rel=1e-9)
    assert free.volume.outflow > 0.3 * free.volume.initial
    assert abs(free.volume.error) < 1e-9


def test_outputs_track_the_flood():
    z = np.zeros((5, 60))
    inflow = Inflow(tuple((r, 0) for r in range(5)), Hydrograph.constant(2.0))
    result = simulate(Setup(z=z, dx=10.0, manning=0.03, inflows=[inflow]), 1800.0)
    arrival = result.arrival[2]
    reached = ~np.isnan(arrival)
    assert reached[:10].all() and np.all(np.diff(arrival[reached]) >= 0)  # the front advances
    assert (result.max_depth >= result.depth - 1e-6).all()
    assert result.max_speed[2, 1] > 0.05


def test_the_active_region_changes_nothing():
    """Computing only around wet cells gives the same flood as computing everywhere."""
    z = _basin(40, 40)
    inflow = Inflow(((20, 20),), Hydrograph.constant(1.0))
    local = simulate(Setup(z=z, dx=10.0, inflows=[inflow]), 900.0)
    everywhere = simulate(
        Setup(z=z, dx=10.0, inflows=[inflow], rain=Hydrograph.constant(0.0)), 900.0
    )
    assert np.allclose(local.max_depth, everywhere.max_depth, atol=1e-9)
    assert local.cell_updates < everywhere.cell_updates


def test_a_dem_with_holes_is_refused():
    z = np.zeros((4, 4))
    z[1, 1] = np.nan
    with pytest.raises(ValueError, match="no-data"):
        simulate(Setup(z=z, dx=1.0), 1.0)


def test_face_friction_matches_the_exact_power():
    """The branch-free h_f^(−7/3) (bit-level guess, three Newton steps) against the power."""
    from jnft.simulation.inertial import _flow, _inverse_cube_roots

    depths = np.geomspace(1.01e-3, 50.0, 2000)
    guesses = depths.astype(np.float32)
    _inverse_cube_roots(guesses, guesses.size)
    friction, slope, q, q_orth = 9.81 * 2.0 * 0.035**2, 9.81 * 2.0 / 10.0, 0.8, 0.3
    for h_f, y in zip(depths, guesses, strict=True):
        ours = _flow(h_f, float(y), 1.0, 0.99, 5.0, 5.0, q, q, q_orth, friction, slope, 1e9, 1e-3)
        speed = np.hypot(q, q_orth)
        exact = (q - slope * h_f * (0.99 - 1.0)) / (1.0 + friction * speed * h_f ** (-7 / 3))
        assert ours == pytest.approx(exact, rel=1e-8)
    dry = _flow(5e-4, 1.0, 1.0, 0.99, 5.0, 5.0, q, q, q_orth, friction, slope, 1e9, 1e-3)
    assert dry == 0.0
