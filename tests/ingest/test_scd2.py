import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
import shapely

from jnft.ingest.scd2 import VintageOrderError, merge_vintage
from jnft.lakehouse.history import as_of, history
from tests.factories import layer

V1, V2, V3 = dt.date(2023, 3, 15), dt.date(2025, 3, 15), dt.date(2026, 3, 15)


@pytest.fixture
def uris(tmp_path):
    return str(tmp_path / "versions"), str(tmp_path / "closures")


def at(uris, date: dt.date) -> dict[str, str]:
    rows = as_of(history(*uris), dt.datetime.combine(date, dt.time(12), tzinfo=dt.UTC))
    return dict(zip(rows["feature_id"].to_pylist(), rows["usage"].to_pylist(), strict=True))


def test_first_merge_inserts_everything(uris):
    result = merge_vintage(*uris, layer({"a": (0, "Résidentiel"), "b": (20, "Commercial")}), V1)
    assert (result.inserted, result.changed, result.closed) == (2, 0, 0)
    assert at(uris, V1) == {"a": "Résidentiel", "b": "Commercial"}


def test_rerun_of_the_same_vintage_changes_nothing(uris):
    data = layer({"a": (0, "Résidentiel"), "b": (20, "Commercial")})
    merge_vintage(*uris, data, V1)
    before = history(*uris)
    again = merge_vintage(*uris, data, V1)
    assert again.is_noop and again.unchanged == 2
    assert again.versions_version is None and again.closures_version is None
    assert history(*uris).num_rows == before.num_rows


def test_change_close_insert_and_asof(uris):
    merge_vintage(*uris, layer({"a": (0, "Résidentiel"), "b": (20, "Commercial")}), V1)
    result = merge_vintage(*uris, layer({"a": (0, "Religieux"), "c": (40, "Industriel")}), V2)
    assert (result.inserted, result.changed, result.closed, result.unchanged) == (1, 1, 1, 0)
    assert at(uris, dt.date(2024, 1, 1)) == {"a": "Résidentiel", "b": "Commercial"}
    assert at(uris, dt.date(2025, 6, 1)) == {"a": "Religieux", "c": "Industriel"}
    assert at(uris, dt.date(2020, 1, 1)) == {}
    table = history(*uris)
    assert table.num_rows == 4
    closed = [r for r in table.to_pylist() if r["valid_to"] is not None]
    assert sorted(r["feature_id"] for r in closed) == ["a", "b"]


def test_geometry_only_change_is_a_new_version(uris):
    merge_vintage(*uris, layer({"a": (0, "Résidentiel")}), V1)
    result = merge_vintage(*uris, layer({"a": (5, "Résidentiel")}), V2)
    assert result.changed == 1
    rows = history(*uris).to_pylist()
    geometries = {r["valid_from"].year: shapely.from_wkb(r["geometry"]).bounds[0] for r in rows}
    assert geometries == {2023: 0.0, 2025: 5.0}


def test_removed_then_readded_is_reopened(uris):
    merge_vintage(*uris, layer({"a": (0, "Résidentiel"), "b": (20, "Commercial")}), V1)
    merge_vintage(*uris, layer({"a": (0, "Résidentiel")}), V2)
    result = merge_vintage(*uris, layer({"a": (0, "Résidentiel"), "b": (20, "Commercial")}), V3)
    assert result.inserted == 1 and result.unchanged == 1
    assert at(uris, dt.date(2025, 6, 1)) == {"a": "Résidentiel"}
    assert at(uris, dt.date(2026, 6, 1)) == {"a": "Résidentiel", "b": "Commercial"}


def test_vintages_out_of_order_are_refused(uris):
    merge_vintage(*uris, layer({"a": (0, "Résidentiel")}), V2)
    before = history(*uris).num_rows
    with pytest.raises(VintageOrderError, match="older than vintage 2025-03-15"):
        merge_vintage(*uris, layer({"a": (0, "Commercial")}), V1)
    assert history(*uris).num_rows == before


def test_conflicting_redelivery_of_a_vintage_is_refused(uris):
    merge_vintage(*uris, layer({"a": (0, "Résidentiel")}), V1)
    with pytest.raises(VintageOrderError, match="already merged with different content"):
        merge_vintage(*uris, layer({"a": (0, "Commercial")}), V1)


def test_duplicate_ids_are_refused(uris):
    table = pa.concat_tables([layer({"a": (0, "Résidentiel")}), layer({"a": (9, "Commercial")})])
    with pytest.raises(ValueError, match="duplicated"):
        merge_vintage(*uris, table, V1)


def test_merge_is_scoped_to_its_tiles(uris):
    merge_vintage(
        *uris, layer({"a": (0, "Résidentiel")}, tile="0380_6550"), V1, tiles=["0380_6550"]
    )
    merge_vintage(*uris, layer({"b": (0, "Commercial")}, tile="0390_6550"), V1, tiles=["0390_6550"])
    # An empty delivery for one tile closes that tile's features only.
    empty = layer({}, tile="0390_6550")
    result = merge_vintage(*uris, empty, V2, tiles=["0390_6550"])
    assert result.closed == 1
    assert at(uris, dt.date(2025, 6, 1)) == {"a": "Résidentiel"}


def test_feature_moving_between_tiles(uris):
    merge_vintage(*uris, layer({"a": (0, "Résidentiel")}, tile="0380_6550"), V1)
    moved = layer({"a": (0, "Résidentiel")}, tile="0390_6550")
    merge_vintage(*uris, moved, V2, tiles=["0390_6550"])  # the new tile first: open twice
    result = merge_vintage(*uris, layer({}, tile="0380_6550"), V2, tiles=["0380_6550"])
    assert result.closed == 1
    current = as_of(history(*uris), dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    assert current["tile"].to_pylist() == ["0390_6550"]
    assert np.array_equal(current["feature_id"].to_numpy(zero_copy_only=False), ["a"])


def test_string_join_fallback_gives_the_same_history(uris, monkeypatch):
    from jnft.ingest import scd2 as module

    merge_vintage(*uris, layer({"a": (0, "R"), "b": (20, "C")}), V1)
    monkeypatch.setattr(module, "_match", lambda incoming, current: None)  # as on a collision
    result = merge_vintage(*uris, layer({"a": (0, "X"), "c": (40, "I")}), V2)
    assert (result.inserted, result.changed, result.closed) == (1, 1, 1)
    assert at(uris, dt.date(2025, 6, 1)) == {"a": "X", "c": "I"}


def test_unknown_features_are_not_closed_for_absence(uris):
    merge_vintage(*uris, layer({"a": (0, "R"), "b": (20, "C"), "c": (40, "I")}), V1)
    result = merge_vintage(*uris, layer({"a": (0, "R")}), V2, unknown={"b"})
    assert result.closed == 1  # c is gone; b was delivered but unreadable
    assert at(uris, dt.date(2025, 6, 1)) == {"a": "R", "b": "C"}


KILLED_MERGE = """
import datetime as dt, sys
from jnft.ingest.scd2 import merge_vintage
from tests.factories import layer
rows = layer({"a": (0, "X"), "c": (40, "I")})
merge_vintage(sys.argv[1], sys.argv[2], rows, dt.date(2025, 3, 15), run_id=sys.argv[3])
"""


@pytest.mark.parametrize(
    ("kill_at", "published"),
    [
        ("merge.begun", False),
        ("closures.appended", False),
        ("versions.appended", False),
        ("merge.published", True),
    ],
)
def test_a_merge_killed_at_any_commit_point_leaves_before_or_after(uris, kill_at, published):
    """SIGKILL-like death (os._exit) after each commit of a merge: the current layer is the
    state before or after the merge, never a mix; the re-run completes it exactly once."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    merge_vintage(*uris, layer({"a": (0, "R"), "b": (20, "C")}), V1)
    before, after = {"a": "R", "b": "C"}, {"a": "X", "c": "I"}
    root = Path(__file__).resolve().parents[2]

    def merge(run_id: str, kill: str | None) -> int:
        env = {**os.environ, **({"JNFT_KILL_AT": kill} if kill else {})}
        command = [sys.executable, "-c", KILLED_MERGE, *uris, run_id]
        return subprocess.run(command, env=env, cwd=root, check=False).returncode

    assert merge("killed", kill_at) == 137
    assert at(uris, dt.date(2025, 6, 1)) == (after if published else before)
    assert merge("rerun", None) == 0
    assert at(uris, dt.date(2025, 6, 1)) == after
    assert at(uris, dt.date(2024, 1, 1)) == before
    current = history(*uris).filter(pa.compute.is_null(history(*uris)["valid_to"]))
    assert sorted(current["feature_id"].to_pylist()) == ["a", "c"]  # once each


def test_a_vintage_held_by_its_audit_does_not_make_an_older_one_out_of_order(uris):
    """2026 refused (staged, never published): the 2025 delivery that comes next merges."""
    merge_vintage(*uris, layer({"a": (0, "R")}), V1)
    merge_vintage(*uris, layer({"a": (0, "Z")}), V3, run_id="refused", publish=False)
    merge_vintage(*uris, layer({"a": (0, "X")}), V2, run_id="next")
    assert at(uris, dt.date(2025, 6, 1)) == {"a": "X"}
    with pytest.raises(VintageOrderError, match="older than vintage 2025-03-15"):
        merge_vintage(*uris, layer({"a": (0, "Y")}), dt.date(2024, 1, 1), run_id="late")
