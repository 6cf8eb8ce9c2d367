"""The catalog is swapped in whole: a writer killed at any commit point leaves the previous
catalog or the new one, complete, never a missing or partial one."""

import json
import os
import subprocess
import sys

import pytest

from jnft.lakehouse.store import Lakehouse
from jnft.lakehouse.swap import staging_folder, swap_in

WRITER = """
import sys
from pathlib import Path
from jnft.lakehouse.swap import commit_point, staging_folder, swap_in
target = Path(sys.argv[1])
folder = staging_folder(target)
(folder / "catalog.json").write_text('{"version": "%s"}' % sys.argv[2])
commit_point("catalog.written")
swap_in(folder, target)
"""


def write(target, version, kill_at=None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "JNFT_KILL_AT"}
    if kill_at:
        env["JNFT_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, "-c", WRITER, str(target), version], env=env, check=False
    ).returncode


def version(target) -> str:
    return json.loads((target / "catalog.json").read_text())["version"]


@pytest.mark.parametrize(
    ("kill_at", "expected"), [("catalog.written", "1"), ("catalog.swapped", "2"), (None, "2")]
)
def test_a_killed_writer_leaves_one_whole_catalog(tmp_path, kill_at, expected):
    target = Lakehouse.at(tmp_path).catalog_dir
    assert write(target, "1") == 0
    assert write(target, "2", kill_at) == (137 if kill_at else 0)
    assert version(target) == expected
    assert write(target, "3") == 0  # the next run cleans up after the dead one
    assert version(target) == "3"
    assert len(list(tmp_path.glob("catalog-*"))) == 1


def test_a_catalog_folder_from_before_swaps_is_replaced(tmp_path):
    target = tmp_path / "catalog"
    target.mkdir()
    (target / "catalog.json").write_text('{"version": "0"}')
    folder = staging_folder(target)
    (folder / "catalog.json").write_text('{"version": "1"}')
    swap_in(folder, target)
    assert target.is_symlink() and version(target) == "1"
    assert [p.name for p in tmp_path.iterdir() if p.name != "catalog"] == [folder.name]
