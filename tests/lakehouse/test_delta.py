import pyarrow as pa
from deltalake import write_deltalake

from jnft.lakehouse.delta import holds_already


def test_holds_already_compares_the_selected_rows_up_to_order(tmp_path):
    uri = str(tmp_path / "t")
    assert not holds_already(uri, pa.table({"k": ["a"]}), {})  # no table yet
    write_deltalake(uri, pa.table({"k": ["a", "a", "b"], "v": [1, 2, 3], "at": [7, 8, 9]}))
    a = pa.table({"k": ["a", "a"], "v": [2, 1], "at": [0, 0]})
    assert holds_already(uri, a, {"k": ["a"]}, ("at",))
    assert not holds_already(uri, a, {"k": ["a"]})  # `at` differs
    assert not holds_already(uri, a.slice(0, 1), {"k": ["a"]}, ("at",))
    assert not holds_already(uri, a, {}, ("at",))  # the whole table holds b too
