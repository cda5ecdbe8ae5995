"""Data out: the store's transaction log as Parquet and Minari datasets for offline RL.

- :func:`retail_env.data.log.export_log`: seeded episodes of either task as typed Parquet
  tables (``docs/data.md`` documents every column);
- :func:`retail_env.data.minari_export.export_minari`: a Minari dataset of any baseline, the
  Attribution oracle or a trained checkpoint;
- :mod:`retail_env.data.demand_fit`: a multinomial-logit demand fit to an exported
  Promotion log (the check that the data is usable).
"""

from retail_env.data.staging import DataExportError

__all__ = ["DataExportError"]
