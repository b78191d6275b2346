"""Records which arguments the oldest hashicorp/aws release the layers allow carries (aws_constructs/provider_versions.py).

    terraform providers schema -json > schema.json    # in a folder initialized with that release (the mirror's)
    .venv/bin/python tools/record_provider_arguments.py schema.json

Writes aws_constructs/aws-provider-<version>-arguments.json.gz. The fast suite checks the file against the schema of
the provider the tests install (tests/stacks/test_terraform_validate.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aws_constructs.provider_versions import ARGUMENTS_FILE, arguments_of_schema, record  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ARGUMENTS_FILE.write_bytes(record(arguments_of_schema(json.loads(Path(argv[0]).read_text()))))
    print(f"wrote {ARGUMENTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
