"""The questions: defaults, computed defaults, and bad answers refused with nothing written."""

import ast
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from pytest_copie.plugin import Copie

from suite import TEMPLATE, CopierCli

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


@pytest.mark.parametrize("storage", ["sqlite", "postgres"])
def test_the_next_steps_migrate_a_sql_storage(
    copier_cli: CopierCli, tmp_path: Path, storage: str
) -> None:
    destination = tmp_path / "service"

    result = copier_cli(
        "copy", "--defaults", "--vcs-ref", "HEAD", "--data", f"user_storage={storage}",
        str(TEMPLATE), str(destination),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    steps = (result.stdout + result.stderr).split("Next steps:", 1)[1]
    assert steps.index("migrate") < steps.index("create-user") < steps.index("uvicorn")


def test_each_copy_gets_its_own_secret(copie: Copie) -> None:
    first, second = copie.copy(), copie.copy()

    assert first.project_dir is not None
    assert second.project_dir is not None
    assert (first.project_dir / ".env").read_text() != (second.project_dir / ".env").read_text()


BAD_ANSWERS = [
    ("project_name", "   ", "Must not be empty."),
    ("project_description", "   ", "Must not be empty."),
    ("project_description", "first line\nsecond line", "Must fit on one line."),
    (
        "project_slug",
        "My-Service",
        'Lowercase words joined by dashes, e.g. my-service (not "My-Service")',
    ),
    ("project_slug", "1service", "Lowercase words joined by dashes"),
    ("project_slug", "my--service", "Lowercase words joined by dashes"),
    ("project_slug", "my_service", "Lowercase words joined by dashes"),
    ("project_slug", "-service", "Lowercase words joined by dashes"),
    (
        "package_name",
        "my-service",
        'Lowercase letters, digits and _, e.g. my_service (not "my-service")',
    ),
    ("package_name", "1service", "Lowercase letters, digits and _"),
    ("package_name", "MyService", "Lowercase letters, digits and _"),
    ("package_name", "class", "A Python keyword: choose another, e.g. class_service"),
    ("package_name", "match", "A Python keyword"),
    ("package_name", "json", 'Would shadow the module "json": choose another, e.g. json_service'),
    ("package_name", "logging", "Would shadow the module"),
    ("package_name", "fastapi", "Would shadow the module"),
    ("login_form", "lenient", "Invalid choice"),
    ("user_storage", "mongodb", "Invalid choice"),
    ("access_token_minutes", "0", "A whole number of minutes from 1 to 60"),
    ("access_token_minutes", "61", "A whole number of minutes from 1 to 60"),
    ("access_token_minutes", "thirty", "A whole number of minutes from 1 to 60"),
    ("access_token_minutes", "1.5", "A whole number of minutes from 1 to 60"),
]
"""A bad answer, and what Copier says: the validator's message, or the start of it."""

PROMPT_WIDTH = 80
"""Copier shows a refusal in one line under the prompt, cut at the terminal's width."""


def test_every_refusal_fits_the_prompt_with_its_hint_first() -> None:
    """The hint comes before the echoed answer, and fits the line with room for the answer."""
    config = yaml.safe_load((TEMPLATE / "copier.yml").read_text())
    validators = [question["validator"] for question in config.values() if "validator" in question]
    messages = [
        line.strip()
        for validator in validators
        for line in re.sub(r"\{%.*?%\}", "\n", validator, flags=re.DOTALL).splitlines()
        if line.strip()
    ]

    assert len(messages) >= 7
    for message in messages:
        hint = re.sub(r"\{\{.*?\}\}", "", message)
        assert len(hint) <= PROMPT_WIDTH - 20, message
        assert not message.startswith('"'), f"the answer comes after the hint: {message}"


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
    assert "Invalid input" not in result.stderr
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
