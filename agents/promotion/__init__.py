"""Promotion agents: the baselines."""
