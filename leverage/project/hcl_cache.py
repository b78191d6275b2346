"""HCL parsed once, kept in the user's cache folder.

Importing python-hcl2 (and its lark grammar) and parsing a project's var-files and layer configurations takes about
a tenth of a second on every run, before the engine may start. The same text parses to the same result with the
same parser, so a text parsed once is read back from JSON, keyed by its digest and by the installed parser (the
digest of its distributions' RECORD files, which list a checksum of every file they installed: an upgrade or a
reinstall parses again). A result that JSON would not give back exactly, type for type, is not kept; a damaged
cache (its first line is the checksum of the rest) is parsed again; a cache folder that cannot be written only
costs the parsing. The file is written once, at the end of a run that parsed something new, keeping this run's
texts and then the newest others within its size.
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from user_cache.folder import user_cache_dir, write_atomically

CACHE_FILE = "parsed-hcl.json"
MOST_BYTES = 1_000_000  # of JSON: a file edited every day does not grow the cache, nor a huge one slow its reading
# The distributions whose code turns a text into the result (module, distribution name as in its dist-info folder).
PARSER_DISTRIBUTIONS = (("hcl2", "python_hcl2"), ("lark", "lark"), ("regex", "regex"))


def loads(text: str) -> dict[str, Any]:
    """python-hcl2's dict form of `text`; its own exceptions for text it cannot parse (never cached)."""
    return _cache().parsed(text, _parse)


def _parse(text: str) -> dict[str, Any]:
    import hcl2

    return hcl2.loads(text)


@dataclass
class ParsedHclCache:
    path: Path | None  # None: nowhere to keep it (the parser's distributions not found)
    parser: str = ""  # the installed parser's identity
    entries: dict[str, Any] = field(default_factory=dict)  # "<parser>:<text digest>" -> the parsed result
    used: set[str] = field(default_factory=set)  # the keys this run asked for
    loaded: bool = False
    changed: bool = False

    def parsed(self, text: str, parse: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        key = f"{self.parser}:{hashlib.sha256(text.encode()).hexdigest()}"
        self._load()
        self.used.add(key)
        kept = self.entries.get(key)
        if isinstance(kept, dict):
            return json.loads(json.dumps(kept))  # a new object each time: callers may change what they get
        result = parse(text)
        kept = json.loads(json.dumps(result))  # a copy: what the caller does with `result` is not kept
        if _same(kept, result):
            self.entries[key] = kept
            self.changed = True
        return result

    def _load(self) -> None:
        if self.loaded or self.path is None:
            return
        self.loaded = True
        try:
            checksum, _, body = self.path.read_bytes().partition(b"\n")
            if checksum.decode("ascii") != hashlib.sha256(body).hexdigest():
                return  # damaged, even where it still reads as JSON: a changed result would change the layers
            found = json.loads(body)
        except (OSError, ValueError):
            return  # none yet, or damaged: parsed again and rewritten
        if isinstance(found, dict):
            self.entries = found

    def save(self) -> None:
        """Write the cache if this run parsed something new: this run's texts first, then the newest others
        (a project larger than the cache keeps its own texts), within MOST_BYTES."""
        if self.path is None or not self.changed:
            return
        self.changed = False
        kept: dict[str, Any] = {}
        size = 0
        for key in [*[key for key in self.entries if key not in self.used],
                    *[key for key in self.entries if key in self.used]][::-1]:  # newest first
            entry_size = len(json.dumps(self.entries[key])) + len(key) + 6
            if size + entry_size > MOST_BYTES and key not in self.used:
                continue
            kept[key] = self.entries[key]
            size += entry_size
        body = json.dumps(dict(reversed(kept.items()))).encode()  # oldest first, as read back
        with contextlib.suppress(OSError):  # runs writing at once: the last one's
            write_atomically(self.path, hashlib.sha256(body).hexdigest().encode() + b"\n" + body)


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
    """A digest of the parser's installed distributions' RECORD files, found without importing the parser."""
    digest = hashlib.sha256()
    for module, distribution in PARSER_DISTRIBUTIONS:
        try:
            spec = importlib.util.find_spec(module)
            package = Path(spec.origin).parent if spec and spec.origin else None
        except (ImportError, ValueError):
            return None
        records = sorted(package.parent.glob(f"{distribution}-*.dist-info/RECORD")) if package else []
        if len(records) != 1:
            return None  # not installed as a distribution, or two of them: nothing to know it by
        try:
            digest.update(records[0].read_bytes())
        except OSError:
            return None
    return digest.hexdigest()[:16]


_the_cache: ParsedHclCache | None = None


def _cache() -> ParsedHclCache:
    global _the_cache
    if _the_cache is None:
        identity = _parser_identity()
        _the_cache = ParsedHclCache(user_cache_dir() / CACHE_FILE if identity else None, identity or "")
        atexit.register(_the_cache.save)
    return _the_cache
