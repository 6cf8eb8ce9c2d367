import pytest
import yaml

from jnft.kinds import KINDS, kind_of
from jnft.kinds.raster import RasterSpec
from jnft.quality.fiche import FicheError, load_fiche, load_fiches
from tests.factories import CONCEPTS_DIR


def test_every_kind_declares_what_the_fiches_and_checks_read():
    for name, kind in KINDS.items():
        assert kind.name == name and kind.formats and kind.geometry_types and kind.methods
        assert kind.footprint in ("features", "grid", "stations", "none")


def test_a_fiche_holds_its_kinds_section_typed():
    mnt = load_fiche(CONCEPTS_DIR / "mnt.yaml")
    assert isinstance(kind_of(mnt).spec_of(mnt), RasterSpec)
    with pytest.raises(TypeError, match="a raster fiche read as vector"):
        KINDS["vector"].spec_of(mnt)


def rewritten(tmp_path, change) -> str:
    data = yaml.safe_load((CONCEPTS_DIR / "mnt.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "mnt.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FicheError) as error:
        load_fiche(path)
    return str(error.value)


def test_a_fiche_of_another_kinds_shape_says_what_to_change(tmp_path):
    assert "kind 'mesh' is not one of vector, raster" in rewritten(
        tmp_path, lambda d: d.update(kind="mesh")
    )
    assert "source.format 'GPKG' is not read as raster; use one of AAIGrid, GTiff" in rewritten(
        tmp_path, lambda d: d["source"].update(format="GPKG")
    )
    assert "a raster concept has no `vector` section" in rewritten(
        tmp_path, lambda d: d.update(vector={})
    )
    assert "raster.resolution: Input should be greater than 0" in rewritten(
        tmp_path, lambda d: d["raster"].update(resolution=0)
    )


def test_roles_name_known_roles_and_declared_columns(tmp_path):
    assert "roles: unknown role 'dem'" in rewritten(tmp_path, lambda d: d.update(roles={"dem": {}}))
    missing = rewritten(tmp_path, lambda d: d.update(roles={"admin_units": {"name": "x"}}))
    assert (
        "roles.admin_units maps code: <column>, name: <column>, [population: <column>]" in missing
    )
    unknown = {"buildings": {"floors": "x"}}
    assert "[dwellings: <column>]" in rewritten(tmp_path, lambda d: d.update(roles=unknown))
    fiches = load_fiches(CONCEPTS_DIR)
    buildings = [f for f in fiches if "buildings" in f.roles]
    assert len(buildings) == 1 and "dwellings" in buildings[0].roles["buildings"]
