"""Shared fixtures: a small generated territory, the real samples of ../shared/data."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def s3_env() -> Iterator[dict[str, str]]:
    """A real S3 server (SeaweedFS) for the session, with a `jnft` bucket: its `AWS_*`
    environment."""
    from tests.services.s3 import running_s3

    with running_s3("jnft") as environ:
        yield environ


@pytest.fixture
def s3(s3_env, monkeypatch) -> dict[str, str]:
    """The session's S3 server, its `AWS_*` variables set in this test's environment."""
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    return s3_env
