"""Every combination of the variant questions: the template suite renders and tests them all."""

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

LOGIN_FORMS = ["strict", "permissive"]
OPTIONAL_AUTH = [True, False]
USER_STORAGES = ["memory", "sqlite", "postgres"]
OAUTH2_SCOPES = [False, True]


@dataclass(frozen=True)
class Variant:
    login_form: str
    optional_auth: bool
    user_storage: str
    oauth2_scopes: bool = False

    @property
    def id(self) -> str:
        auth = "optional" if self.optional_auth else "required"
        scopes = "-scopes" if self.oauth2_scopes else ""
        return f"{self.login_form}-{auth}-{self.user_storage}{scopes}"

    @property
    def answers(self) -> dict[str, Any]:
        return {
            "login_form": self.login_form,
            "optional_auth": self.optional_auth,
            "user_storage": self.user_storage,
            "oauth2_scopes": self.oauth2_scopes,
        }


VARIANTS = [
    Variant(*answers)
    for answers in itertools.product(LOGIN_FORMS, OPTIONAL_AUTH, USER_STORAGES, OAUTH2_SCOPES)
]

DEFAULT_VARIANT = Variant(login_form="strict", optional_auth=True, user_storage="sqlite")
"""The variant `copier copy --defaults` renders."""


def variant_params(variants: list[Variant], group: str = "") -> list[Any]:
    """Variants as pytest params, each in an xdist group (`group` + its id) of one worker."""
    return [
        pytest.param(variant, id=variant.id, marks=pytest.mark.xdist_group(group + variant.id))
        for variant in variants
    ]


def each_variant() -> list[Any]:
    """`VARIANTS` as pytest params: one worker renders, installs and checks each variant."""
    return variant_params(VARIANTS)
