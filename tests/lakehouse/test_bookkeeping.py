from jnft.lakehouse.bookkeeping import merged_vintages, quarantined_rows, rejected_files
from tests.quality.test_broken_layers import BATIMENT
from tests.quality.test_observe import lake


def test_a_lakehouse_without_tables_has_nothing_booked(tmp_path):
    from jnft.lakehouse.store import Lakehouse

    store = Lakehouse.at(tmp_path)
    assert quarantined_rows(store, "x", {"a"}) == {}
    assert rejected_files(store, "x") == 0
    assert merged_vintages(store, "x", ["0380_6550"]) == []


def test_merged_vintages_are_those_of_the_tiles(small_sources, tmp_path):
    store = lake(small_sources, tmp_path, BATIMENT)
    assert merged_vintages(store, "batiment", ["0390_6550"]) == ["2023-03-15", "2025-03-15"]
    assert merged_vintages(store, "batiment", ["0000_0000"]) == []
