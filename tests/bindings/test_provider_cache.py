"""Loading fast (bindings/provider_cache.py, bindings/__init__.py), on either engine: the trimmed provider assembly
gives the session's layers (which tests/cli/test_process_boundaries.py compares with the usual import's); its cache
is keyed, atomic and repaired; the fallback is the usual import; the jsii internals it relies on are checked; one
Node.js process; bytecode cached in the user's cache folder."""
from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import bindings
from bindings import provider_cache
from bindings.provider_cache import CacheEntry, InstalledProvider, TrimError
from tests.conftest import REPO, copy_example, tree_digest

BINDINGS = REPO / "bindings/__init__.py"
PROVIDER = bindings.ENGINE.provider
# What bindings/__init__.py imports, and what the layers registered in cdktf.json (the example's own) import.
SUBMODULES = provider_cache.imported_submodules(BINDINGS).union(
    *(provider_cache.imported_submodules(module) for module in bindings._own_layer_modules()))

# Runs the CLI in a fresh process and reports which provider assembly jsii loaded.
RUNNER = """
import json, sys
sys.path.insert(0, {repo!r})
import main
code = main.main(["synth", "-c", "leverageRoot=" + {root!r}])
cache = sys.modules.get("bindings.provider_cache")
print(json.dumps({{"code": code, "trimmed": str(cache.loaded) if cache and cache.loaded else None}}))
"""
# Builds the same cache entry without loading jsii (bindings.provider_cache imports the package `bindings` first,
# which loads it: so the build starts once that is done, while the other process is building too).
BUILD_ONLY = """
import os, sys
sys.path.insert(0, {repo!r})
from bindings import provider_cache, ENGINE
from pathlib import Path
import bindings
submodules = provider_cache.imported_submodules(Path({bindings!r})).union(
    *(provider_cache.imported_submodules(module) for module in bindings._own_layer_modules()))
root = Path(os.environ["XDG_CACHE_HOME"]) / "leverage-cdktf"
print(provider_cache.trimmed_tarball(provider_cache.InstalledProvider.find(ENGINE.provider), submodules, root))
"""


def start_synth(tmp_path: Path, name: str, cache: Path, **env: str) -> tuple[subprocess.Popen, Path]:
    root = copy_example(tmp_path / name / "example")
    script = RUNNER.format(repo=str(REPO), root=str(root))
    process = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path / name, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "XDG_CACHE_HOME": str(cache),
                                    "CDKTF_OUTDIR": str(tmp_path / name / "cdktf.out"), **env})
    return process, root


def finish(process: subprocess.Popen) -> tuple[str, str]:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return out, err


@pytest.mark.slow
def test_a_first_run_on_an_empty_cache_gives_the_session_s_layers_while_another_process_builds_the_same_entry(
        tmp_path: Path, synthesized_example: Path) -> None:
    """A first run on an empty cache while another process builds the same entry: the run writes the session's
    layers byte for byte (the usual import writes them too: tests/cli/test_process_boundaries.py, the suite's one
    run of the usual import); the cache ends with one complete entry, no temporary file, no note."""
    cold = tmp_path / "cold-cache"
    first, first_root = start_synth(tmp_path, "first", cold)
    builder = subprocess.Popen([sys.executable, "-c", BUILD_ONLY.format(repo=str(REPO), bindings=str(BINDINGS))],
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "XDG_CACHE_HOME": str(cold)})
    (first_out, first_err), (built, build_err) = map(finish, (first, builder))

    assert tree_digest(first_root) == tree_digest(synthesized_example)
    entry = CacheEntry.for_(InstalledProvider.find(PROVIDER), SUBMODULES, cold / "leverage-cdktf")
    assert json.loads(first_out.strip().splitlines()[-1])["trimmed"] == built.strip() == str(entry.tarball)
    assert entry.read() == entry.tarball
    files = sorted(path.name for path in entry.tarball.parent.iterdir() if path.is_file())
    assert [name for name in files if name.startswith(entry.tarball.name.split("-")[0])] == \
        sorted([entry.tarball.name, entry.manifest.name]) and not [name for name in files if name.startswith(".")]
    # (no temporary file left by either builder; the run's parsed HCL is kept beside: leverage/project/hcl_cache.py)
    assert "note:" not in first_err and build_err == ""  # no rebuild, no fallback


def test_when_trimming_fails_one_line_says_so_and_the_usual_import_follows(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What the bindings does on False is the LEVERAGE_CDKTF_EAGER_IMPORT=1 path the test above proves."""
    def new_layout(*args: object) -> bytes:
        raise TrimError("simulated: the assembly has a new layout")

    monkeypatch.setattr(provider_cache, "build_trimmed_tarball", new_layout)
    capsys.readouterr()
    assert provider_cache.load_trimmed_provider(SUBMODULES, tmp_path / "leverage-cdktf", bindings.ENGINE) is False
    assert capsys.readouterr().err == \
        "note: loading the full AWS provider package (slower): simulated: the assembly has a new layout\n"


def test_the_session_runs_the_trimmed_assembly_in_one_node_process() -> None:
    """conftest imported the bindings: the trimmed assembly is loaded, and jsii's kernel runs in our launcher
    (one Node.js process, no second one started by jsii's own launcher)."""
    from jsii._runtime import kernel

    assert provider_cache.loaded is not None
    node = kernel.provider._process._process
    assert Path(node.args[-1]).name == "jsii-runtime.js" and "leverage-cdktf" in node.args[-1]
    children = Path(f"/proc/{node.pid}/task/{node.pid}/children")
    if children.exists():
        assert children.read_text().split() == []


def test_submodules_are_what_the_bindings_and_the_registered_layers_import_and_nothing_else_loads() -> None:
    loaded = {name.split(".")[1] for name in sys.modules
              if name.startswith(PROVIDER + ".") and name.split(".")[1] != "_jsii"}
    assert loaded <= SUBMODULES | {"provider_functions"}  # cdktn's AwsProvider imports its functions' bindings
    assert {"s3_bucket", "kinesis_firehose_delivery_stream", "provider"} <= loaded and "sqs_queue" in SUBMODULES
    for name in (f"{PROVIDER}.lambda_function", "bindings.aws.lambda_function"):
        with pytest.raises(ImportError, match="bindings.aws.lambda_function is not in the trimmed provider assembly: "
                                              "import it at the top of bindings/__init__.py or of a layer module"):
            importlib.import_module(name)


def test_a_submodule_the_trimmed_assembly_holds_for_the_imported_ones_imports(session_entry: CacheEntry) -> None:
    """jsii imports the bindings of a type it hands Python (cdktn's AwsProvider.functions: its provider functions);
    every submodule of the trimmed assembly imports, whether or not a layer imports it."""
    with tarfile.open(session_entry.tarball) as archive:
        submodules = json.load(archive.extractfile("package/.jsii"))["submodules"]
    # Each submodule's source folder (`src/provider-functions/index:`) is its Python name in kebab case.
    names = {re.fullmatch(r"src/([\w-]+)/index:", entry["symbolId"])[1].replace("-", "_") for entry in submodules.values()}
    assert SUBMODULES <= names
    for name in sorted(names - SUBMODULES):
        assert importlib.import_module(f"{PROVIDER}.{name}").__name__ == f"{PROVIDER}.{name}"


@pytest.mark.parametrize("statement", [
    "from bindings.aws.lambda_function import LambdaFunction", "from bindings.aws import lambda_function",
    "import bindings.aws.lambda_function", "from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction",
    "import cdktn_provider_aws.lambda_function", "from cdktn_provider_aws import lambda_function as f",
    "import cdktf_cdktf_provider_aws as aws\naws.lambda_function.LambdaFunction", "import bindings.aws as aws\naws.lambda_function",
    "import bindings.aws\nbindings.aws.lambda_function.LambdaFunction", "import cdktn_provider_aws\ncdktn_provider_aws.lambda_function",
    "from bindings import aws\naws.lambda_function.LambdaFunction", "from bindings import aws as a\na.lambda_function"])
def test_a_new_binding_import_is_picked_up_from_the_source(tmp_path: Path, statement: str) -> None:
    """The engine-neutral path and either engine's own (a layer of yours written for cdktf keeps working there)."""
    module = tmp_path / "layer.py"
    module.write_text(f"from bindings.aws.sqs_queue import SqsQueue\n{statement}\nfrom bindings import Fn\n"
                      "from . import local\nfrom bindings.aws import *\n")
    assert provider_cache.imported_submodules(module) == {"sqs_queue", "lambda_function"}


def test_a_layer_module_that_does_not_parse_adds_no_submodule_and_stops_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its loader reports it later, as one line naming the file: a syntax error, nesting too deep for the parser,
    bytes that are no text, a file that is gone, a FIFO (not read: the read would block), a folder on its way that
    cannot be searched."""
    good = tmp_path / "good.py"
    good.write_text("from bindings.aws.sqs_queue import SqsQueue\n")
    broken = [tmp_path / name for name in ("syntax.py", "deep.py", "binary.py", "gone.py")]
    broken[0].write_text("from bindings.aws.sns_topic import (\n")
    broken[1].write_text("from bindings.aws.sns_topic import SnsTopic\nx = " + "-" * 200_000 + "1\n")
    broken[2].write_bytes(b"\xff\xfe\x00")
    fifo = tmp_path / "fifo.py"  # a read would wait for a writer
    os.mkfifo(fifo)
    hidden = tmp_path / "locked" / "layer.py"
    is_file = Path.is_file

    def searched(path: Path) -> bool:
        if path == hidden:  # as for a user without search permission on its folder (the tests run as root)
            raise PermissionError(13, "Permission denied", str(path))
        return is_file(path)

    monkeypatch.setattr(Path, "is_file", searched)
    assert bindings.layer_submodules([*broken, fifo, hidden, good]) == {"sqs_queue"}


@pytest.mark.parametrize("name", [PROVIDER, "bindings.aws"])
def test_the_provider_package_imported_whole_gives_its_submodules_as_attributes(name: str) -> None:
    """As its own `__init__` would (cdktf's imports them all); one outside the trimmed assembly is refused."""
    package = importlib.import_module(name)
    assert package.s3_bucket is importlib.import_module(f"{PROVIDER}.s3_bucket")
    with pytest.raises(ImportError, match="is not in the trimmed provider assembly"):
        package.ssm_parameter
    with pytest.raises(AttributeError):
        package.no_such_service
    with pytest.raises(AttributeError):
        package.__wrapped__


def test_cache_is_keyed_by_provider_version_and_submodules(tmp_path: Path) -> None:
    provider = InstalledProvider.find(PROVIDER)
    base = CacheEntry.for_(provider, SUBMODULES, tmp_path)
    assert base.tarball.parent == tmp_path and provider.version in base.tarball.name
    assert CacheEntry.for_(provider, sorted(SUBMODULES, reverse=True), tmp_path) == base
    others = [CacheEntry.for_(provider, SUBMODULES | {"lambda_function"}, tmp_path),
              CacheEntry.for_(provider, SUBMODULES - {"glue_crawler"}, tmp_path),
              CacheEntry.for_(dataclasses.replace(provider, version="99.0.0"), SUBMODULES, tmp_path)]
    assert len({entry.tarball for entry in [base, *others]}) == 4


@pytest.fixture(scope="module")
def session_entry() -> CacheEntry:
    """The entry conftest's import of the bindings used (built then, if it was missing)."""
    assert provider_cache.loaded is not None
    entry = CacheEntry.for_(InstalledProvider.find(PROVIDER), SUBMODULES, provider_cache.loaded.parent)
    assert entry.read() == provider_cache.loaded
    return entry


def copy_entry(entry: CacheEntry, root: Path) -> CacheEntry:
    copy = CacheEntry(root / entry.tarball.name, root / entry.manifest.name, entry.key)
    root.mkdir(parents=True, exist_ok=True)
    copy.tarball.write_bytes(entry.tarball.read_bytes())
    copy.manifest.write_bytes(entry.manifest.read_bytes())
    return copy


@pytest.mark.parametrize("damage", ["truncated", "flipped", "no manifest", "no tarball", "other key"])
def test_damaged_cache_entry_is_detected(tmp_path: Path, session_entry: CacheEntry, damage: str) -> None:
    entry = copy_entry(session_entry, tmp_path)
    data = entry.tarball.read_bytes()
    if damage == "truncated":
        entry.tarball.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        entry.tarball.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    elif damage == "no manifest":
        entry.manifest.unlink()
    elif damage == "no tarball":
        entry.tarball.unlink()
    else:
        manifest = json.loads(entry.manifest.read_text())
        manifest["key"]["submodules"] = ["s3_bucket"]
        entry.manifest.write_text(json.dumps(manifest))
    with pytest.raises(TrimError):
        entry.read()


def test_damaged_cache_is_rebuilt_with_one_line(tmp_path: Path, session_entry: CacheEntry,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A real rebuild from the installed provider: the same bytes as before (the build is deterministic)."""
    entry = copy_entry(session_entry, tmp_path)
    good = entry.tarball.read_bytes()
    entry.tarball.write_bytes(good[:1000])
    capsys.readouterr()
    assert provider_cache.trimmed_tarball(InstalledProvider.find(PROVIDER), SUBMODULES, tmp_path) == entry.tarball
    err = capsys.readouterr().err
    assert err.startswith("note: rebuilding the cached trimmed provider assembly ") and err.count("\n") == 1
    assert entry.tarball.read_bytes() == good and entry.read() == entry.tarball


def test_unwritable_cache_folder_still_gives_a_trimmed_tarball(tmp_path: Path, session_entry: CacheEntry,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    good = session_entry.tarball.read_bytes()
    monkeypatch.setattr(provider_cache, "build_trimmed_tarball", lambda provider, submodules: good)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    tarball = provider_cache.trimmed_tarball(InstalledProvider.find(PROVIDER), SUBMODULES, blocker / "leverage-cdktf")
    assert tarball.read_bytes() == good and not tarball.is_relative_to(blocker)


def test_a_submodule_the_provider_does_not_have_is_left_to_its_import(
        tmp_path: Path, session_entry: CacheEntry, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in a layer's provider import (`bindings.aws.sqs_queuee`) is reported by the layer's loader, naming its
    file and line: no reason to load the whole provider (seconds, a gigabyte) before saying so."""
    root = tmp_path / "leverage-cdktf"
    entry = copy_entry(session_entry, root)
    monkeypatch.setattr(provider_cache, "_start_jsii", lambda *args: None)  # the session's jsii has it loaded
    monkeypatch.setattr(provider_cache, "loaded", None)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    capsys.readouterr()
    assert provider_cache.load_trimmed_provider(SUBMODULES | {"sqs_queuee"}, root, bindings.ENGINE) is True
    assert capsys.readouterr().err == "" and provider_cache.loaded == entry.tarball
    with pytest.raises(ModuleNotFoundError, match="sqs_queuee"):
        importlib.import_module(f"{PROVIDER}.sqs_queuee")


def test_trimmed_tarball_holds_exactly_the_bound_types_and_their_javascript(session_entry: CacheEntry) -> None:
    """Fails loudly when a provider or jsii bump changes what the trimming relies on: every type the Python
    bindings name is in the trimmed assembly, each submodule's JavaScript is there, and the index requires only
    those (and the types they refer to: cdktn's AwsProvider refers to its provider functions)."""
    provider = InstalledProvider.find(PROVIDER)
    with tarfile.open(session_entry.tarball) as archive:
        names = set(archive.getnames())
        assembly = json.load(archive.extractfile("package/.jsii"))
        index = archive.extractfile("package/lib/index.js").read().decode()
        package = json.load(archive.extractfile("package/package.json"))
    assert (assembly["name"], assembly["version"]) == (provider.assembly_name, provider.version) == \
        (package["name"], package["version"])
    bound = set().union(*(provider.python_types(submodule) for submodule in SUBMODULES))
    assert bound <= set(assembly["types"])
    namespaces = {fqn.split(".")[1] for fqn in assembly["types"]}
    assert {name.split(".")[1] for name in assembly["submodules"]} == namespaces
    assert index.count("require(") == len(namespaces) == len({name.split("/")[2] for name in names
                                                                if name.startswith("package/lib/") and
                                                                name.count("/") >= 3})
    assert len(assembly["types"]) < 1000  # of ~25,000
    referred = {match for text in map(json.dumps, assembly["types"].values())
                for match in re.findall(re.escape(f'"{provider.assembly_name}.') + r"(\w+)\.", text)}
    assert referred <= namespaces


def assembly_text(types: dict[str, dict], indent: int | None = 2) -> bytes:
    assembly = {"name": "@p/q", "version": "1.0.0", "submodules": {"@p/q.a": {}, "@p/q.b": {}}, "types": types}
    return json.dumps(assembly, indent=indent).encode()


def a_type(fqn: str, base: str = "cdktf.TerraformResource") -> dict:
    return {"assembly": "@p/q", "fqn": fqn, "kind": "class", "base": base}


def test_reading_the_assembly_keeps_the_wanted_types_and_parses_each() -> None:
    types = {"@p/q.a.One": a_type("@p/q.a.One"), "@p/q.a.Two": a_type("@p/q.a.Two", "@p/q.a.One"),
             "@p/q.b.Three": a_type("@p/q.b.Three")}
    header, kept = provider_cache._read_assembly(assembly_text(types), "@p/q", {"a"})
    assert kept == {fqn: types[fqn] for fqn in ("@p/q.a.One", "@p/q.a.Two")}
    assert header == {"name": "@p/q", "version": "1.0.0", "submodules": {"@p/q.a": {}, "@p/q.b": {}}, "types": {}}


def test_reading_the_assembly_keeps_the_types_the_wanted_ones_refer_to() -> None:
    types = {"@p/q.a.One": a_type("@p/q.a.One", "@p/q.b.Three"), "@p/q.b.Three": a_type("@p/q.b.Three", "@p/q.c.Four"),
             "@p/q.c.Four": a_type("@p/q.c.Four"), "@p/q.d.Five": a_type("@p/q.d.Five")}
    _, kept = provider_cache._read_assembly(assembly_text(types), "@p/q", {"a"})
    assert sorted(kept) == ["@p/q.a.One", "@p/q.b.Three", "@p/q.c.Four"]


@pytest.mark.parametrize("case", ["refers to a missing namespace", "not pretty-printed", "missing namespace"])
def test_reading_an_unexpected_assembly_refuses_to_trim(case: str) -> None:
    types = {"@p/q.a.One": a_type("@p/q.a.One", "@p/q.z.Gone" if case == "refers to a missing namespace" else "cdktf.X"),
             "@p/q.b.Three": a_type("@p/q.b.Three")}
    text = assembly_text(types, indent=None if case == "not pretty-printed" else 2)
    with pytest.raises(TrimError):
        provider_cache._read_assembly(text, "@p/q", {"a", "c"} if case == "missing namespace" else {"a"})


# In a fresh process with jsii's debug output on: how the kernel's working folder (under TMPDIR) holds each
# assembly the bindings loaded.
LAUNCHER_PROBE = """
import glob, json, os, sys
sys.path.insert(0, {repo!r})
from leverage import interrupts
with interrupts.private_temporary_folder_for_children("probe-"):  # as a synth starts the engine
    import bindings
    from bindings import provider_cache
    assert provider_cache.loaded and bindings.Token.is_unresolved("x") is False  # a call: the loads are answered
    assemblies = ["constructs", bindings.ENGINE.core, provider_cache.InstalledProvider.find(bindings.ENGINE.provider).assembly_name]
    folder, = glob.glob(os.path.join(bindings.user_cache_dir(), "jsii-runtime-*", "kernel-*", "node_modules"))
    links = {{name: os.path.islink(os.path.join(folder, name)) for name in assemblies}}
    from jsii._runtime import kernel
    kernel.provider._process.stop()  # Node.js exits, and its kernel's exit hook removes its working folder
    print(json.dumps({{"folder": os.path.basename(os.path.dirname(folder)), "links": links,
                      "kept after Node.js": os.path.isdir(os.path.dirname(folder))}}))
"""


def test_one_process_launcher_forwards_what_javascript_writes_and_loads_each_assembly_once_by_one_link(
        tmp_path: Path) -> None:
    """jsii's debug output is written by the kernel to its stderr; the launcher wraps it as jsii's own launcher
    does, and the Python side prints it as plain lines. It shows each assembly loaded once (sent ahead, the
    modules' own loads not sent again); the kernel links each package into its working folder as one symbolic
    link (it hard-links every file, and removes them all at exit, unless it knows it preserves symlinks), in a
    folder of a fixed name in the cache folder, whatever the temporary folder (so that Node.js's compile cache
    finds its modules again instead of growing by every run's), which Node.js leaves and the run removes at exit
    while it holds the slot."""
    cache = tmp_path / "cache" / "leverage-cdktf"
    cache.mkdir(parents=True)
    for built in bindings.user_cache_dir().glob(f"{Path(str(provider_cache.loaded)).name.rsplit('.jsii.tgz')[0]}.*"):
        shutil.copy(built, cache)  # the session's trimmed assembly: not built again
    compiled: list[set[Path]] = []
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        process = subprocess.run([sys.executable, "-c", LAUNCHER_PROBE.format(repo=str(REPO))],
                                 capture_output=True, text=True, timeout=300, cwd=tmp_path,
                                 env={**os.environ, "JSII_DEBUG": "1", "TMPDIR": str(tmp_path / run),
                                      "XDG_CACHE_HOME": str(tmp_path / "cache")})
        assert process.returncode == 0, process.stderr[-3000:]
        compiled.append(set(cache.glob("jsii-runtime-*/node-compile-cache/**/*")))
    lines = process.stderr.splitlines()
    assert not any(line.startswith(("b'", '{"stderr"', '{"stdout"')) for line in lines)
    loads = [line for line in lines if line.startswith("[@jsii/kernel] load")]
    assert len(loads) == 3 and not any("already-loaded" in line for line in lines)  # constructs, engine, provider
    assert "note:" not in process.stderr  # the copied assembly was used
    found = json.loads(process.stdout.strip().splitlines()[-1])
    assert list(found["links"].values()) == [True, True, True], found
    assert re.fullmatch(r"kernel-\d+", found["folder"]), found
    assert found["kept after Node.js"]  # only the run holding the slot's lock removes it, at its end
    assert not [path for path in cache.glob("jsii-runtime-*/kernel-*") if path.is_dir()]  # (its lock file stays)
    assert not list(tmp_path.glob("*/probe-*"))
    # The second run, with another temporary folder, found the modules where the first left them.
    assert compiled[0] and compiled[1] == compiled[0]


def test_a_call_sent_ahead_is_answered_before_the_next_and_a_failure_names_it() -> None:
    """`override_logical_id` and `add_override` go to jsii without waiting (bindings/provider_cache.py, `_Ahead`):
    their effect is there for the next call, a failure is raised at the next call naming the request, and wrong
    arguments are refused at once, as the engine's own methods refuse them."""
    from bindings import App, S3Bucket, TerraformStack

    bucket = S3Bucket(TerraformStack(App(), "ahead"), "Bucket", bucket="b")
    bucket.override_logical_id("chosen_name")
    assert bucket.friendly_unique_id == "chosen_name"
    provider_cache._Ahead.of_running_kernel().call(bucket, "noSuchMethod", ["x"])
    with pytest.raises(RuntimeError, match=r"^noSuchMethod\('x',\) on .*S3Bucket@\d+: "):
        bucket.friendly_unique_id  # noqa: B018
    assert bucket.friendly_unique_id == "chosen_name"
    with pytest.raises(TypeError, match="override_logical_id: argument 1 must be str, not int"):
        bucket.override_logical_id(5)


def test_type_hints_of_jsii_stubs_are_resolved_once_and_the_type_checks_stay() -> None:
    """(bindings/__init__.py, `_resolve_type_hints_once`): the generated bindings' type-checking stubs are resolved
    once; any other function's hints as usual; and a wrong argument is still refused before it reaches jsii."""
    import typing

    from bindings import App, S3Bucket, TerraformStack

    stub = next(value for name, value in S3Bucket.__init__.__globals__.items()  # the module's own namespace
                if name.startswith("_typecheckingstub__"))
    assert typing.get_type_hints(stub) is typing.get_type_hints(stub)

    def plain(value: "int") -> None: ...

    assert typing.get_type_hints(plain) == {"value": int, "return": type(None)}
    assert typing.get_type_hints(plain) is not typing.get_type_hints(plain)
    with pytest.raises(TypeError, match="bucket"):
        S3Bucket(TerraformStack(App(), "hints"), "Bucket", bucket=5)


def test_ctrl_c_while_jsii_starts_is_raised_once_it_has_started() -> None:
    """(provider_cache._interrupt_after): jsii's process object, interrupted half-way through its start, could not
    stop itself, and its finalizer printed a traceback after the one-line error (tests/cli/test_process_boundaries.py
    sends Ctrl-C to a running synth)."""
    import signal

    started = []
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, whatever runs the tests
    try:
        with pytest.raises(KeyboardInterrupt):
            with provider_cache._interrupt_after():
                os.kill(os.getpid(), signal.SIGINT)
                started.append("the start went on")
        assert started == ["the start went on"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        # A process started ignoring Ctrl-C (run with `&` by a shell without job control) keeps ignoring it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with provider_cache._interrupt_after():
            os.kill(os.getpid(), signal.SIGINT)
            started.append("ignored")
        assert started[-1] == "ignored" and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_the_compile_cache_of_earlier_releases_is_removed_with_their_launcher(tmp_path: Path) -> None:
    """Earlier releases' compile cache grew by every run's modules (gigabytes): a new launcher folder removes it, and
    the compile caches of earlier launchers."""
    legacy = tmp_path / provider_cache.COMPILE_CACHE / "v24-x64" / "0123abcd"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"compiled")
    older = tmp_path / "jsii-runtime-1.0.0-older"
    (older / provider_cache.COMPILE_CACHE).mkdir(parents=True)
    (older / "bin").mkdir()
    launcher = provider_cache._single_process_runtime(tmp_path)
    assert launcher is not None and launcher.is_file() and not legacy.parent.parent.exists()
    assert (older / "bin").is_dir() and not (older / provider_cache.COMPILE_CACHE).exists()  # a running one keeps its launcher
    legacy.parent.mkdir(parents=True)  # with the launcher in place, a run removes nothing
    assert provider_cache._single_process_runtime(tmp_path) == launcher and legacy.parent.exists()


KERNEL_COPY = ("bin/jsii-runtime.js", "lib/program.js", "lib/runtime-index-worker.js")


@pytest.mark.parametrize("damage, said", [
    ("launcher overwritten", "bin/jsii-runtime.js is 9 bytes, not "),
    ("kernel overwritten, same size", "lib/program.js does not match its checksum"),
    ("index worker missing", "lib/runtime-index-worker.js cannot be read (No such file or directory)"),
    ("checksums overwritten", "its checksums.json cannot be read (JSONDecodeError)"),
    ("no checksums (a run stopped while writing)", None),
])
def test_a_damaged_copy_of_jsii_s_kernel_is_rewritten_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, said: str | None) -> None:
    """(provider_cache._single_process_runtime) A damaged launcher or kernel would stop every run; each run checks
    the copy against the checksums written with it and writes it again, saying so; one not finished is finished
    without a word, as on a first run."""
    launcher = provider_cache._single_process_runtime(tmp_path)
    runtime = launcher.parents[1]
    written = {relative: (runtime / relative).read_bytes() for relative in KERNEL_COPY}
    if damage == "launcher overwritten":
        launcher.write_text("garbage(\n")
    elif damage == "kernel overwritten, same size":
        (runtime / "lib/program.js").write_bytes(b"x" * len(written["lib/program.js"]))
    elif damage == "index worker missing":
        (runtime / "lib/runtime-index-worker.js").unlink()
    elif damage == "checksums overwritten":
        (runtime / "checksums.json").write_text("{")
    else:
        (runtime / "checksums.json").unlink()
        launcher.write_text("garbage(\n")
    capsys.readouterr()
    assert provider_cache._single_process_runtime(tmp_path) == launcher
    err = capsys.readouterr().err
    if said is None:
        assert err == ""
    else:
        assert err.startswith(f"note: rebuilt the cached copy of jsii's kernel {runtime}: {said}") and \
            err.count("\n") == 1, err
    assert {relative: (runtime / relative).read_bytes() for relative in KERNEL_COPY} == written
    assert provider_cache._single_process_runtime(tmp_path) == launcher and capsys.readouterr().err == ""


def test_a_damaged_copy_of_jsii_s_kernel_that_cannot_be_rewritten_is_left_for_jsii_s_own_launcher(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """(provider_cache._single_process_runtime) In a cache folder that became read-only, a damaged copy is not
    run and no rebuild is claimed: one line says so and what to do, on each run; with no copy there at all, jsii's own
    launcher runs without a word, as for any cache folder that cannot be written."""
    runtime = provider_cache._single_process_runtime(tmp_path).parents[1]
    size = (runtime / "lib/program.js").stat().st_size
    (runtime / "lib/program.js").write_text("garbage(\n")

    def read_only(folder: Path, files: dict[str, bytes]) -> None:
        raise PermissionError(13, "Permission denied", str(folder / next(iter(files))))

    monkeypatch.setattr(provider_cache, "_write_copy", read_only)
    capsys.readouterr()
    for _ in range(2):
        assert provider_cache._single_process_runtime(tmp_path) is None
        err = capsys.readouterr().err
        assert err == (f"note: the cached copy of jsii's kernel {runtime} is damaged (lib/program.js is 9 bytes, not "
                       f"{size}) and cannot be "
                       "written again (Permission denied): jsii's own launcher runs instead (slower); delete that "
                       "folder, or make it writable\n"), err
    with pytest.raises(PermissionError):
        provider_cache._single_process_runtime(tmp_path / "empty")
    assert capsys.readouterr().err == ""
    # A copy left unfinished (its checksums removed before a write that failed) is said to be so, too.
    (runtime / "checksums.json").unlink()
    assert provider_cache._single_process_runtime(tmp_path) is None
    assert "is damaged (unfinished: no checksums) and cannot be written again" in capsys.readouterr().err


class _ScriptedProcess:
    """What jsii's Node.js process answers, line by line (a missing line: the process ended)."""

    def __init__(self, *lines: str) -> None:
        self.lines = list(lines)

    def _next_message(self) -> object:
        return json.loads(self.lines.pop(0) if self.lines else "")


def test_the_greeting_read_later_is_checked_before_the_first_answer() -> None:
    """(provider_cache._greeting_read_later): Python imports while Node.js starts; the greeting jsii would have
    waited for is read before the first answer, checked as jsii checks it, and a process that never greets (or
    greets as another jsii) is an error naming the start, not a misread answer."""
    from jsii import __jsii_runtime_version__
    from jsii._runtime import kernel

    assert kernel.provider._process._leverage_ungreeted  # this session's Node.js was started without waiting
    greeting = json.dumps({"hello": f"@jsii/runtime@{__jsii_runtime_version__}"})
    answer = json.dumps({"ok": {"result": 1}})
    assert provider_cache._Ahead(_ScriptedProcess(greeting, answer), greeted=False)._next_message_after_answers() == \
        {"ok": {"result": 1}}
    wrong = provider_cache._Ahead(_ScriptedProcess(json.dumps({"hello": "@jsii/runtime@0.1.0"}), answer), greeted=False)
    with pytest.raises(RuntimeError, match=r"^starting jsii's Node.js process \(its greeting\): "):
        wrong._next_message_after_answers()
    with pytest.raises(RuntimeError, match="process ended"):
        provider_cache._Ahead(_ScriptedProcess(), greeted=False)._next_message_after_answers()


def test_a_kernel_folder_slot_is_held_by_its_lock_and_a_killed_run_s_is_taken_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(provider_cache._kernel_working_folder) A slot whose lock another process holds is skipped; one left by a run
    that was killed (its folder there, its lock free) is emptied and reused; with every slot held, no fixed folder
    and no compile cache (a random folder's modules would be new entries every run)."""
    import fcntl

    monkeypatch.setattr(provider_cache, "KERNEL_FOLDER_SLOTS", 3)
    monkeypatch.setattr(provider_cache, "_held_slots", [])
    (tmp_path / "kernel-1").mkdir()
    (tmp_path / "kernel-1" / "left-by-a-killed-run").write_text("")
    others = []
    for slot in (0, 2):  # held by other running processes
        lock = os.open(tmp_path / f"kernel-{slot}.lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(lock, fcntl.LOCK_EX)
        others.append(lock)
    try:
        assert provider_cache._kernel_working_folder(tmp_path) == tmp_path / "kernel-1"
        assert not list((tmp_path / "kernel-1").iterdir())
        assert provider_cache._kernel_working_folder(tmp_path) is None  # all three held now
        launcher = tmp_path / "bin" / "jsii-runtime.js"
        changes = provider_cache._jsii_process_environment(launcher).changes
        assert "LEVERAGE_CDKTF_KERNEL_FOLDER" not in changes and "NODE_COMPILE_CACHE" not in changes
    finally:
        for lock in [*others, *provider_cache._held_slots]:
            os.close(lock)


def test_the_kernel_folder_is_removed_at_exit_only_by_the_process_that_made_it(tmp_path: Path) -> None:
    """A child forked after jsii started inherits the exit handlers, not the folder its parent's Node.js uses."""
    folder = tmp_path / "kernel-0"
    folder.mkdir()
    provider_cache._remove_in(os.getpid() + 1, folder)  # as in a forked child
    assert folder.is_dir()
    provider_cache._remove_in(os.getpid(), folder)
    assert not folder.exists()


def test_a_cdktf_json_that_is_no_file_is_passed_over_by_the_bindings(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A FIFO there would block the import of the bindings for good; the settings refuse it in one line."""
    import threading

    fifo = tmp_path / "cdktf.json"
    os.mkfifo(fifo)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bindings, "_APP_ROOT", tmp_path / "app")
    monkeypatch.delenv(bindings.LAYER_MODULES_VARIABLE, raising=False)  # a synth earlier in the session sets it
    found: list[list[Path]] = []
    reading = threading.Thread(target=lambda: found.append(bindings._own_layer_modules()), daemon=True)
    reading.start()
    reading.join(10)
    blocked = reading.is_alive()
    if blocked:
        with open(fifo, "w"):  # lets the blocked read end
            pass
    assert not blocked and found == [[]]


def test_a_rewrite_of_jsii_s_kernel_stopped_midway_is_finished_without_a_word(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """New files under the old checksums would be taken for damage by the next run."""
    launcher = provider_cache._single_process_runtime(tmp_path)
    runtime = launcher.parents[1]
    launcher.write_text("garbage(\n")
    real_write = provider_cache.write_atomically
    writes: list[Path] = []

    def stopped_after_the_first_file(path: Path, content: bytes) -> None:
        writes.append(path)
        real_write(path, content)
        if len(writes) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(provider_cache, "write_atomically", stopped_after_the_first_file)
    with pytest.raises(KeyboardInterrupt):
        provider_cache._single_process_runtime(tmp_path)
    monkeypatch.undo()
    capsys.readouterr()
    assert provider_cache._single_process_runtime(tmp_path) == launcher and capsys.readouterr().err == ""
