"""A gold snapshot is renamed in whole: a writer killed before the rename leaves the previous
snapshot, readable, never a partial or missing file."""

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jnft.lakehouse.store import Lakehouse
from jnft.publish.gold import write_gold
from tests.formats.test_geoparquet import layer

WRITER = """
import sys
from jnft.lakehouse.store import Lakehouse
from jnft.publish.gold import write_gold
from tests.formats.test_geoparquet import layer
write_gold(Lakehouse.at(sys.argv[1]), "batiment", layer(int(sys.argv[2])))
"""


@pytest.mark.parametrize(("kill_at", "rows"), [("gold.written", 120), (None, 80)])
def test_a_killed_gold_writer_leaves_the_previous_snapshot(tmp_path, kill_at, rows):
    store = Lakehouse.at(tmp_path / "lake")
    write_gold(store, "batiment", layer(120))
    env = {k: v for k, v in os.environ.items() if k != "JNFT_KILL_AT"}
    env.update({"JNFT_KILL_AT": kill_at} if kill_at else {})
    command = [sys.executable, "-c", WRITER, str(store.root), "80"]
    root = Path(__file__).resolve().parents[2]
    returncode = subprocess.run(command, env=env, cwd=root, check=False).returncode
    assert returncode == (137 if kill_at else 0)
    assert pq.read_metadata(store.gold_path("batiment")).num_rows == rows
    write_gold(store, "batiment", layer(60))  # the next run replaces it, leftovers aside
    assert pq.read_metadata(store.gold_path("batiment")).num_rows == 60
    assert [p.name for p in store.gold_path("batiment").parent.iterdir()] == ["batiment.parquet"]
