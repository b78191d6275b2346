"""Tests of the lakehouse Glue job script (stacks/lakehouse/job)."""
