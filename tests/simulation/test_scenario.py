import pytest
import yaml

from jnft.simulation.scenario import ScenarioError, load_scenario, load_scenarios
from tests.factories import SCENARIOS_DIR


def test_the_shipped_scenarios_load():
    scenarios = {s.id: s for s in load_scenarios(SCENARIOS_DIR)}
    assert {"crue_q100", "crue_q1000", "submersion_tempete_slr60"} <= set(scenarios)
    assert {s.kind for s in scenarios.values()} == {"river", "coastal"}
    assert scenarios["crue_q1000"].river.return_period == 1000


def test_declared_events_need_no_series(tmp_path):
    path = tmp_path / "pprI_q100.yaml".lower()
    path.write_text(
        "id: ppri_q100\ntitle: PPRI\ndescription: the PPRI's 100-year flow\nkind: river\n"
        "river: {peak_discharge_m3s: 850, inflow_at: [914000, 6450000]}\nduration_h: 12\n"
    )
    scenario = load_scenario(path)
    assert scenario.gauges() == {} and scenario.river.inflow_at == (914000.0, 6450000.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "coastal"}, "a coastal scenario declares `coastal`"),
        ({"id": "other"}, "must match the file name"),
        ({"duration_h": 0}, "duration_h"),
        ({"river": {"return_period": 100}}, r"river: .*declare the peak once: `peak_discharge_m3s"),
        ({"river": {"peak_discharge_m3s": 80, "return_period": 100}}, "go together"),
        ({"kind": "coastal", "river": None, "coastal": {"surge_m": 1}}, "still_water_level_m"),
    ],
)
def test_a_bad_scenario_names_the_file_and_the_field(tmp_path, change, message):
    data = yaml.safe_load((SCENARIOS_DIR / "crue_q100.yaml").read_text())
    data.update(change)
    path = tmp_path / "crue_q100.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_a_hydrograph_is_declared_inline_or_as_a_csv_beside_the_scenario(tmp_path):
    head = "id: h\ntitle: t\ndescription: d\nkind: river\nduration_h: 6\n"
    (tmp_path / "h.yaml").write_text(head + "river: {hydrograph: [[0, 5], [2, 90], [6, 10]]}\n")
    assert load_scenario(tmp_path / "h.yaml").river.hydrograph[1] == (2.0, 90.0)
    (tmp_path / "etude.csv").write_text("time_h,discharge_m3s\n0,5\n3,120\n6,8\n")
    (tmp_path / "h.yaml").write_text(head + "river: {hydrograph: etude.csv}\n")
    assert max(q for _, q in load_scenario(tmp_path / "h.yaml").river.hydrograph) == 120
    (tmp_path / "etude.csv").write_text("heure,debit\n0,5\n")
    with pytest.raises(ScenarioError, match=r"etude\.csv: a hydrograph is `time_h,discharge_m3s`"):
        load_scenario(tmp_path / "h.yaml")
    (tmp_path / "h.yaml").write_text(head + "river: {hydrograph: [[1, 5], [0, 9]]}\n")
    with pytest.raises(ScenarioError, match="hours from 0, increasing"):
        load_scenario(tmp_path / "h.yaml")
