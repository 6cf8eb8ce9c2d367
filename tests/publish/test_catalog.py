import json

from jnft.publish.catalog import build_catalog, validate_catalog, validate_stac
from jnft.quality.fiche import load_fiche
from tests.factories import CONCEPTS_DIR
from tests.quality.test_observe import lake

BATIMENT = load_fiche(CONCEPTS_DIR / "batiment.yaml")


def test_collections_carry_the_criteria_and_items_point_at_the_lakehouse(small_sources, tmp_path):
    store = lake(small_sources, tmp_path, BATIMENT)
    root = build_catalog(store, [BATIMENT])
    assert validate_catalog(root.parent) == []
    collection = json.loads((root.parent / "batiment" / "collection.json").read_text())
    assert collection["license"] == "etalab-2.0"
    assert collection["providers"][0]["name"] == "IGN"
    assert collection["version"] == "2025-03-15"
    assert any("projection" in e for e in collection["stac_extensions"])
    assert collection["jnft:criteria"]["c06_extent"]["crs"] == "EPSG:2154"
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    assert -1.3 < west < east < -0.8 and 45.8 < south < north < 46.1  # lon/lat, not metres
    items = sorted((root.parent / "batiment").glob("*/*.json"))
    # One item per tile and vintage that still holds current rows.
    assert [p.stem for p in items] == [
        f"batiment-{t}-{v}"
        for t in ("0380_6550", "0390_6550")
        for v in ("2023-03-15", "2025-03-15")
    ]
    item = json.loads(items[-1].read_text())
    assert item["properties"]["proj:code"] == "EPSG:2154"
    history = (items[-1].parent / item["assets"]["history"]["href"]).resolve()
    assert history == (store.silver_dir("batiment") / "versions").resolve()


def test_restricted_concepts_stay_out_of_the_catalog(small_sources, tmp_path):
    store = lake(small_sources, tmp_path, BATIMENT)
    licence = BATIMENT.criteria.c05_licence.model_copy(update={"licence": "restricted"})
    restricted = BATIMENT.model_copy(
        update={"criteria": BATIMENT.criteria.model_copy(update={"c05_licence": licence})}
    )
    root = build_catalog(store, [restricted])
    assert not (root.parent / "batiment").exists()


def test_a_broken_document_is_reported(tmp_path):
    path = tmp_path / "item.json"
    path.write_text(json.dumps({"type": "Feature", "stac_version": "1.0.0", "id": "x"}))
    problems = validate_stac(path)
    assert problems and "item.json" in problems[0]
