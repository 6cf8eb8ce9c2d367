"""Our offline STAC validation accepts every official example (../shared/data/conformance)."""

import pytest

from jnft.publish.catalog import validate_stac

pytestmark = pytest.mark.realdata


def test_official_examples_validate(shared_data):
    examples = sorted((shared_data / "conformance" / "stac").rglob("*.json"))
    assert len(examples) >= 14
    problems = [p for path in examples for p in validate_stac(path)]
    assert problems == []
