"""README.md and docs/*.md: the README stays one screen, every relative link (and #anchor) points at
something that exists, README links every docs/ page, and every `.venv/bin/qa ...` command shown in
a code block parses with the real command line (subcommand, flags and their values)."""

from __future__ import annotations

import re
import shlex
import unicodedata
from pathlib import Path

import pytest

from index.settings import REPO_ROOT, Settings
from service.cli import build_parser

README = REPO_ROOT / "README.md"
DOCS = sorted((REPO_ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_MAX_BYTES = 4096

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SHELL_OPERATORS = {"&", "&&", "|", "||", ";", ">", ">>", "<"}


def page_id(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def without_code(text: str) -> str:
    """The text outside fenced blocks and inline code (links inside code are not links)."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower().replace("`", "")
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", text, re.M)}


def relative_links(path: Path) -> list[str]:
    targets = LINK.findall(without_code(path.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]  # not http:, mailto:, ...


def test_readme_fits_one_screen():
    size = len(README.read_bytes())
    assert size < README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/"


def test_docs_exist_and_readme_links_each():
    assert DOCS, "docs/ holds no pages"
    linked = {(README.parent / t.split("#")[0]).resolve() for t in relative_links(README)}
    missing = [page_id(p) for p in DOCS if p.resolve() not in linked]
    assert not missing, f"README.md links none of {missing}"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_relative_links_resolve(page: Path):
    broken = []
    for target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page.resolve()
        if not resolved.exists():
            broken.append(f"{target} (no {resolved})")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no heading #{anchor})")
    assert not broken, f"{page_id(page)}: broken links: {broken}"


def qa_commands(page: Path) -> list[list[str]]:
    """The argument lists of the `.venv/bin/qa` calls in a page's code blocks."""
    commands = []
    for block in FENCE.findall(page.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            if ".venv/bin/qa" not in line:
                continue
            words = shlex.split(line, comments=True)
            start = next(i for i, w in enumerate(words) if w.endswith(".venv/bin/qa")) + 1
            argv = []
            for word in words[start:]:
                if word in SHELL_OPERATORS:
                    break
                argv.append(word.strip("[]") if word.startswith("[") else word)  # `[--json]`: optional
            commands.append(argv)
    return commands


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_qa_commands_parse(page: Path):
    parser = build_parser(Settings())
    wrong = []
    for argv in qa_commands(page):
        if argv == ["--help"]:
            continue
        try:
            parser.parse_args(argv)
        except SystemExit:
            wrong.append(" ".join(argv))
    assert not wrong, f"{page_id(page)}: commands the CLI refuses: {wrong}"


def test_readme_python_examples_run_as_doctests(seed_index_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """The README's `>>>` examples, run against the seed index (the bundled corpus) as written."""
    import doctest

    from index.settings import get_settings

    monkeypatch.setenv("QA_INDEX_DIR", str(seed_index_dir))
    get_settings.cache_clear()
    try:
        test = doctest.DocTestParser().get_doctest(README.read_text(encoding="utf-8"), {}, "README.md",
                                                   str(README), 0)
        assert test.examples, "README.md shows no >>> example"
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test, out=lambda text: pytest.fail(text))
        assert runner.summarize(verbose=False).failed == 0
    finally:
        get_settings.cache_clear()
