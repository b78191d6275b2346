"""HCL parsed once, kept in the user's cache folder.

Importing python-hcl2 (and its lark grammar) and parsing a project's var-files and layer configurations takes about
a tenth of a second on every run, before the engine may start. The same text parses to the same result, so a text
parsed once is read back from JSON, keyed by its digest and by the installed parser's files (an upgrade parses
again). A result that JSON would not give back exactly, type for type, is not kept; a damaged cache file is
parsed again and rewritten; a cache folder that cannot be written only costs the parsing.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from app_cache import user_cache_dir

# The newest texts are kept, so that a file edited every day does not grow the cache, nor a huge one slow its reading.
MOST_BYTES = 1_000_000
PARSER_MODULES = ("hcl2", "lark")


def loads(text: str) -> dict[str, Any]:
    """python-hcl2's dict form of `text`; its own exceptions for text it cannot parse (never cached)."""
    return _cache().parsed(text, _parse)


def _parse(text: str) -> dict[str, Any]:
    import hcl2

    return hcl2.loads(text)


@dataclass
class ParsedHclCache:
    path: Path | None  # None: nowhere to keep it (the parser's files not found)
    entries: dict[str, str] = field(default_factory=dict)  # text digest -> the parsed result as JSON
    loaded: bool = False

    def parsed(self, text: str, parse: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        key = hashlib.sha256(text.encode()).hexdigest()
        self._load()
        kept = self.entries.pop(key, None)
        if kept is not None:
            self.entries[key] = kept  # the newest last
            return json.loads(kept)  # a new object each time: callers may change what they get
        result = parse(text)
        dumped = json.dumps(result, separators=(",", ":"))
        if _same(json.loads(dumped), result):
            self.entries[key] = dumped
            self._save()
        return result

    def _load(self) -> None:
        if self.loaded or self.path is None:
            return
        self.loaded = True
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # none yet, or damaged: parsed again and rewritten
        if isinstance(found, dict) and all(isinstance(value, str) for value in found.values()):
            self.entries = found

    def _save(self) -> None:
        if self.path is None:
            return
        size = sum(len(key) + len(value) for key, value in self.entries.items())
        while self.entries and size > MOST_BYTES:
            oldest = next(iter(self.entries))
            size -= len(oldest) + len(self.entries.pop(oldest))
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(self.entries), encoding="utf-8")
            os.replace(partial, self.path)  # whole or not at all; runs at once: the last one's
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink()


def _same(left: object, right: object) -> bool:
    """Equal and of the same types all the way down (1, 1.0 and True are equal in Python, not in HCL)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[key], right[key]) for key in left)  # type: ignore[index]
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))  # type: ignore[arg-type]
    return left == right


def _parser_identity() -> str | None:
    """A digest of the installed parser's files (path, time, size), found without importing them."""
    described = []
    for module in PARSER_MODULES:
        try:
            spec = importlib.util.find_spec(module)
            origin = spec.origin if spec else None
            stat = os.stat(origin) if origin else None
        except (ImportError, ValueError, OSError):
            return None
        if stat is None:
            return None
        described.append(f"{origin}:{stat.st_mtime_ns}:{stat.st_size}")
    return hashlib.sha256("\n".join(described).encode()).hexdigest()[:16]


_the_cache: ParsedHclCache | None = None


def _cache() -> ParsedHclCache:
    global _the_cache
    if _the_cache is None:
        identity = _parser_identity()
        _the_cache = ParsedHclCache(user_cache_dir() / f"parsed-hcl-{identity}.json" if identity else None)
    return _the_cache
