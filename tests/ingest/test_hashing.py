import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from jnft.ingest.hashing import hash_columns, to_hex

TABLE = pa.table(
    {
        "s": pa.array(["a", "b", None, "a"]),
        "i": pa.array([1, 2, 3, 1], pa.int32()),
        "f": pa.array([0.0, -0.0, 1.5, 0.0]),
        "d": pa.array([dt.date(2023, 1, 1)] * 4),
        "g": pa.array([b"\x01", b"\x02", b"", b"\x01"], pa.binary()),
    }
)


def test_equal_rows_hash_equal_and_others_differ():
    h = hash_columns(TABLE, TABLE.column_names)
    assert h[0] == h[3]
    assert len(set(h[:3].tolist())) == 3


def test_hash_is_stable_across_releases():
    # Stored in `row_hash`: a change here would mark every row of every table as changed.
    assert (
        to_hex(hash_columns(TABLE, ["s", "i"])).to_pylist()[0]
        == to_hex(hash_columns(TABLE.slice(3), ["s", "i"])).to_pylist()[0]
    )
    assert to_hex(hash_columns(pa.table({"s": ["BATIMENT0001"]}), ["s"])).to_pylist() == [
        "c1ebe90a8e09dad5"
    ]


def test_null_differs_from_empty_and_order_matters():
    t = pa.table({"a": pa.array([None, ""]), "b": pa.array(["x", "x"])})
    assert len(set(hash_columns(t, ["a"]).tolist())) == 2
    assert not np.array_equal(hash_columns(t, ["a", "b"]), hash_columns(t, ["b", "a"]))


def test_chunked_and_sliced_columns_hash_like_contiguous_ones():
    chunked = pa.concat_tables([TABLE.slice(0, 2), TABLE.slice(2)])
    assert np.array_equal(
        hash_columns(chunked, TABLE.column_names), hash_columns(TABLE, TABLE.column_names)
    )


def test_hex_is_16_lowercase_characters():
    assert to_hex(np.array([0, 2**64 - 1], dtype=np.uint64)).to_pylist() == [
        "0000000000000000",
        "ffffffffffffffff",
    ]


def test_unsupported_type_is_a_clear_error():
    with pytest.raises(TypeError, match="cannot hash"):
        hash_columns(pa.table({"l": pa.array([[1]])}), ["l"])
