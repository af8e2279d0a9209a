import re
from pathlib import Path
from urllib.parse import unquote

from tests.peerrx.test_docker_compose import settings_env_vars

ROOT = Path(__file__).resolve().parents[2]
# [text](target) and ![alt](target), outside code; the target ends at whitespace or ")".
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def test_the_readme_documents_every_environment_variable():
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in settings_env_vars() if f"`{name}`" not in readme)
    assert not missing, f"README's configuration table lacks {missing}"


def test_the_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme
    assert "make test" in readme


def documentation_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def relative_links(page: Path) -> list[str]:
    """Every link in ``page`` into this repository: a file, a file's heading, or one of its own."""
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text()))
    targets = [match.group(1) for match in MARKDOWN_LINK.finditer(text)]
    return [target for target in targets if not URL_SCHEME.match(target)]


def heading_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped, spaces to hyphens."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in FENCE.sub("", page.read_text()).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_the_documentation_pages_are_found():
    names = {page.relative_to(ROOT).as_posix() for page in documentation_pages()}
    assert {
        "README.md",
        "docs/dispatch.md",
        "docs/sms-and-twilio.md",
        "docs/operations.md",
        "docs/reports.md",
        "docs/organisations.md",
    } <= names


def test_every_relative_link_in_the_docs_points_at_a_file_that_exists():
    broken = []
    for page in documentation_pages():
        for target in relative_links(page):
            path = unquote(target.split("#", 1)[0])
            if path and not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, f"links to files that do not exist: {broken}"


def test_every_link_to_a_heading_in_the_docs_finds_it():
    broken = []
    for page in documentation_pages():
        for target in relative_links(page):
            path, _, anchor = target.partition("#")
            linked = (page.parent / unquote(path)).resolve() if path else page
            if not anchor or linked.suffix != ".md" or not linked.exists():
                continue
            if anchor not in heading_anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, f"links to headings that do not exist: {broken}"


def test_the_link_check_sees_links_and_skips_urls_and_code(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "See [a](a.md), ![img](shots/b.png) and [c](../c.md#part).\n"
        "Not [web](https://example.org), [here](#top), `[code](x.md)`.\n"
        "```\n[fenced](y.md)\n```\n"
    )
    assert relative_links(page) == ["a.md", "shots/b.png", "../c.md#part", "#top"]
    page.write_text("# The seams between `sms` and the request workflow\n## Health\n## Health\n")
    assert heading_anchors(page) == {"the-seams-between-sms-and-the-request-workflow", "health", "health-1"}
