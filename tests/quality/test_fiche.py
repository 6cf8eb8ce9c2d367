from pathlib import Path

import pytest
import yaml

from jnft.quality.fiche import FicheError, load_fiche, load_fiches
from tests.factories import CONCEPTS_DIR


def write(tmp_path: Path, name: str, **changes) -> Path:
    data = yaml.safe_load((CONCEPTS_DIR / "batiment.yaml").read_text(encoding="utf-8"))
    data["id"] = name
    for dotted, value in changes.items():
        target = data
        *parents, leaf = dotted.split("__")
        for key in parents:
            target = target[key]
        if value is None:
            target.pop(leaf)
        else:
            target[leaf] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_every_concept_fiche_loads():
    ids = [f.id for f in load_fiches(CONCEPTS_DIR)]
    assert {"batiment", "troncon_hydrographique", "commune", "mnt"} <= set(ids)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"role": None}, "role: Field required"),
        ({"source__crs": "EPSG:999999"}, "source.crs"),
        ({"vector__id_column": "nope"}, "identity column 'nope'"),
        ({"source__vintage_pattern": "no group"}, "exactly one capturing group"),
        ({"kind": "raster"}, "raster concept needs"),
        (
            {"criteria__c02_provenance__producer": None},
            "criterion c02_provenance, field producer: Field required",
        ),
        (
            {"criteria__c05_licence__licence": "WTFPL"},
            "criterion c05_licence, field licence: Value error, unknown licence 'WTFPL'",
        ),
        (
            {"criteria__c03_frequency__update_frequency": "quarterly"},
            "criterion c03_frequency, field update_frequency: Value error, 'quarterly' is not an "
            "ISO 8601 duration",
        ),
        (
            {"criteria__c06_extent__crs": "EPSG:999999"},
            "criterion c06_extent, field crs: Value error, unknown CRS",
        ),
        ({"criteria__c07_access__endpoint": None}, "criterion c07_access, field (all fields)"),
        (
            {"criteria__c08_precision__positional_accuracy_m": None},
            "declare positional_accuracy_m, resolution_m, point_density_per_m2",
        ),
        ({"criteria__c11_taste": {}}, "criterion c11_taste"),
        ({"criteria__c01_nature__geometry_type": "Point"}, "differs from vector.geometry_type"),
        ({"criteria__c09_quality__required_attributes": ["nope"]}, "are not in c01_nature"),
        ({"criteria": None}, "criteria: Field required"),
    ],
)
def test_bad_fiches_name_the_file_and_field(tmp_path, changes, message):
    path = write(tmp_path, "bad", **changes)
    with pytest.raises(FicheError) as error:
        load_fiche(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_id_must_match_the_file_name(tmp_path):
    path = write(tmp_path, "batiment")
    path = path.rename(tmp_path / "other.yaml")
    with pytest.raises(FicheError, match="must match the file name"):
        load_fiche(path)


def test_fiches_sharing_a_source_must_agree_on_vintages(tmp_path):
    write(tmp_path, "one")
    write(tmp_path, "two", source__pattern="bdtopo/*/BATI/BATIMENT.shp")  # a file per layer
    assert len(load_fiches(tmp_path)) == 2
    write(tmp_path, "three", source__vintage_pattern=r"(\d{4})")
    with pytest.raises(FicheError, match="share source 'bdtopo'"):
        load_fiches(tmp_path)


def test_restricted_licence_or_access_makes_a_concept_non_public(tmp_path):
    assert load_fiche(write(tmp_path, "open")).is_public
    closed = load_fiche(write(tmp_path, "closed", criteria__c05_licence__licence="restricted"))
    assert not closed.is_public
    private = load_fiche(write(tmp_path, "private", criteria__c07_access__modality="restricted"))
    assert not private.is_public


@pytest.mark.parametrize("duration", ["P1Y", "P3M", "PT1H", "P1DT12H", "PT0.5S", "P2W"])
def test_iso_8601_durations_are_accepted(tmp_path, duration):
    path = write(tmp_path, "ok", criteria__c03_frequency__update_frequency=duration)
    assert load_fiche(path).criteria.c03_frequency.update_frequency == duration
