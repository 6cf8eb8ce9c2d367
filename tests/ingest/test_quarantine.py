import json

import numpy as np
import pyarrow as pa
from deltalake import DeltaTable

from jnft.formats.errors import Rejections
from jnft.ingest.quarantine import quarantine_rows, write_quarantine


def test_first_reason_wins_and_masks_add_up():
    rejections = Rejections(5)
    rejections.add(np.array([True, False, True, False, False]), "missing geometry")
    rejections.add(np.array([2, 3]), ["duplicate", "invalid"])
    assert rejections.mask.tolist() == [True, False, True, True, False]
    assert rejections.reasons == {0: "missing geometry", 2: "missing geometry", 3: "invalid"}
    assert len(rejections) == 3


def source_table():
    return pa.table(
        {
            "code": ["A", "B", "C"],
            "hauteur": [1.0, 2.0, 3.0],
            "geometry": pa.array([b"\x01", None, b"\x02"], pa.binary()),
        }
    )


def test_quarantined_rows_keep_their_record_and_reason():
    rejections = Rejections(3)
    rejections.add(np.array([1]), "missing geometry")
    table = source_table()
    rows = quarantine_rows(table, table["code"], rejections, "b.gpkg", "sha")
    assert rows.num_rows == 1
    row = rows.to_pylist()[0]
    assert (row["feature_id"], row["reason"], row["source_name"]) == (
        "B",
        "missing geometry",
        "b.gpkg",
    )
    assert json.loads(row["record"]) == {"code": "B", "hauteur": 2.0}


def test_writing_the_same_source_twice_replaces_its_rows(tmp_path):
    uri = str(tmp_path / "quarantine")
    rejections = Rejections(3)
    rejections.add(np.array([0, 2]), "invalid")
    table = source_table()
    rows = quarantine_rows(table, table["code"], rejections, "b.gpkg", "sha1")
    write_quarantine(uri, rows, ["sha1"])
    write_quarantine(uri, rows, ["sha1"])
    other = quarantine_rows(table, table["code"], rejections, "c.gpkg", "sha2")
    write_quarantine(uri, other.slice(0, 1), ["sha2"])
    stored = DeltaTable(uri).to_pyarrow_table()
    assert sorted(stored["source_sha256"].to_pylist()) == ["sha1", "sha1", "sha2"]
