"""Gymnasium environments over the batched simulator: one package per task
(``attribution``, ``promotion``) and the part they share: ``base`` (the task contract),
``registry`` (every id), ``sb3_vec`` (the SB3 VecEnv), ``sharded`` (worker processes) and
``seeds``."""
