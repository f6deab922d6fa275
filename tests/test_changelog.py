"""Releases: the changelog, the version and what the docs say about releases agree."""

import re
import tomllib

from suite import TEMPLATE

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
