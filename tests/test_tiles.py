import numpy as np
import pytest

from jnft.tiles import model_resolution, tile_bounds, tile_name, tiles_covering, tiles_of_points


def test_name_and_bounds_round_trip():
    assert tile_name(380, 6550) == "0380_6550"
    assert tile_bounds("0380_6550") == (380_000.0, 6_540_000.0, 390_000.0, 6_550_000.0)


@pytest.mark.parametrize("bad", ["380_6550", "0385_6550", "abcd_efgh", "0380-6550"])
def test_bad_tile_names_are_refused(bad):
    with pytest.raises(ValueError):
        tile_bounds(bad)


def test_points_fall_in_one_tile_each():
    x = np.array([380_000.0, 389_999.9, 390_000.0, 395_000.0])
    y = np.array([6_540_000.0, 6_549_999.9, 6_545_000.0, 6_550_000.0])
    assert tiles_of_points(x, y).tolist() == ["0380_6550", "0380_6550", "0390_6550", "0390_6560"]


def test_tiles_covering_a_box():
    assert tiles_covering((380_000, 6_540_000, 400_000, 6_550_000)) == ["0380_6550", "0390_6550"]
    assert tiles_covering((389_000, 6_549_000, 391_000, 6_551_000)) == [
        "0380_6550",
        "0380_6560",
        "0390_6550",
        "0390_6560",
    ]
    with pytest.raises(ValueError):
        tiles_covering((1, 1, 1, 2))


def test_a_tile_name_read_as_a_number_says_to_quote_it():
    with pytest.raises(ValueError, match="quote tile names in YAML"):
        tile_bounds(0o4606740)  # what YAML makes of an unquoted 0460_6740


def test_the_model_resolution_is_a_multiple_of_the_dem():
    assert model_resolution(25, 5) == 25 and model_resolution(12, 5) == 10
    assert model_resolution(25, 100) == 100  # never finer than the DEM
