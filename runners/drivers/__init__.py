"""Experiment drivers built on the public API: reproduction of the paper's grids, archiving, probes, config generation."""
