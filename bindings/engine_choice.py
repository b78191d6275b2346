"""Which CDK engine runs the app: cdktf, or CDK Terrain (cdktn), its maintained continuation.

Both are the same jsii libraries under other names (Python modules `cdktf` / `cdktn`, prebuilt AWS provider
bindings `cdktf_cdktf_provider_aws` / `cdktn_provider_aws`, jsii assemblies `cdktf` / `cdktn` and
`@cdktf/provider-aws` / `@cdktn/provider-aws`), so the app runs on whichever is installed: requirements.txt
installs cdktf (the default), requirements-cdktn.txt cdktn (docs/engines.md). Nothing outside `bindings/` names
either: the app imports the engine's classes from `bindings`, and the provider's as `bindings.aws.<service>`
(an alias of the installed engine's provider submodule: the same module object, so the same classes).

The other engine's modules are refused at import with a message naming the engine-neutral path, rather than
Python's bare "No module named ...".
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from dataclasses import dataclass
from typing import Callable, Sequence

# The engine-neutral package of the provider's submodules: `bindings.aws.s3_bucket` is the installed engine's
# `<provider package>.s3_bucket`.
NEUTRAL_PROVIDER_PACKAGE = "bindings.aws"


@dataclass(frozen=True)
class Engine:
    name: str  # as the docs name it
    core: str  # the Python module of the library: App, TerraformStack, Fn, Testing, ...
    provider: str  # the Python package of its prebuilt hashicorp/aws bindings
    requirements: str  # the file that installs it, with this app's other pins
    # Settings of the engine's JavaScript for jsii's Node.js process, unless the user set them: cdktn records a
    # JavaScript stack trace for every token it creates (frames of jsii's kernel, never of the Python that made it),
    # shown only in the engine's errors about tokens; a twentieth of a synth.
    node_environment: tuple[tuple[str, str], ...] = ()

    @property
    def modules(self) -> tuple[str, str]:
        return self.core, self.provider


CDKTF = Engine("cdktf", "cdktf", "cdktf_cdktf_provider_aws", "requirements.txt")
CDKTN = Engine("cdktn", "cdktn", "cdktn_provider_aws", "requirements-cdktn.txt",
               node_environment=(("CDKTN_DISABLE_CREATION_STACK", "1"),))
ENGINES = (CDKTF, CDKTN)


class EngineError(ImportError):
    """No engine, or two, or one without its provider bindings: what is wrong and how to fix it, in one line."""


def installed_engine(engines: Sequence[Engine] = ENGINES) -> Engine:
    """The one engine installed in this environment (its library; its provider bindings must be there too)."""
    found = [engine for engine in engines if _installed(engine.core)]
    if not found:
        raise EngineError(f"neither {' nor '.join(engine.core for engine in engines)} is installed in {sys.prefix}; "
                          f"install one: pip install -r {CDKTF.requirements} (cdktf) or -r {CDKTN.requirements} (cdktn)")
    if len(found) > 1:
        raise EngineError(f"both {' and '.join(engine.core for engine in found)} are installed in {sys.prefix}, and "
                          "the app runs on one; uninstall the other engine and its provider bindings (e.g. pip "
                          f"uninstall {CDKTF.core} {CDKTF.provider.replace('_', '-')}), or use a venv for each")
    engine = found[0]
    if not _installed(engine.provider):
        raise EngineError(f"{engine.core} is installed without its AWS provider bindings ({engine.provider}); "
                          f"install them: pip install -r {engine.requirements}")
    return engine


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the other engine's, refused once the app runs (below)
        return False


class _ProviderAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`bindings.aws.<service>` is the engine's `<provider>.<service>`: imported under its own name (once, so
    one set of classes), and registered under the neutral name too."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.prefix = NEUTRAL_PROVIDER_PACKAGE + "."

    def find_spec(self, fullname: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(self.prefix) or "." in fullname[len(self.prefix):]:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        service = spec.name[len(self.prefix):]
        try:
            module = importlib.import_module(f"{self.provider}.{service}")
        except ModuleNotFoundError as missing:
            if missing.name != f"{self.provider}.{service}":
                raise
            raise ModuleNotFoundError(f"No module named {spec.name!r}: the AWS provider bindings "
                                      f"({self.provider}) have no {service!r}", name=spec.name) from None
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system gave the provider's module the alias's spec; it keeps its own.
        module.__spec__ = module.__spec__.loader_state


class _RefuseOtherEngine(importlib.abc.MetaPathFinder):
    """The other engine's modules are not installed: say what to import instead."""

    def __init__(self, engine: Engine, others: Sequence[Engine]) -> None:
        self.engine = engine
        self.refused = {module: other for other in others for module in other.modules}

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        top = fullname.partition(".")[0]
        other = self.refused.get(top)
        if other is None:
            return None
        neutral = f"import provider classes from {NEUTRAL_PROVIDER_PACKAGE}.<service> (from {NEUTRAL_PROVIDER_PACKAGE}" \
            ".s3_bucket import S3Bucket)" if top == other.provider \
            else "import its classes from bindings (App, TerraformStack, Fn, Token, Testing, ...)"
        raise ModuleNotFoundError(f"{fullname} is {other.name}'s, and this app runs on {self.engine.name}: {neutral}, "
                                  "which works on either engine (docs/engines.md)", name=fullname)


def install_import_hooks(engine: Engine) -> None:
    """`bindings.aws.<service>` for the engine's provider submodules; the other engine's modules refused."""
    if not any(isinstance(finder, _ProviderAlias) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RefuseOtherEngine(engine, [other for other in ENGINES if other != engine]))
        sys.meta_path.insert(0, _ProviderAlias(engine.provider))


def submodules_as_attributes(package: str) -> Callable[[str], types.ModuleType]:
    """A package's module `__getattr__` (PEP 562) that imports `package.<attribute>` when first read:
    `import <provider> as aws; aws.s3_bucket.S3Bucket(...)`, as cdktf's provider `__init__` (which imports every
    submodule) allowed. A submodule outside the trimmed assembly is refused on import, saying what to do."""
    def submodule(attribute: str) -> types.ModuleType:
        if attribute.startswith("_"):
            raise AttributeError(f"module {package!r} has no attribute {attribute!r}")
        try:
            return importlib.import_module(f"{package}.{attribute}")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"{package}.{attribute}", None):
                raise
            raise AttributeError(f"module {package!r} has no attribute {attribute!r}") from None
    return submodule
