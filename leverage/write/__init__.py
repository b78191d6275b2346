"""Writing layer folders as one transaction: a lock, a journal that rolls back an interrupted run, atomic swaps."""
