"""Experiments: training, evaluation, benchmarks and leaderboards (run as ``python -m experiments.X``)."""
