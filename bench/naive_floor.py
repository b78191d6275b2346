"""The naive floor: a plain CDK app that imports the engine and its provider package the usual way and synthesizes
one trivial stack. Nothing of this project is used; the engine's modules come from the command line (bench/benchmark.py
asks each venv's `bindings` which engine it has), so this file names neither.

    python bench/naive_floor.py <engine module> <provider package>
"""
import importlib
import sys
import tempfile

core = importlib.import_module(sys.argv[1])
# The usual import: the package's `__init__` (cdktf's imports every service submodule; cdktn's loads the whole
# assembly into jsii and imports submodules when first used).
__import__(sys.argv[2])
AwsProvider = importlib.import_module(f"{sys.argv[2]}.provider").AwsProvider

with tempfile.TemporaryDirectory() as outdir:
    app = core.App(outdir=outdir)
    stack = core.TerraformStack(app, "trivial")
    AwsProvider(stack, "aws", region="us-east-1")
    app.synth()
sys.exit(0)
