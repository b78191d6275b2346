"""The access proof: every runtime request of a layer's principals, evaluated as AWS evaluates it (test-only)."""
