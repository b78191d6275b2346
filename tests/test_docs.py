"""The documentation stays navigable: every relative link in README.md and docs/*.md resolves, the README stays a
short start (under 200 lines) that links every docs page, and each page opens with what a reader is there to do."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
PAGES = sorted((REPO / "docs").glob("*.md"))
DOCUMENTS = [README, *PAGES]

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, repeats numbered."""
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        candidate, number = slug, 0
        while candidate in found:
            number += 1
            candidate = f"{slug}-{number}"
        found.add(candidate)
    return found


def relative_links() -> list[tuple[Path, str]]:
    return [(path, target) for path in DOCUMENTS for target in links(path)
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]  # http:, https:, mailto: are not checked


def test_there_are_docs_pages_and_links() -> None:
    assert PAGES, "docs/ holds no pages"
    assert relative_links(), "the link pattern found no relative links"


@pytest.mark.parametrize("source,target", relative_links(),
                         ids=lambda value: value.relative_to(REPO).as_posix() if isinstance(value, Path) else value)
def test_every_relative_link_resolves(source: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    destination = (source.parent / path).resolve() if path else source
    assert destination.exists(), f"{source.relative_to(REPO)} links {target}: {path} does not exist"
    assert REPO in destination.parents or destination == REPO, f"{source.relative_to(REPO)} links outside the repository"
    if anchor and destination.suffix == ".md":
        assert anchor in anchors(destination), (
            f"{source.relative_to(REPO)} links {target}: {destination.relative_to(REPO)} has no heading #{anchor}")


def test_the_readme_is_a_short_start() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines < 200, f"README.md has {lines} lines; move reference material into docs/"


def test_the_readme_links_every_docs_page() -> None:
    linked = {(REPO / target.partition("#")[0]).resolve() for target in links(README)}
    missing = [page.relative_to(REPO).as_posix() for page in PAGES if page.resolve() not in linked]
    assert not missing, f"README.md links no {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_each_page_starts_with_what_the_reader_is_there_to_do(page: Path) -> None:
    paragraphs = [part.strip() for part in page.read_text(encoding="utf-8").split("\n\n") if part.strip()]
    assert paragraphs[0].startswith("# "), f"{page.name} opens without a title"
    assert paragraphs[1].startswith("Read this when"), f"{page.name}: the first paragraph is not 'Read this when ...'"
