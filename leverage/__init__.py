"""Leverage conventions: the project's files, layer addresses, backend keys, remote state, layer folders.

Nothing here knows which AWS services a layer uses.
"""
