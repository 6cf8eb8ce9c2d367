"""Shared fixtures: a small generated territory, the real samples of ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jnft.sampledata.generate import generate
from jnft.sampledata.territory import SMALL

SHARED_DATA = Path(
    os.environ.get(
        "JNFT_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)


@pytest.fixture(scope="session")
def small_sources(tmp_path_factory) -> Path:
    """The 4 km × 2 km sample territory's sources, generated once per test session."""
    out = tmp_path_factory.mktemp("sources")
    generate(out, SMALL)
    return out


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real samples not found at {SHARED_DATA} (set JNFT_SHARED_DATA to run)")
    return SHARED_DATA
