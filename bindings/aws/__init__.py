"""The AWS provider's classes on either engine: `from bindings.aws.sqs_queue import SqsQueue`.

`bindings.aws.<service>` is the installed engine's prebuilt provider submodule (`cdktf_cdktf_provider_aws.<service>`
or `cdktn_provider_aws.<service>`), the same module object under a second name, so its classes are the engine's
own. Import provider classes this way in your own layers and they run on cdktf and on CDK Terrain alike
(docs/engines.md); the submodules your layer modules import are loaded with the app's (docs/speed.md). The alias
is an import hook installed by `bindings` (bindings/engine_choice.py), which this package's parent imports first.
"""
from bindings.engine_choice import submodules_as_attributes

__getattr__ = submodules_as_attributes(__name__)  # `import bindings.aws as aws; aws.sqs_queue.SqsQueue(...)`
