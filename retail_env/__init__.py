"""retail-env: a batched cashierless-store simulator with Gymnasium tasks.

Importing the package registers every environment id (there is no auto-discovery in Gymnasium 1.x).
"""

__version__ = "0.1.0"
