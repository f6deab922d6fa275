"""What a username and a password may be: the rules of this service's accounts."""

from typing import Annotated

from pydantic import StringConstraints

USERNAME_PATTERN = r"^[A-Za-z0-9_.@+-]{1,150}$"
"""Letters, digits and `_ . @ + -`, at most 150 characters: safe in logs, URLs and shells."""

Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]

MAX_EMAIL_LENGTH = 320
MAX_FULL_NAME_LENGTH = 200
"""The longest e-mail address and full name an account keeps (the database's columns)."""

MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused: hashing cost grows with length, and nobody types more."""
