"""Reusable AWS constructs, modelled on the AWS CDK's L2 constructs.

One concept each, typed props with secure defaults, validation in the constructor, and grant helpers that
write least-privilege IAM from the wiring. They know AWS, not Leverage.

(Not named `constructs/`: a top-level package of that name would shadow the `constructs` library that
cdktf imports, and nothing would synthesize.)
"""
from aws_constructs.errors import ConstructPropsError

__all__ = ["ConstructPropsError"]
