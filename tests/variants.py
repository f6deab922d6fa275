"""Every combination of the variant questions: the template suite renders and tests them all."""

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

LOGIN_FORMS = ["strict", "permissive"]
OPTIONAL_AUTH = [True, False]
USER_STORAGES = ["memory", "sqlite", "postgres"]


@dataclass(frozen=True)
class Variant:
    login_form: str
    optional_auth: bool
    user_storage: str

    @property
    def id(self) -> str:
        auth = "optional" if self.optional_auth else "required"
        return f"{self.login_form}-{auth}-{self.user_storage}"

    @property
    def answers(self) -> dict[str, Any]:
        return {
            "login_form": self.login_form,
            "optional_auth": self.optional_auth,
            "user_storage": self.user_storage,
        }


VARIANTS = [
    Variant(login_form, optional_auth, user_storage)
    for login_form, optional_auth, user_storage in itertools.product(
        LOGIN_FORMS, OPTIONAL_AUTH, USER_STORAGES
    )
]

DEFAULT_VARIANT = Variant(login_form="strict", optional_auth=True, user_storage="sqlite")
"""The variant `copier copy --defaults` renders."""


def each_variant() -> list[Any]:
    """`VARIANTS` as pytest params, grouped so that one xdist worker handles each variant."""
    return [
        pytest.param(variant, id=variant.id, marks=pytest.mark.xdist_group(variant.id))
        for variant in VARIANTS
    ]
