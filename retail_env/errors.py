"""The project's error classes: one base, so callers (the CLIs, the fuzz tests) can tell
a clear refusal of bad input from a bug.

Every subclass also derives from the built-in class it replaced (``ValueError``), so
code that caught the old class keeps working. Modules raise these, never bare
``ValueError``/``TypeError``, for input a user controls.
"""

from __future__ import annotations


class RetailEnvError(Exception):
    """Base of every error the project raises on purpose for bad input or state."""


class ConfigError(RetailEnvError, ValueError):
    """A config value is unknown, of the wrong type or out of range."""


class InvalidActionError(RetailEnvError, ValueError):
    """An action outside the action space (wrong shape, type or range)."""


class EpisodeStateError(RetailEnvError, RuntimeError):
    """A call the episode's state does not allow (step before reset, after the end)."""


class MapError(ConfigError):
    """A store map (built-in or file) that cannot be used."""


class WorkerError(RetailEnvError, RuntimeError):
    """A worker process of a sharded env died or failed."""
