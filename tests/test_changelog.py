"""Releases: the changelog, the version and what the docs say about releases agree."""

import re
import tomllib

from suite import TEMPLATE, run

CHANGELOG = (TEMPLATE / "CHANGELOG.md").read_text()


def released_versions() -> list[str]:
    return re.findall(r"^## (\d+\.\d+\.\d+) \(\d{4}-\d{2}-\d{2}\)$", CHANGELOG, re.MULTILINE)


def test_the_newest_release_is_the_version_of_the_template() -> None:
    pyproject = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())

    assert released_versions(), "the changelog names no release"
    assert released_versions()[0] == pyproject["project"]["version"]
    assert CHANGELOG.index("## Unreleased") < CHANGELOG.index(f"## {released_versions()[0]} ")


def test_the_docs_name_only_released_versions() -> None:
    released = set(released_versions())
    pages = [TEMPLATE / "README.md", *(TEMPLATE / "docs").glob("*.md")]

    for page in pages:
        for version in re.findall(r"--vcs-ref (\d+\.\d+\.\d+)", page.read_text()):
            assert version in released, f"{page.name} names {version}, which is not released"


def test_every_release_names_its_commit_at_its_version() -> None:
    """Tags do not travel with every clone: the commit is what `--vcs-ref` can always find."""
    for version in released_versions():
        section = CHANGELOG.split(f"## {version} (", 1)[1].split("\n## ", 1)[0]
        named = re.search(r"^Commit `([0-9a-f]{40})`\.$", section, re.MULTILINE)
        assert named is not None, f"{version} names no commit"
        shown = run(["git", "show", f"{named.group(1)}:pyproject.toml"], TEMPLATE)
        assert shown.returncode == 0, shown.stderr
        assert tomllib.loads(shown.stdout)["project"]["version"] == version
