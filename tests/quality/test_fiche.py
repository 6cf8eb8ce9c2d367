from pathlib import Path

import pytest
import yaml

from jnft.paths import CONCEPTS_DIR
from jnft.quality.fiche import FicheError, load_fiche, load_fiches


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
        ({"criteria": {"c11_taste": {}}}, "unknown criteria"),
        ({"kind": "raster"}, "raster concept needs"),
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


def test_fiches_sharing_a_source_must_agree(tmp_path):
    write(tmp_path, "one")
    write(tmp_path, "two", source__pattern="elsewhere/*.gpkg")
    with pytest.raises(FicheError, match="share source 'bdtopo'"):
        load_fiches(tmp_path)
