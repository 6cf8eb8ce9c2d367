"""The 10 criteria of a geo-concept: fiche schema, observed characterization, checks."""
