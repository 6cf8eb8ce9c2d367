import pyarrow as pa
import pytest

from jnft.kinds import Observation
from jnft.lakehouse.history import current
from jnft.quality.characterize import characterize, draft_yaml, markdown
from jnft.quality.checks import evaluate
from jnft.quality.fiche import load_fiche
from jnft.quality.observe import observe
from tests.factories import CONCEPTS_DIR
from tests.quality.test_observe import lake


@pytest.mark.parametrize("concept", ["batiment", "mnt", "population_carroyee"])
def test_characterization_reproduces_the_observable_fields_of_the_fiche(
    small_sources, tmp_path, concept
):
    fiche = load_fiche(CONCEPTS_DIR / f"{concept}.yaml")
    store = lake(small_sources, tmp_path, fiche)
    rows = current(store.table_uri(fiche.id, "versions"), store.table_uri(fiche.id, "closures"))
    obs = observe(store, fiche, None, rows=rows)
    characterized = characterize(fiche, rows, obs)
    draft = characterized["criteria"]
    declared = fiche.criteria
    assert draft["c01_nature"]["geometry_type"] == declared.c01_nature.geometry_type
    assert set(draft["c01_nature"]["attributes"]) == set(declared.c01_nature.attributes)
    assert draft["c06_extent"]["crs"] == declared.c06_extent.crs
    x0, y0, x1, y1 = draft["c06_extent"]["bbox"]
    dx0, dy0, dx1, dy1 = declared.c06_extent.bbox
    slack = declared.c08_precision.resolution_m or declared.c08_precision.positional_accuracy_m
    assert dx0 - slack <= x0 < x1 <= dx1 + slack and dy0 - slack <= y0 < y1 <= dy1 + slack
    if declared.c08_precision.resolution_m and fiche.kind == "raster":
        assert draft["c08_precision"]["resolution_m"] == declared.c08_precision.resolution_m
    assert set(declared.c09_quality.required_attributes) <= set(
        draft["c09_quality"]["required_attributes"]
    )
    assert draft["c09_quality"]["completeness"] >= declared.c09_quality.completeness
    for column, (low, high) in (declared.c09_quality.ranges or {}).items():
        seen_low, seen_high = draft["c09_quality"]["ranges"][column]
        assert low <= seen_low <= seen_high <= high
    assert draft["c10_standard"]["format"] == fiche.source.format
    text = markdown(fiche, characterized, evaluate(fiche, obs))
    assert text.count("✅") == 10
    assert draft_yaml(characterized).startswith("# Observed fields")


def test_an_attribute_never_filled_is_not_a_completeness_of_zero():
    fiche = load_fiche(CONCEPTS_DIR / "hydrometrie.yaml")
    rows = pa.table(
        {
            "station": ["S", "S"],
            "variable": ["H", "H"],
            "time": pa.array([0, 3_600_000_000], pa.timestamp("us", tz="UTC")),
            "value": [1.0, 1.2],
            "unit": ["m", "m"],
            "quality": pa.array([None, None], pa.string()),
        }
    )
    draft = characterize(fiche, rows, Observation(rows=2))["criteria"]["c09_quality"]
    assert draft["completeness"] == 1.0  # measured by the attributes the source fills
    assert draft["empty_attributes"] == ["quality"]
    nothing = characterize(fiche, rows.select(["quality"]), Observation(rows=2))["criteria"]
    assert "completeness" not in nothing["c09_quality"]
