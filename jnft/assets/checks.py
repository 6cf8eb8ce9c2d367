"""The 10 criteria of a fiche as Dagster asset checks, run in the layer's own step."""

import dagster as dg

from jnft.quality.checks import Outcome, is_blocking
from jnft.quality.criteria import Criteria
from jnft.quality.fiche import CRITERIA, Fiche


def _title(criterion: str) -> str:
    doc = Criteria.model_fields[criterion].annotation.__doc__
    assert doc is not None  # every criterion's model says what it checks
    return doc.strip().splitlines()[0]


def criteria_check_specs(
    fiche: Fiche, key: dg.AssetKey, partitions: dg.PartitionsDefinition | None
) -> list[dg.AssetCheckSpec]:
    """One check per criterion; those guarding calculations block downstream assets."""
    return [
        dg.AssetCheckSpec(
            name,
            asset=key,
            description=_title(name),
            blocking=is_blocking(fiche, name),
            partitions_def=partitions,
        )
        for name in CRITERIA
    ]


def criteria_check_results(fiche: Fiche, outcomes: dict[str, Outcome]) -> list[dg.AssetCheckResult]:
    results = []
    for name, outcome in outcomes.items():
        results.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=outcome.passed,
                description=outcome.description,
                metadata={
                    "observed": dg.MetadataValue.json(outcome.metadata),
                    "warning": outcome.warning,
                },
                severity=dg.AssetCheckSeverity.ERROR
                if is_blocking(fiche, name)
                else dg.AssetCheckSeverity.WARN,
            )
        )
    return results
