"""Numerical models without Dagster: rating curves, flood kernels, exposure overlay."""
