"""The settings: cdktf.json's `context` and `-c key=value` overrides, parsed into typed, checked groups."""
