"""Folders of the project checkout that hold data, not code: fiches, scenarios, SQL."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(os.environ.get("JNFT_PROJECT_DIR", Path(__file__).resolve().parents[1]))
CONCEPTS_DIR = PROJECT_DIR / "concepts"
SCENARIOS_DIR = PROJECT_DIR / "scenarios"
SQL_DIR = PROJECT_DIR / "sql"
