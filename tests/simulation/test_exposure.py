import numpy as np
import pytest
import shapely

from jnft.simulation.exposure import (
    EXPOSURE_SCHEMA,
    DepthGrid,
    building_exposure,
    depth_class,
    equipment_exposure,
    estimated_dwellings,
    residents,
)


def test_depth_classes_of_the_risk_plans():
    labels = depth_class(np.array([0.0, 0.005, 0.3, 0.5, 0.7, 1.5, 3.0, np.nan]))
    assert labels.tolist() == [None, None, "0-0.5", "0-0.5", "0.5-1", "1-2", ">2", None]


def test_residents_are_shared_by_dwellings_within_each_square():
    squares = np.array([shapely.box(0, 0, 200, 200), shapely.box(200, 0, 400, 200)])
    points = shapely.points([[10, 10], [50, 50], [300, 100], [1000, 1000]])
    people, unlocated = residents(points, np.array([1, 3, 0, 5]), squares, np.array([40.0, 7.0]))
    assert people.tolist() == [10.0, 30.0, 0.0, 0.0]
    assert unlocated == 7.0  # the second square holds people but no dwelling


@pytest.fixture
def town():
    grid = DepthGrid(np.array([[0.0, 0.3], [0.8, 2.5]]), x0=0.0, y1=20.0, resolution=10.0)
    communes = (np.array([shapely.box(0, 0, 20, 20)]), ["17950"], ["Port-des-Jumeaux"])
    return grid, communes


def test_buildings_count_by_commune_and_depth(town):
    grid, communes = town
    points = shapely.points([[5, 15], [15, 15], [15, 14], [5, 5], [15, 5]])
    table = building_exposure("s", "t", grid, points, np.array([1, 2, 3, 4, 5]),
                              np.array([1.0, 2.0, 3.0, 4.0, 5.0]), communes,
                              ("building layer", "population grid"))  # fmt: skip
    assert table.schema == EXPOSURE_SCHEMA
    rows = {r["depth_class"]: r for r in table.to_pylist()}
    assert set(rows) == {"0-0.5", "0.5-1", ">2"}  # the dry building is not listed
    assert (rows["0-0.5"]["buildings"], rows["0-0.5"]["dwellings"]) == (2, 5)
    assert rows[">2"]["residents"] == 5.0 and rows[">2"]["insee_com"] == "17950"
    assert rows[">2"]["residents_from"] == "population grid"


def test_dwellings_estimated_from_footprint_and_storeys():
    footprints = np.array(
        [shapely.box(0, 0, 10, 9), shapely.box(0, 0, 20, 20), shapely.box(0, 0, 4, 4)]
    )
    heights = np.array([np.nan, 9.2, 30.0])  # 1 storey (unknown), 3 storeys, a shed of 16 m²
    assert estimated_dwellings(footprints, heights).tolist() == [1.0, 13.0, 0.0]
    assert estimated_dwellings(footprints, None).tolist() == [1.0, 4.0, 0.0]


def test_equipment_counts_by_kind(town):
    grid, communes = town
    points = shapely.points([[15, 15], [15, 5], [5, 15]])
    table = equipment_exposure("s", "t", grid, points, ["Santé", "Science et enseignement",
                               "Santé"], ["Hôpital", "École", "Hôpital"], communes)  # fmt: skip
    assert {(r["kind"], r["depth_class"], r["count"]) for r in table.to_pylist()} == {
        ("Hôpital", "0-0.5", 1),
        ("École", ">2", 1),
    }
