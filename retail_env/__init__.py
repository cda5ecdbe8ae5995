"""retail-env: a batched cashierless-store simulator with Gymnasium tasks.

Importing the package registers every environment id (there is no auto-discovery in Gymnasium 1.x).
"""

__version__ = "0.1.0"

from retail_env.envs.registry import ENV_IDS, register_all  # noqa: E402

register_all()

__all__ = ["ENV_IDS", "__version__"]
