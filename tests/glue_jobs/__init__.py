"""Tests of the Glue jobs (glue_jobs/): the lakehouse job script, its local runner, Spark against an oracle."""
