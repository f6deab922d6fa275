"""What the authenticated fuzz (tests/test_fuzz.py) may not do: schemathesis loads this file.

That fuzz logs in as an administrator and works on a running service, where it also creates
administrators of its own; once another one exists, it may delete, disable or demote the account
it logs in with, and then it could not log in again. Changes and deletions of that account go to
another username instead. An administrator changing herself is tested in tests/test_admin.py.
"""

import os
from typing import Any

import schemathesis

FUZZ_ACCOUNT = os.environ["FUZZ_ACCOUNT"]
"""The username the fuzz logs in with (set by tests/test_fuzz.py)."""

ONE_ACCOUNT = "/admin/users/{username}"


@schemathesis.hook
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], **kwargs: Any
) -> None:
    if case.operation.path != ONE_ACCOUNT or case.method.upper() not in {"PATCH", "DELETE"}:
        return
    parameters = case.path_parameters or {}
    username = parameters.get("username")
    # Usernames match whatever their case (SECURITY.md H8).
    if isinstance(username, str) and username.casefold() == FUZZ_ACCOUNT.casefold():
        parameters["username"] = f"{FUZZ_ACCOUNT}-kept"
