"""Code that runs on AWS Glue, not at synth: the lakehouse job script (`cdc_merge.py`, shipped to S3 by the
lakehouse layer with the modules it imports) and its local runner (`run_local.py`, `make lakehouse-local`).

Its modules import only the standard library, pyspark and each other, by plain module name (on Glue they are
top-level modules: the script, and the others through `--extra-py-files`); the app never imports them, it ships
their text. This `__init__` only makes the folder part of the installed distribution.
"""
