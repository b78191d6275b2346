"""Parsed HCL kept in the user's cache folder (leverage/project/hcl_cache.py): a text parsed once is not parsed
again, gives the parser's result type for type, and a fresh object each time; what JSON cannot give back exactly
is not kept; a damaged or unwritable cache only costs the parsing; the cache stays small; a warm synth never loads
the parser."""
from __future__ import annotations

import hashlib
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


def cache_at(path: Path) -> ParsedHclCache:
    return ParsedHclCache(path, "parser")


def stored(path: Path) -> dict[str, Any]:
    """The entries the file holds, below its checksum line."""
    checksum, body = path.read_bytes().split(b"\n", 1)
    assert checksum.decode() == hashlib.sha256(body).hexdigest()
    return json.loads(body)


def test_a_text_is_parsed_once_and_read_back_type_for_type(tmp_path: Path) -> None:
    parser = Parser()
    first_run = cache_at(tmp_path / "parsed.json")
    first = first_run.parsed(TEXT, parser)
    first["names"].append("changed by the caller")  # not kept
    assert first_run.parsed(TEXT, parser)["names"] == ["a", "b"]
    first_run.save()
    first["names"].pop()
    again = cache_at(tmp_path / "parsed.json")  # another run
    second = again.parsed(TEXT, parser)
    assert parser.calls == 1 and hcl_cache._same(second, first)
    assert type(second["ratio"]) is float and type(second["accounts"]["apps"]["enabled"]) is bool
    second["ratio"] = 2.0
    assert again.parsed(TEXT, parser)["ratio"] == 1.0  # a new object each time
    assert again.parsed(TEXT + "x = 1\n", parser)["x"] == 1 and parser.calls == 2
    upgraded = ParsedHclCache(tmp_path / "parsed.json", "another parser")
    assert upgraded.parsed(TEXT, parser) == first and parser.calls == 3


def test_a_result_json_would_change_is_not_kept(tmp_path: Path) -> None:
    parser = Parser({"port": (8080, 8081)})  # a tuple comes back from JSON as a list
    cache = cache_at(tmp_path / "parsed.json")
    assert cache.parsed(TEXT, parser) == {"port": (8080, 8081)}
    cache.save()
    assert cache_at(tmp_path / "parsed.json").parsed(TEXT, parser) == {"port": (8080, 8081)}
    assert parser.calls == 2 and not (tmp_path / "parsed.json").exists()


@pytest.mark.parametrize("damage", [b"{not json", b'["a list"]', b'{"parser:KEY": 5}', b"\xff\xfe"])
def test_a_damaged_cache_is_parsed_again_and_rewritten(tmp_path: Path, damage: bytes) -> None:
    key = f"parser:{hashlib.sha256(TEXT.encode()).hexdigest()}"
    (tmp_path / "parsed.json").write_bytes(damage.replace(b"parser:KEY", key.encode()))
    parser = Parser()
    cache = cache_at(tmp_path / "parsed.json")
    assert cache.parsed(TEXT, parser)["names"] == ["a", "b"] and parser.calls == 1
    cache.save()
    assert stored(tmp_path / "parsed.json")[key]["names"] == ["a", "b"]


def test_a_changed_entry_that_still_reads_as_json_is_parsed_again(tmp_path: Path) -> None:
    """A result changed in the file (an account id, a region) would change the layers: its checksum no longer
    matches, whether the checksum line was left as it was or the entries were written in the format of the release
    before (no checksum line)."""
    cache = cache_at(tmp_path / "parsed.json")
    cache.parsed(TEXT, Parser())
    cache.save()
    entries = stored(tmp_path / "parsed.json")
    checksum = (tmp_path / "parsed.json").read_bytes().split(b"\n", 1)[0]
    changed = json.dumps(entries).replace("123", "124").encode()
    for damaged in (checksum + b"\n" + changed, changed):
        (tmp_path / "parsed.json").write_bytes(damaged)
        parser = Parser()
        assert cache_at(tmp_path / "parsed.json").parsed(TEXT, parser)["accounts"]["apps"]["id"] == 123
        assert parser.calls == 1


def test_an_unwritable_cache_folder_only_costs_the_parsing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    parser = Parser()
    cache = cache_at(tmp_path / "file" / "parsed.json")  # its folder is a file
    assert cache.parsed(TEXT, parser)["names"] == ["a", "b"] and parser.calls == 1
    cache.save()
    assert ParsedHclCache(None).parsed(TEXT, parser)["names"] == ["a", "b"]


def test_the_cache_keeps_this_run_s_texts_then_the_newest_within_its_size(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hcl_cache, "MOST_BYTES", 1_000)
    earlier = cache_at(tmp_path / "parsed.json")
    for number in range(40):
        earlier.parsed(f"value = {number}\n", Parser())
    earlier.save()  # one run's texts are all kept, whatever their size
    assert len(stored(tmp_path / "parsed.json")) == 40
    later = cache_at(tmp_path / "parsed.json")
    later.parsed("value = 99\n", Parser())
    later.save()  # then the newest of the others, within the size
    kept = stored(tmp_path / "parsed.json")
    assert len(json.dumps(kept)) <= 1_000 and list(kept.values())[-2:] == [{"value": 39}, {"value": 99}]
    assert {"value": 0} not in kept.values()
    big = {f"key{number}": "x" * 100 for number in range(20)}  # one project's text, larger than the cache
    parser = Parser(big)
    run = cache_at(tmp_path / "parsed.json")
    run.parsed("big = 1\n", parser)
    run.parsed("value = 39\n", Parser())
    run.save()
    again = cache_at(tmp_path / "parsed.json")
    assert again.parsed("big = 1\n", parser) == big and parser.calls == 1  # this run's texts are kept
    assert again.parsed("value = 39\n", Parser({"other": 1})) == {"value": 39}


def test_text_that_does_not_parse_is_one_error_every_time() -> None:
    for _ in range(2):
        with pytest.raises(UserError, match=r"cannot parse config/x.tfvars at line 2, column 1"):
            parse_hcl("accounts = {\n", "config/x.tfvars")


def test_the_parser_is_known_by_its_installed_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A reinstall of the same version (same paths, same times) with another file content is another parser."""
    before = hcl_cache._parser_identity()
    assert before is not None
    site = tmp_path / "site"
    for module, distribution in hcl_cache.PARSER_DISTRIBUTIONS:
        (site / module).mkdir(parents=True)
        (site / module / "__init__.py").write_text("")
        (site / f"{distribution}-1.0.dist-info").mkdir()
        (site / f"{distribution}-1.0.dist-info" / "RECORD").write_text(f"{module}/__init__.py,sha256=one,0\n")
    monkeypatch.syspath_prepend(str(site))
    for module, _ in hcl_cache.PARSER_DISTRIBUTIONS:
        monkeypatch.delitem(sys.modules, module, raising=False)
    copied = hcl_cache._parser_identity()
    (site / "hcl2-x").mkdir()
    record = site / "python_hcl2-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text().replace("one", "two"))
    assert len({before, copied, hcl_cache._parser_identity()}) == 3


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
