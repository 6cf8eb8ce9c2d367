import datetime as dt

import pytest

from jnft.ingest.bronze import land_files, parse_vintage, read_manifest
from jnft.lakehouse.store import Lakehouse


def test_vintage_from_path():
    assert parse_vintage("a/BDTOPO_R75_2025-03-15.gpkg", r"_(\d{4}-\d{2}-\d{2})\.gpkg$") == dt.date(
        2025, 3, 15
    )
    assert parse_vintage("Filosofi2019/x.csv", r"Filosofi(\d{4})/") == dt.date(2019, 1, 1)
    with pytest.raises(ValueError, match="no vintage"):
        parse_vintage("x.gpkg", r"_(\d{4})\.gpkg$")
    with pytest.raises(ValueError, match="not a date"):
        parse_vintage("x_2025-13-45.gpkg", r"_(\d{4}-\d{2}-\d{2})\.gpkg$")


def test_landing_records_a_manifest_once_per_content(tmp_path):
    sources = tmp_path / "sources"
    for vintage in ("2023-03-15", "2025-03-15"):
        folder = sources / f"BDTOPO_{vintage}"
        folder.mkdir(parents=True)
        (folder / f"BDTOPO_{vintage}.gpkg").write_bytes(vintage.encode())
    store = Lakehouse.at(tmp_path / "lake")
    entries, new = land_files(store, "bdtopo", sources, "*/*.gpkg", r"_(\d{4}-\d{2}-\d{2})\.")
    assert [e.vintage for e in entries] == ["2023-03-15", "2025-03-15"] and len(new) == 2
    again, new = land_files(store, "bdtopo", sources, "*/*.gpkg", r"_(\d{4}-\d{2}-\d{2})\.")
    assert again == entries and new == []
    assert read_manifest(store, "bdtopo") == entries


def test_no_matching_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file matches"):
        land_files(Lakehouse.at(tmp_path), "x", tmp_path, "*.gpkg", r"(\d{4})")
