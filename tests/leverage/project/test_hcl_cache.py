"""Parsed HCL kept in the user's cache folder (leverage/project/hcl_cache.py): a text parsed once is not parsed
again, gives the parser's result type for type, and a fresh object each time; what JSON cannot give back exactly
is not kept; a damaged or unwritable cache only costs the parsing; the cache stays small; a warm synth never loads
the parser."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leverage.errors import UserError
from leverage.project import hcl_cache
from leverage.project.hcl_cache import ParsedHclCache
from leverage.project.tfvars import parse_hcl
from tests.conftest import EXAMPLE, REPO

TEXT = 'accounts = { apps = { id = 123, enabled = true } }\nratio = 1.0\nnames = ["a", "b"]\n'


class Parser:
    def __init__(self, result: Any = None) -> None:
        self.calls = 0
        self.result = result

    def __call__(self, text: str) -> Any:
        self.calls += 1
        return self.result if self.result is not None else hcl_cache._parse(text)


def test_a_text_is_parsed_once_and_read_back_type_for_type(tmp_path: Path) -> None:
    parser = Parser()
    first = ParsedHclCache(tmp_path / "parsed.json").parsed(TEXT, parser)
    again = ParsedHclCache(tmp_path / "parsed.json")  # another run
    second = again.parsed(TEXT, parser)
    assert parser.calls == 1 and hcl_cache._same(second, first)
    assert type(second["ratio"]) is float and type(second["accounts"]["apps"]["enabled"]) is bool
    second["ratio"] = 2.0
    assert again.parsed(TEXT, parser)["ratio"] == 1.0  # a new object each time
    assert ParsedHclCache(tmp_path / "parsed.json").parsed(TEXT + "x = 1\n", parser)["x"] == 1
    assert parser.calls == 2


def test_a_result_json_would_change_is_not_kept(tmp_path: Path) -> None:
    parser = Parser({"port": (8080, 8081)})  # a tuple comes back from JSON as a list
    cache = ParsedHclCache(tmp_path / "parsed.json")
    assert cache.parsed(TEXT, parser) == {"port": (8080, 8081)}
    assert ParsedHclCache(tmp_path / "parsed.json").parsed(TEXT, parser) == {"port": (8080, 8081)}
    assert parser.calls == 2 and not (tmp_path / "parsed.json").exists()


@pytest.mark.parametrize("damage", [b"{not json", b'["a list"]', b'{"key": 5}', b"\xff\xfe"])
def test_a_damaged_cache_is_parsed_again_and_rewritten(tmp_path: Path, damage: bytes) -> None:
    (tmp_path / "parsed.json").write_bytes(damage)
    parser = Parser()
    assert ParsedHclCache(tmp_path / "parsed.json").parsed(TEXT, parser)["names"] == ["a", "b"]
    assert parser.calls == 1 and len(json.loads((tmp_path / "parsed.json").read_text())) == 1


def test_an_unwritable_cache_folder_only_costs_the_parsing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    parser = Parser()
    cache = ParsedHclCache(tmp_path / "file" / "parsed.json")  # its folder is a file
    assert cache.parsed(TEXT, parser)["names"] == ["a", "b"] and parser.calls == 1
    assert ParsedHclCache(None).parsed(TEXT, parser)["names"] == ["a", "b"]


def test_the_cache_keeps_the_newest_texts_within_its_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hcl_cache, "MOST_BYTES", 1_000)
    cache = ParsedHclCache(tmp_path / "parsed.json")
    for number in range(40):
        cache.parsed(f"value = {number}\n", Parser())
    kept = json.loads((tmp_path / "parsed.json").read_text())
    assert sum(len(key) + len(value) for key, value in kept.items()) <= 1_000
    assert json.loads(list(kept.values())[-1]) == {"value": 39}


def test_text_that_does_not_parse_is_one_error_every_time() -> None:
    for _ in range(2):
        with pytest.raises(UserError, match=r"cannot parse config/x.tfvars at line 2, column 1"):
            parse_hcl("accounts = {\n", "config/x.tfvars")


def test_the_parser_s_identity_changes_when_it_is_reinstalled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before = hcl_cache._parser_identity()
    assert before is not None
    fake = tmp_path / "hcl2" / "__init__.py"
    fake.parent.mkdir()
    fake.write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hcl2", raising=False)
    assert hcl_cache._parser_identity() not in (before, None)


# A fresh process: a second synth of the example finds every file parsed, and never imports the parser.
WARM_SYNTH = """
import sys
sys.path.insert(0, {repo!r})
import main
main.main(["list", "-c", "leverageRoot={root}"])
print(sorted(name for name in sys.modules if name.split(".")[0] in ("hcl2", "lark"))[:3])
"""


def test_a_warm_run_does_not_load_the_parser(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    probe = [sys.executable, "-c", WARM_SYNTH.format(repo=str(REPO), root=str(EXAMPLE))]
    cold = subprocess.run(probe, capture_output=True, text=True, env=env, check=True)
    warm = subprocess.run(probe, capture_output=True, text=True, env=env, check=True)
    assert cold.stdout.splitlines()[-1] != "[]"
    assert warm.stdout.splitlines()[-1] == "[]" and warm.stdout.splitlines()[:-1] == cold.stdout.splitlines()[:-1]
