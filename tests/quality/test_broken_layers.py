"""Each broken delivery turns exactly the expected criteria red, with a readable reason; the
valid rows are materialized and the failing rows wait in quarantine with theirs."""

import shutil

import pytest
from deltalake import DeltaTable

from jnft.ingest.bronze import land_files
from jnft.kinds import Scope, kind_of
from jnft.lakehouse.store import Lakehouse
from jnft.quality.checks import evaluate
from jnft.quality.fiche import load_fiche
from jnft.quality.observe import observe
from tests.factories import CONCEPTS_DIR
from tests.fixtures.broken_layers import BROKEN, LATER, NEXT_VINTAGE_DIR, write_broken

BATIMENT = load_fiche(CONCEPTS_DIR / "batiment.yaml")


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_layer_fails_exactly_the_expected_criteria(small_sources, tmp_path, name):
    _, expected, quarantined = BROKEN[name]
    sources = write_broken(small_sources, name, tmp_path / "sources")
    store = Lakehouse.at(tmp_path / "lake")
    land_files(store, "bdtopo", sources, BATIMENT.source.pattern, BATIMENT.source.vintage_pattern)
    landing = kind_of(BATIMENT).land(store, BATIMENT, Scope(None, "run"))
    outcomes = evaluate(BATIMENT, observe(store, BATIMENT, None))
    failing = {c for c, o in outcomes.items() if not o.passed}
    assert failing == expected, {c: outcomes[c].description for c in failing | expected}
    for criterion in expected:
        assert len(outcomes[criterion].description) > 20  # says what is wrong
    rows = DeltaTable(store.table_uri("batiment", "quarantine")).to_pyarrow_table()
    assert rows.num_rows == quarantined == landing.values["quarantined"]
    assert all(r for r in rows["reason"].to_pylist())
    assert landing.values["inserted"] > 100  # the valid rows are materialized


def extent_check(small_sources, tmp_path, name: str) -> str:
    """C6's description once a delivery broken by `name` is landed."""
    sources = write_broken(small_sources, name, tmp_path / "sources")
    store = Lakehouse.at(tmp_path / "lake")
    land_files(store, "bdtopo", sources, BATIMENT.source.pattern, BATIMENT.source.vintage_pattern)
    kind_of(BATIMENT).land(store, BATIMENT, Scope(None, "run"))
    return evaluate(BATIMENT, observe(store, BATIMENT, None))["c06_extent"].description


def test_wrong_crs_is_named_as_such(small_sources, tmp_path):
    description = extent_check(small_sources, tmp_path, "wrong_crs")
    assert "longitude/latitude degrees" in description and "wrong CRS" in description


@pytest.mark.parametrize("name", sorted(LATER))
def test_a_broken_later_vintage_closes_no_stored_feature(small_sources, tmp_path, name):
    """Rows that could not be read are unknown, not demolished: a later delivery whose rows
    are quarantined — a few, or all of them — leaves their stored versions current."""
    sources = tmp_path / "sources"
    shutil.copytree(small_sources / "bdtopo", sources / "bdtopo")
    store = Lakehouse.at(tmp_path / "lake")
    kind = kind_of(BATIMENT)

    def land_and_merge() -> set[str]:
        land_files(
            store, "bdtopo", sources, BATIMENT.source.pattern, BATIMENT.source.vintage_pattern
        )
        kind.land(store, BATIMENT, Scope(None, "run"))
        return set(kind.current(store, BATIMENT)["feature_id"].to_pylist())

    before = land_and_merge()
    write_broken(small_sources, name, sources, NEXT_VINTAGE_DIR)
    assert land_and_merge() == before
    quarantined = DeltaTable(store.table_uri("batiment", "quarantine")).to_pyarrow_table()
    assert quarantined.num_rows > 0 or name == "missing_mandatory_attributes"
    failing = {
        c for c, o in evaluate(BATIMENT, observe(store, BATIMENT, None)).items() if not o.passed
    }
    assert failing, "a broken delivery turns a criterion red"


def test_rows_outside_the_extent_are_named_with_their_overflow_and_ids(small_sources, tmp_path):
    description = extent_check(small_sources, tmp_path, "outside_extent")
    assert "3 source rows quarantined: outside the declared extent" in description
    assert "(by up to 4" in description and "(e.g. BATIMENT" in description  # ~40-50 km, ids
