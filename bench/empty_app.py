"""The app's fixed cost on an engine: Python started, the bindings loaded as a synth loads them (the trimmed provider
assembly from the cache folder, jsii's Node.js process, the bytecode cache), and an App with one empty stack
synthesized. What a synth of any size pays before its first construct (bench/benchmark.py reports it beside the
naive floor).

    python bench/empty_app.py
"""
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from user_cache.bytecode import keep_bytecode  # noqa: E402

keep_bytecode()
from bindings import App, TerraformStack  # noqa: E402

with tempfile.TemporaryDirectory() as outdir:
    app = App(outdir=outdir)
    TerraformStack(app, "empty")
    app.synth()
