"""ARNs and endpoints per partition."""
from __future__ import annotations

import pytest

from aws_constructs.env import AwsEnvironment
from tests.aws_constructs.support import ACCOUNT


# --- environment: ARNs and endpoints per partition ---------------------------------------------------------------

@pytest.mark.parametrize("region, partition, host_suffix", [
    ("us-east-1", "aws", "amazonaws.com"), ("eu-west-1", "aws", "amazonaws.com"),
    ("cn-north-1", "aws-cn", "amazonaws.com.cn"), ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
])
def test_environment_builds_arns_and_endpoints_of_its_partition(region, partition, host_suffix):
    env = AwsEnvironment(ACCOUNT, region)
    assert env.partition == partition
    assert env.arn("glue", "catalog") == f"arn:{partition}:glue:{region}:{ACCOUNT}:catalog"
    assert env.role_arn("reader") == f"arn:{partition}:iam::{ACCOUNT}:role/reader"
    assert env.account_root_arn() == f"arn:{partition}:iam::{ACCOUNT}:root"
    assert env.service_host("kinesis") == f"kinesis.{region}.{host_suffix}"
