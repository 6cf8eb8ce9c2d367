"""One settings object: where the project's declarations are (fiches, scenarios, SQL) and where
its data lives (lakehouse, sources, inbox, Dagster instance).

Read from the project's `jnft.yaml` when it has one (paths relative to the project), then from
the environment (`JNFT_PROJECT_DIR`, `JNFT_LAKEHOUSE`, `JNFT_SOURCES`, `JNFT_INBOX`,
`DAGSTER_HOME`; relative paths from the working directory), which wins. Read at call time, so
that a changed environment is seen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

# The checkout's own folder: the sample project, used when no other project is named.
DEFAULT_PROJECT = Path(__file__).resolve().parents[1]
DEFAULTS = {
    "lakehouse": "./.jnft/lakehouse",
    "sources": "./.jnft/sources",
    "inbox": "./.jnft/inbox",
    "dagster_home": "./.jnft/dagster_home",
}
ENVIRONMENT = {
    "lakehouse": "JNFT_LAKEHOUSE",
    "sources": "JNFT_SOURCES",
    "inbox": "JNFT_INBOX",
    "dagster_home": "DAGSTER_HOME",
}


class SettingsError(ValueError):
    """A `jnft.yaml` that cannot be used, with the file and the key at fault."""


@dataclass(frozen=True)
class Settings:
    project: Path
    lakehouse: Path
    sources: Path
    inbox: Path
    dagster_home: Path

    @property
    def concepts(self) -> Path:
        return self.project / "concepts"

    @property
    def scenarios(self) -> Path:
        return self.project / "scenarios"

    @property
    def sql(self) -> Path:
        return self.project / "sql"

    @property
    def workspace(self) -> Path:
        return self.project / "workspace.yaml"


def _project_file(project: Path) -> dict[str, str]:
    path = project / "jnft.yaml"
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SettingsError(f"{path}: not valid YAML: {error}") from error
    unknown = sorted(set(data) - set(DEFAULTS)) if isinstance(data, dict) else ["(not a mapping)"]
    if unknown:
        raise SettingsError(f"{path}: unknown keys {unknown}; known: {sorted(DEFAULTS)}")
    return {k: str(project / v) for k, v in data.items()}


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings in force: defaults, then the project's `jnft.yaml`, then the environment."""
    project = Path(environ.get("JNFT_PROJECT_DIR", DEFAULT_PROJECT)).resolve()
    values = {**DEFAULTS, **_project_file(project)}
    values.update({k: environ[v] for k, v in ENVIRONMENT.items() if environ.get(v)})
    return Settings(project=project, **{k: Path(v).resolve() for k, v in values.items()})
