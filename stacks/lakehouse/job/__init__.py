"""The Glue job script (cdc_merge.py, shipped as is) and its local runner (local.py)."""
