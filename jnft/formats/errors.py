"""Errors of delivered files and the reasons rows are rejected, collected while a source is read or
prepared (the quarantine keeps them)."""

from __future__ import annotations

import numpy as np


class SourceFileError(ValueError):
    """A delivered file that cannot be used at all, with the file and the problem, against
    the criterion it fails (by default C10: not the declared format)."""

    def __init__(self, message: str, criterion: str = "c10_standard") -> None:
        super().__init__(message)
        self.criterion = criterion


class Rejections:
    """Which rows are rejected and why; sparse, as rejections are few and rows many.
    The first reason given for a row is kept."""

    def __init__(self, rows: int) -> None:
        self.mask = np.zeros(rows, dtype=bool)
        self.reasons: dict[int, str] = {}
        self.criteria: dict[int, str] = {}

    def add(
        self, rows: np.ndarray, reason: str | list[str], criterion: str = "c09_quality"
    ) -> None:
        """Reject rows (a boolean mask or indices) with one reason, or one reason per row,
        against the criterion they fail."""
        index = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows)
        texts = [reason] * len(index) if isinstance(reason, str) else reason
        for i, text in zip(index.tolist(), texts, strict=True):
            if not self.mask[i]:
                self.reasons[i] = text
                self.criteria[i] = criterion
        self.mask[index] = True

    def __len__(self) -> int:
        return len(self.reasons)
