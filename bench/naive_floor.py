"""The naive floor: a cdktf Python app that imports the provider package the usual way and synthesizes one
trivial stack. Nothing of this project is used."""
import sys
import tempfile

import cdktf
import cdktf_cdktf_provider_aws  # noqa: F401  (its __init__ imports every service submodule)
from cdktf_cdktf_provider_aws.provider import AwsProvider

with tempfile.TemporaryDirectory() as outdir:
    app = cdktf.App(outdir=outdir)
    stack = cdktf.TerraformStack(app, "trivial")
    AwsProvider(stack, "aws", region="us-east-1")
    app.synth()
sys.exit(0)
