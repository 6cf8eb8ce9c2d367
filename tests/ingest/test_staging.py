import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from jnft.ingest.staging import ROW, SpooledRows, TableRows


def _rows(ids: list[str], tiles: list[str], start: int = 0) -> pa.Table:
    return pa.table(
        {
            "feature_id": pa.array(ids, pa.string()),
            "row_hash": pa.array(np.arange(len(ids)), pa.int64()),
            "tile": pa.array(tiles, pa.string()),
            "geometry": pa.array([b"\x01"] * len(ids), pa.binary()),
            ROW: pa.array(np.arange(start, start + len(ids)), pa.int64()),
        }
    )


@pytest.fixture
def spool():
    with SpooledRows() as rows:
        rows.append(_rows(["a", "b", "c"], ["T2", "T1", "T2"]))
        rows.append(_rows(["d", "e"], ["T1", "T3"], start=3))
        yield rows
    assert not rows.folder.exists()


def test_spooled_rows_are_read_back_by_tile_and_in_order(spool):
    assert spool.tile_counts() == {"T1": 2, "T2": 2, "T3": 1}
    got = pa.concat_tables(spool.batches(["T2", "T3"]))
    assert sorted(got["feature_id"].to_pylist()) == ["a", "c", "e"]
    assert ROW not in got.column_names
    assert spool.ordered()["feature_id"].to_pylist() == ["a", "b", "c", "d", "e"]
    assert spool.within(["T1"]).tile_counts() == {"T1": 2}


def test_excluded_and_rolled_back_rows_are_gone(spool):
    spool.exclude(np.array([1, 4]))  # b (T1) and e (T3)
    assert spool.tile_counts() == {"T1": 1, "T2": 2}
    mark = spool.mark()
    spool.append(_rows(["f"], ["T9"], start=5))
    spool.rollback(mark)
    assert spool.ordered()["feature_id"].to_pylist() == ["a", "c", "d"]
    keys = spool.keys()
    chosen = keys.filter(keys["feature_id"] == "c")["row"].to_numpy()
    assert [t["feature_id"].to_pylist() for t in spool.batches(["T2"], chosen)] == [["c"]]


def test_duplicated_ids_are_found_in_memory_and_spooled():
    with SpooledRows() as spool:
        spool.append(_rows(["a", "b"], ["T1", "T1"]))
        assert spool.duplicated_ids().to_list() == []
        spool.append(_rows(["c", "a"], ["T2", "T2"], start=2))
        assert spool.duplicated_ids().to_list() == ["a"]
    table = _rows(["a", "b", "a"], ["T1", "T1", "T2"]).drop_columns(ROW)
    assert TableRows(table).duplicated_ids().to_list() == ["a"]
    assert TableRows(table).within(["T2"]).tile_counts() == {"T2": 1}


def test_a_spool_whose_rows_were_all_rejected_has_typed_empty_keys():
    with SpooledRows() as spool:
        spool.append(_rows([], []))
        keys = spool.keys()
        assert keys.height == 0 and keys.schema["row_hash"] == pl.Int64
        assert spool.ordered().num_rows == 0 and spool.tile_counts() == {}
