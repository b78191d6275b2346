"""Fresh layers against the committed ones: drift, and what applying them would do to live resources."""
