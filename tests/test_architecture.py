"""The import graph, read from the modules' own import statements: imports run one way (command line -> stacks ->
Leverage conventions and AWS constructs -> bindings), no module imports one above it, and there is no cycle."""
from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("stacks", "leverage", "aws_constructs", "bindings", "user_cache")
# Lower number: higher up. A module may import its own level or below, never above.
LEVELS = {"main": 0, "stacks": 1, "leverage": 2, "aws_constructs": 3, "bindings": 4, "user_cache": 5}
# Inside leverage/: the base stack and the transaction (one run of a command) use everything; review reads what
# render writes; render lays out what the project reading found, in the file types the writer defines.
LEVERAGE_LEVELS = {"synth": 0, "testing": 0, "stack": 0, "transaction": 0, "review": 1, "render": 2, "project": 3, "write": 3,
                   "naming": 4, "hcl": 4, "errors": 4, "interrupts": 4, "python_reprs": 4}


def app_modules() -> dict[str, Path]:
    modules = {"main": REPO / "main.py"}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(path: Path, module: str, known: set[str]) -> set[str]:
    """The app modules `module` imports, wherever the import stands (lazy imports inside functions count)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # `from leverage import hcl` imports the module leverage.hcl; `from leverage.hcl import literal`, leverage.hcl.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = app_modules()
    return {module: imports_of(path, module, set(modules)) for module, path in modules.items()}


def level(module: str) -> tuple[int, int]:
    top, _, rest = module.partition(".")
    inner = LEVERAGE_LEVELS[rest.partition(".")[0]] if top == "leverage" and rest else 0
    return LEVELS[top], inner


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} imports {imported}" for module, imported_modules in graph.items()
                  for imported in imported_modules if level(imported) < level(module))


def test_no_module_imports_a_module_above_it() -> None:
    assert upward_imports(import_graph()) == []


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    # A package's __init__ and its modules are one node each; a module importing its own package's __init__ is
    # not a cycle unless the __init__ imports it back, which the sorter sees.
    TopologicalSorter(graph).prepare()


def test_the_checks_fail_on_an_upward_import_and_on_a_cycle() -> None:
    graph = import_graph()
    graph["aws_constructs.s3"] = graph["aws_constructs.s3"] | {"leverage.stack"}
    assert upward_imports(graph) == ["aws_constructs.s3 imports leverage.stack"]
    graph["leverage.errors"] = {"leverage.stack"}
    with pytest.raises(CycleError):
        TopologicalSorter(graph).prepare()


def test_every_leverage_subpackage_has_a_level() -> None:
    """A new module or folder in leverage/ must say where it stands."""
    assert {module.split(".")[1] for module in app_modules() if module.startswith("leverage.")} <= set(LEVERAGE_LEVELS)


def test_aws_constructs_know_nothing_of_leverage_and_leverage_names_no_aws_service() -> None:
    graph = import_graph()
    assert not [module for module, imported in graph.items()
                if module.startswith("aws_constructs") and any(name.startswith("leverage") for name in imported)]
    services = ("kinesis", "firehose", "dynamodb", "glue", "s3_bucket", "kms_key")
    offenders = [str(path.relative_to(REPO)) for path in (REPO / "leverage").rglob("*.py")
                 if any(f"aws_{service}" in path.read_text() for service in services)]
    assert offenders == []



def engine_imports(source: str, label: str) -> list[str]:
    """The imports of either CDK engine's own modules in a source (the app runs on either: bindings/engine_choice.py)."""
    from bindings.engine_choice import ENGINES

    engine_modules = {module for engine in ENGINES for module in engine.modules}
    found = []
    for node in ast.walk(ast.parse(source, label)):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
        found += [f"{label} imports {name}" for name in names if name.split(".")[0] in engine_modules]
    return found


def test_only_bindings_imports_either_engine() -> None:
    """The app, the example's own layer and the scaffold's starter import the engine through `bindings` (provider
    classes as `bindings.aws.<service>`), so they run on cdktf and on CDK Terrain alike."""
    from stacks.scaffold import MODULE_TEMPLATE, TEST_TEMPLATE

    sources = {str(path.relative_to(REPO)): path.read_text() for module, path in app_modules().items()
               if not module.startswith("bindings")}
    sources |= {str(path.relative_to(REPO)): path.read_text() for path in (REPO / "example" / "layers").glob("*.py")}
    for name, template in (("MODULE_TEMPLATE", MODULE_TEMPLATE), ("TEST_TEMPLATE", TEST_TEMPLATE)):
        # The templates' import lines (the rest holds placeholders).
        sources[f"stacks/scaffold.py {name}"] = "\n".join(line for line in template.splitlines()
                                                         if line.startswith(("from ", "import ")) and "{" not in line)
    assert "bindings.aws" in sources["stacks/scaffold.py MODULE_TEMPLATE"]
    assert [line for label, source in sources.items() for line in engine_imports(source, label)] == []
    # The check sees them: bindings/__init__.py names neither, but its engine's provider is imported by name.
    assert engine_imports("from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket\nimport cdktn", "x") == \
        ["x imports cdktf_cdktf_provider_aws.s3_bucket", "x imports cdktn"]


def top_level_imports(path: Path) -> set[str]:
    """The top-level names a module imports (lazy imports inside functions count; relative imports do not)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_glue_jobs_import_only_the_standard_library_pyspark_and_each_other() -> None:
    """What runs on Glue has only Glue's Python there: no module of the app, nothing installed but pyspark and boto3
    (both on Glue; boto3 imported only where AWS is called, the local runs never call it); and the app ships the
    job's text, it never imports it."""
    jobs = {path.stem: top_level_imports(path) for path in sorted((REPO / "glue_jobs").glob("*.py"))}
    allowed = set(sys.stdlib_module_names) | {"pyspark", "boto3"} | set(jobs)
    assert {module: sorted(names - allowed) for module, names in jobs.items() if names - allowed} == {}
    job_names = {"glue_jobs", *jobs} - {"__init__"}
    assert {module: sorted(top_level_imports(path) & job_names) for module, path in app_modules().items()
            if top_level_imports(path) & job_names} == {}


def test_the_command_line_loads_no_engine_before_the_input_is_known_good() -> None:
    """Reading the settings and the project never imports `bindings` (which starts the engine's child, seconds of
    work): a bad setting is refused at once, and the engine's child starts inside the app's private temporary
    folder, which a Ctrl-C cannot leave behind (leverage/transaction.py)."""
    probe = "import sys; import main, stacks.app, leverage.transaction; print(sorted(m for m in sys.modules if m.startswith('bindings')))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr[-2000:]
