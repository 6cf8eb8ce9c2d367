from dataclasses import replace

import numpy as np
import pytest
import shapely

from jnft.simulation.run import Features, FloodInputs, Terrain, flood_tile, terrain_grid
from jnft.simulation.scenario import Coastal, Gauge, River, Scenario
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


def test_the_model_grid_is_a_multiple_of_the_dem_stated():
    inputs = ramp_inputs()
    land = terrain_grid(scenario(resolution_m=12), inputs.terrain, inputs.watercourses)
    assert land.grid.resolution == 10.0
    assert "resolution_m 12 rounded to a multiple of the DEM's" in land.grid_from


def test_a_declared_still_water_level_floods_without_any_layer_but_the_terrain(tmp_path):
    """Terrain only: no series, no buildings, no admin units — maps, and empty exposure."""
    inputs = FloodInputs(terrain=ramp_inputs().terrain)
    flooded = []
    for level in (0.5, 1.5):
        coast = Coastal(still_water_level_m=level)
        result = flood_tile(scenario(id=f"swl_{level}".replace(".", "_"), coastal=coast),
                            inputs, TILE, tmp_path)  # fmt: skip
        assert result.design["tide_from"] == "declared still_water_level_m"
        assert result.exposure.num_rows == 0 and result.equipment.num_rows == 0
        flooded.append(int((result.products["max_depth"] > 0.01).sum()))
    assert 0 < flooded[0] < flooded[1]  # the higher level floods more


def test_a_coast_whose_terrain_holds_no_sea_needs_its_sea_side(tmp_path):
    terrain = ramp_inputs().terrain
    high = Terrain(terrain.dem + 10.0, terrain.x0, terrain.y1, terrain.resolution)
    with pytest.raises(ValueError, match=r"declare `coastal\.sea_edges`"):
        flood_tile(scenario(coastal=Coastal(still_water_level_m=9.0)), FloodInputs(high),
                   TILE, tmp_path)  # fmt: skip
    west = Coastal(still_water_level_m=9.0, sea_edges=("west",))
    result = flood_tile(scenario(coastal=west), FloodInputs(high), TILE, tmp_path)
    assert result.design["sea"] == "declared sides of the grid: west"
    assert (result.products["max_depth"] > 0.01).any()


def test_residents_come_from_the_communes_populations_without_a_grid(tmp_path):
    inputs = ramp_inputs()
    units = inputs.admin_units
    with_population = Features(units.geometries, {**units.columns, "population": np.array([30])})
    unbuilt = Features(inputs.buildings.geometries, {}, inputs.buildings.tiles)
    inputs = replace(inputs, residents=None, admin_units=with_population, buildings=unbuilt)
    (row,) = flood_tile(scenario(), inputs, TILE, tmp_path).exposure.to_pylist()
    assert row["dwellings_from"].startswith("estimated: footprint")
    assert row["residents_from"] == "admin units' populations, shared by dwellings"
    assert row["dwellings"] == 1 and row["residents"] == pytest.approx(15.0)  # 1 of 2 dwellings


def valley() -> Terrain:
    """A 3 km valley falling 2 m/km eastwards, its sides rising 5 m per 100 m."""
    x0, _, _, y1 = tile_grid_bounds(TILE, RES)
    rows, cols = 240, 600
    x, y = np.meshgrid(np.arange(cols) * RES, np.arange(rows) * RES)
    return Terrain(20.0 - 0.002 * x + 0.05 * np.abs(y - 600.0), x0, y1, RES)


def test_a_declared_discharge_follows_a_derived_network_down_the_valley(tmp_path):
    river = River(peak_discharge_m3s=80.0, time_to_peak_h=1, inflow_width_m=50)
    flood = scenario(id="q_declared", kind="river", coastal=None, river=river,
                     network_threshold_km2=0.5)  # fmt: skip
    result = flood_tile(flood, FloodInputs(valley()), TILE, tmp_path)
    assert result.design["peak_from"] == "declared"
    assert result.design["watercourses"].startswith("derived from the terrain")
    assert result.design["inflow"].startswith("head of the derived main stream")
    assert abs(result.volume_error) < 1e-3
    depth = np.nan_to_num(result.products["max_depth"])
    wet_rows = np.flatnonzero((depth > 0.05).any(axis=1))
    floor = 600.0 / 25.0  # the valley floor's row on the 25 m grid
    assert wet_rows.size and abs(np.median(wet_rows) - floor) <= 2  # water on the floor
    assert (depth[:, -5:] > 0.01).any()  # it reaches the valley's downstream end


def test_a_declared_hydrograph_enters_as_declared(tmp_path):
    river = River(hydrograph=((0, 2.0), (1, 60.0), (3, 2.0)), inflow_width_m=50)
    flood = scenario(id="q_hydrograph", kind="river", coastal=None, river=river,
                     network_threshold_km2=0.5)  # fmt: skip
    result = flood_tile(flood, FloodInputs(valley()), TILE, tmp_path)
    assert result.design["peak_from"] == "declared hydrograph"
    assert result.design["peak_discharge_m3s"] == 60.0
    assert abs(result.volume_error) < 1e-3 and (result.products["max_depth"] > 0.01).any()
