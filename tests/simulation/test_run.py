import numpy as np
import pytest
import shapely

from jnft.simulation.run import Features, FloodInputs, Terrain, flood_tile, terrain_grid
from jnft.simulation.scenario import Coastal, Gauge, Scenario
from jnft.tiles import tile_grid_bounds

TILE = "0380_6550"
RES = 5.0


def scenario(**changes) -> Scenario:
    fields = {
        "id": "test_surge",
        "title": "surge",
        "description": "a surge on a ramp",
        "kind": "coastal",
        "coastal": Coastal(
            tide_gauge=Gauge(concept="tide", station="S", variable="level"), surge_m=1.0
        ),
        "duration_h": 2,
        "resolution_m": 25,
        "margin_m": 100,
        **changes,
    }
    return Scenario(**fields)


def ramp_inputs() -> FloodInputs:
    """A 2 km × 1 km coast at the tile's west edge: ground rising 1 m per 100 m from −3 m, a
    building and a school at 1 m (flooded by a 2 m sea), another building at 8 m (dry)."""
    x0, _, _, y1 = tile_grid_bounds(TILE, RES)
    rows, cols = 200, 400
    x = np.arange(cols) * RES
    dem = np.tile(-3.0 + x / 100.0, (rows, 1))
    low, high = (x0 + 400.0, y1 - 500.0), (x0 + 1100.0, y1 - 500.0)

    def square(p):
        return shapely.box(p[0] - 5, p[1] - 5, p[0] + 5, p[1] + 5)

    communes = np.array([shapely.box(x0, y1 - 1000, x0 + 2000, y1)])
    return FloodInputs(
        terrain=Terrain(dem, x0, y1, RES),
        watercourses=Features(np.array([], dtype=object)),
        series={"tide": (np.arange(100), np.full(100, 1.0))},  # the sea at 1 m + 1 m surge
        buildings=Features(
            np.array([square(low), square(high)]),
            {"dwellings": np.array([4, 2])},
            np.array([TILE, TILE]),
        ),
        residents=Features(communes, {"count": np.array([12])}, np.array([TILE])),
        admin_units=Features(communes, {"code": np.array(["17001"]), "name": np.array(["A"])}),
        equipment=Features(
            np.array([square(low)]),
            {"category": np.array(["Enseignement"]), "nature": np.array(["École"])},
            np.array([TILE]),
        ),
    )


def test_a_surge_floods_the_low_building_and_school_only(tmp_path):
    result = flood_tile(scenario(), ramp_inputs(), TILE, tmp_path)
    assert result.design["peak_level_m"] == pytest.approx(2.0)
    assert abs(result.volume_error) < 1e-9
    assert result.products["max_depth"].shape == (40, 80)  # the part of the tile with terrain
    exposed = result.exposure.to_pylist()
    assert sum(r["buildings"] for r in exposed) == 1
    assert sum(r["dwellings"] for r in exposed) == 4
    assert sum(r["residents"] for r in exposed) == pytest.approx(12 * 4 / 6)
    assert [(r["category"], r["kind"]) for r in result.equipment.to_pylist()] == [
        ("Enseignement", "École")
    ]


def test_the_scenario_grid_must_be_a_multiple_of_the_dem():
    inputs = ramp_inputs()
    with pytest.raises(ValueError, match=r"resolution_m 12\.0 is not a multiple of the DEM's 5\.0"):
        terrain_grid(scenario(resolution_m=12), inputs.terrain, inputs.watercourses)
