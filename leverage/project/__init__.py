"""The Leverage project as the Leverage CLI reads it: accounts, regions, layer folders, backend keys, apply order."""
