"""The code location loads, validates with the Dagster CLI, and its graph matches the snapshot."""

import json
import os
import subprocess
import sys
from pathlib import Path

from jnft.orchestration.definitions import defs
from tests.factories import PROJECT_DIR

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_snapshot() -> dict:
    """Keys, groups, partitions, dependencies, kinds and owners of every asset."""
    graph = defs.resolve_asset_graph()
    snapshot = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        snapshot[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": getattr(node.partitions_def, "name", None)
            if node.partitions_def
            else None,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "has_description": bool(node.description),
            "checks": sorted(
                f"{c.name}{' (blocking)' if graph.get_check_spec(c).blocking else ''}"
                for c in graph.get_check_keys_for_assets({key})
            ),
        }
    return snapshot


def test_asset_graph_matches_the_reviewed_snapshot():
    current = graph_snapshot()
    if os.environ.get("JNFT_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n")
    assert current == json.loads(SNAPSHOT.read_text()), (
        "the asset graph changed: review it, then regenerate with JNFT_UPDATE_SNAPSHOTS=1"
    )


def test_groups_split_sources_layers_simulation_and_derived():
    groups = {v["group"] for v in graph_snapshot().values()}
    assert groups == {"sources", "territory_layers", "simulation", "derived"}


def test_every_asset_is_described_and_owned():
    for key, node in graph_snapshot().items():
        assert node["has_description"] and node["owners"], key


def test_dagster_cli_validates_the_workspace(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-w",
            str(PROJECT_DIR / "workspace.yaml"),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
