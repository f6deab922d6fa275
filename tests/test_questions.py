"""The questions: defaults, computed defaults, and bad answers refused with nothing written."""

import ast
import tomllib
from pathlib import Path

import pytest
import yaml
from pytest_copie.plugin import Copie

from suite import CopierCli

CONTRACT_DEFAULTS = {
    "project_name": "My Service",
    "project_description": (
        "My Service: a FastAPI service with OAuth2 password login and bearer tokens"
    ),
    "project_slug": "my-service",
    "package_name": "my_service",
    "login_form": "strict",
    "optional_auth": True,
    "user_storage": "sqlite",
    "access_token_minutes": 30,
    "oauth2_scopes": False,
}


def test_defaults_are_the_contract_defaults(copie: Copie) -> None:
    result = copie.copy()

    assert result.exit_code == 0, result.exception
    assert result.answers == CONTRACT_DEFAULTS


@pytest.mark.parametrize(
    ("project_name", "slug", "package"),
    [
        ("Billing API", "billing-api", "billing_api"),
        ("  Acme: Users & Login v2 ", "acme-users-login-v2", "acme_users_login_v2"),
        ("ledger", "ledger", "ledger"),
    ],
)
def test_slug_and_package_are_derived_from_the_name(
    copie: Copie, project_name: str, slug: str, package: str
) -> None:
    result = copie.copy(extra_answers={"project_name": project_name})

    assert result.exit_code == 0, result.exception
    assert result.answers["project_slug"] == slug
    assert result.answers["package_name"] == package
    assert result.project_dir is not None
    assert (result.project_dir / "src" / package / "main.py").is_file()


def test_copy_needs_no_trust(copier_cli: CopierCli, tmp_path: Path) -> None:
    template = Path(__file__).resolve().parent.parent
    destination = tmp_path / "service"

    result = copier_cli("copy", "--defaults", "--vcs-ref", "HEAD", str(template), str(destination))

    assert result.returncode == 0, result.stderr
    assert (destination / "src" / "my_service" / "main.py").is_file()


def test_each_copy_gets_its_own_secret(copie: Copie) -> None:
    first, second = copie.copy(), copie.copy()

    assert first.project_dir is not None
    assert second.project_dir is not None
    assert (first.project_dir / ".env").read_text() != (second.project_dir / ".env").read_text()


BAD_ANSWERS = [
    ("project_name", "   ", "must not be empty"),
    ("project_description", "   ", "must not be empty"),
    ("project_description", "first line\nsecond line", "must fit on one line"),
    ("project_slug", "My-Service", "not a valid slug"),
    ("project_slug", "1service", "not a valid slug"),
    ("project_slug", "my--service", "not a valid slug"),
    ("project_slug", "my_service", "not a valid slug"),
    ("project_slug", "-service", "not a valid slug"),
    ("package_name", "my-service", "not a valid package name"),
    ("package_name", "1service", "not a valid package name"),
    ("package_name", "MyService", "not a valid package name"),
    ("package_name", "class", "is a Python keyword"),
    ("package_name", "match", "is a Python keyword"),
    ("package_name", "json", "would shadow"),
    ("package_name", "logging", "would shadow"),
    ("package_name", "fastapi", "would shadow"),
    ("login_form", "lenient", "Invalid choice"),
    ("user_storage", "mongodb", "Invalid choice"),
    ("access_token_minutes", "0", "between 1 and 60"),
    ("access_token_minutes", "61", "between 1 and 60"),
    ("access_token_minutes", "thirty", "invalid literal for int()"),
]


@pytest.mark.parametrize(("question", "answer", "message"), BAD_ANSWERS)
def test_a_bad_answer_is_refused_and_nothing_is_written(
    copier_cli: CopierCli, tmp_path: Path, question: str, answer: str, message: str
) -> None:
    template = Path(__file__).resolve().parent.parent
    destination = tmp_path / "service"

    result = copier_cli(
        "copy", "--defaults", "--vcs-ref", "HEAD", "--data", f"{question}={answer}",
        str(template), str(destination),
    )  # fmt: skip

    assert result.returncode != 0
    assert message in result.stderr
    assert not destination.exists()


def test_answers_round_trip_through_the_answers_file(copie: Copie) -> None:
    answers = {
        "project_name": "Ledger",
        "login_form": "permissive",
        "optional_auth": False,
        "user_storage": "memory",
        "access_token_minutes": 5,
        "oauth2_scopes": True,
    }

    result = copie.copy(extra_answers=answers)

    assert result.project_dir is not None
    recorded = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert {key: recorded[key] for key in answers} == answers


def test_quotes_and_backslashes_in_names_stay_literal(copie: Copie) -> None:
    name = 'Acme "Quoted" \\ Service'
    description = 'Says "hello" with a backslash \\ and a long tail ' + "of words " * 12
    result = copie.copy(extra_answers={"project_name": name, "project_description": description})

    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    package = result.project_dir / "src" / result.answers["package_name"]
    init = ast.parse((package / "__init__.py").read_text())
    docstring = ast.get_docstring(init)
    assert docstring is not None
    assert " ".join(docstring.split()) == " ".join(description.split())
    assert all(len(line) <= 100 for line in (package / "__init__.py").read_text().splitlines())
    main = ast.parse((package / "main.py").read_text())
    titles = [
        keyword.value.value
        for node in ast.walk(main)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "title" and isinstance(keyword.value, ast.Constant)
    ]
    assert titles == [name]
    pyproject = tomllib.loads((result.project_dir / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == description
