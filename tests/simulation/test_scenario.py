import pytest
import yaml

from jnft.simulation.scenario import ScenarioError, load_scenario, load_scenarios
from tests.factories import SCENARIOS_DIR


def test_the_shipped_scenarios_load():
    scenarios = {s.id: s for s in load_scenarios(SCENARIOS_DIR)}
    assert {"crue_q100", "crue_q1000", "submersion_tempete_slr60"} <= set(scenarios)
    assert {s.kind for s in scenarios.values()} == {"river", "coastal"}
    assert scenarios["crue_q1000"].river.return_period == 1000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "coastal"}, "a coastal scenario declares `coastal`"),
        ({"id": "other"}, "must match the file name"),
        ({"duration_h": 0}, "duration_h"),
        ({"river": {"return_period": 100}}, "river.gauge"),
    ],
)
def test_a_bad_scenario_names_the_file_and_the_field(tmp_path, change, message):
    data = yaml.safe_load((SCENARIOS_DIR / "crue_q100.yaml").read_text())
    data.update(change)
    path = tmp_path / "crue_q100.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)
