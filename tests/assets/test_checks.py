import dagster as dg

from jnft.assets.checks import criteria_check_results, criteria_check_specs
from jnft.orchestration.partitions import tiles_partitions
from jnft.quality.checks import evaluate
from jnft.quality.fiche import load_fiche
from jnft.quality.observe import Observation
from tests.factories import CONCEPTS_DIR

KEY = dg.AssetKey(["silver", "batiment"])


def test_ten_specs_per_concept_described_and_partitioned():
    fiche = load_fiche(CONCEPTS_DIR / "batiment.yaml")
    specs = criteria_check_specs(fiche, KEY, tiles_partitions)
    assert [s.name for s in specs][:2] == ["c01_nature", "c02_provenance"] and len(specs) == 10
    assert specs[0].description == "C1: what the entities are."
    assert {s.name for s in specs if s.blocking} == {
        "c01_nature",
        "c06_extent",
        "c09_quality",
        "c10_standard",
    }
    assert all(s.partitions_def is tiles_partitions for s in specs)


def test_results_carry_the_observed_values_and_severity():
    fiche = load_fiche(CONCEPTS_DIR / "commune.yaml")
    results = {
        r.check_name: r for r in criteria_check_results(fiche, evaluate(fiche, Observation()))
    }
    assert not results["c01_nature"].passed  # nothing observed
    assert results["c01_nature"].severity == dg.AssetCheckSeverity.WARN  # context: not blocking
    assert "observed" in results["c06_extent"].metadata
