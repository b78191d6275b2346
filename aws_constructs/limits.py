"""What AWS services accept, in one place for the constructs and for whoever checks settings before the AWS
bindings load (this module imports none of them)."""
from __future__ import annotations

# CloudWatch Logs' retention choices, in days.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)
# Glue's Spark worker types; it runs the Flex execution class on the first two only.
GLUE_WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
GLUE_FLEX_WORKER_TYPES = ("G.1X", "G.2X")
GLUE_WORKER_COUNT = (2, 1000)
GLUE_TIMEOUT_MINUTES = (1, 2880)
# Athena's bytes-scanned cutoff per query: at least 10 MB; the upper bound is ours, about 95 TiB, far past any
# query a cutoff is meant to stop.
ATHENA_CUTOFF_MIB = (10, 10**8)
