import pytest

from jnft.lakehouse.store import Lakehouse, sha256_of


def test_landing_is_content_addressed_and_idempotent(tmp_path):
    store = Lakehouse.at(tmp_path / "lake")
    source = tmp_path / "a.gpkg"
    source.write_bytes(b"delivery")
    first = store.land("bdtopo", source)
    again = store.land("bdtopo", source)
    assert first == again
    assert first.path.name == f"{sha256_of(source)}.gpkg"
    assert first.path.read_bytes() == b"delivery"


def test_shapefile_travels_with_its_sidecars(tmp_path):
    store = Lakehouse.at(tmp_path / "lake")
    for ext, body in ((".shp", b"s"), (".shx", b"x"), (".dbf", b"d"), (".PRJ", b"p")):
        (tmp_path / f"COMMUNE{ext}").write_bytes(body)
    landed = store.land("admin", tmp_path / "COMMUNE.shp")
    names = sorted(p.suffix for p in landed.path.parent.iterdir())
    assert names == [".dbf", ".prj", ".shp", ".shx"]


def test_missing_file_and_object_store_roots_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        Lakehouse.at(tmp_path).land("x", tmp_path / "nope.gpkg")
    with pytest.raises(ValueError, match="local folder, not a URL"):
        Lakehouse.at("s3://bucket/lake")
