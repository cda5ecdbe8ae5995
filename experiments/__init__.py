"""Experiments: training, evaluation, benchmarks and leaderboards (run as ``python -m retail_env.experiments.X``)."""
