"""The layer templates compiled once into the user's cache folder (leverage/render/layer_folder.py): a compiled
template is used again while its source is unchanged, and a cache folder that cannot be written costs nothing but
the compiling."""
from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from leverage.render import layer_folder


def environment(cache: Path) -> jinja2.Environment:
    """The app's template environment, with its compiled templates kept in `cache`."""
    own = layer_folder._templates.overlay(bytecode_cache=layer_folder._CompiledTemplates(str(cache)))
    own.cache = None  # no templates kept in memory between the environments of a test
    return own


def test_a_template_is_compiled_once_into_the_cache_folder(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache" / "templates"
    compiled = environment(cache).get_template("config.tf.j2")
    assert len(list(cache.iterdir())) == 1

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(jinja2.Environment, "compile", no_compiling)
    loaded = environment(cache).get_template("config.tf.j2")
    context = {"marker": "m", "regions_note": "", "providers": {}, "required_version": None, "required_providers": {},
               "backend": {}, "remote_states": {}}
    assert loaded.render(**context) == compiled.render(**context)


def test_a_cache_folder_that_cannot_be_written_only_costs_the_compiling(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert environment(blocker / "templates").get_template("config.tf.j2").render(
        marker="m", regions_note="", providers={}, required_version=None, required_providers={}, backend={},
        remote_states={})
