"""What a username and a password may be: the rules of this service's accounts."""

import functools
import re
import string
import unicodedata
from typing import Annotated

from pydantic import StringConstraints

USERNAME_PATTERN = r"^[A-Za-z0-9_.@+-]{1,150}$"
"""Letters, digits and `_ . @ + -`, at most 150 characters: safe in logs, URLs and shells."""

Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]

NEW_USERNAME_PATTERN = r"^[A-Za-z0-9_.@+][A-Za-z0-9_.@+-]{0,149}$"
"""A new username also may not start with `-`: every command would take it for an option.
Accounts made before this rule keep their names and log in."""

SHOWN_USERNAME_LENGTH = 64
"""How much of a username logs and messages show: a submitted one can be of any length."""

MAX_EMAIL_LENGTH = 320
MAX_FULL_NAME_LENGTH = 200
"""The longest e-mail address and full name an account keeps (the database's columns)."""

FullName = Annotated[
    str, StringConstraints(max_length=MAX_FULL_NAME_LENGTH, pattern=r"^[^\x00-\x1f\x7f]*$")
]
"""A full name as a client or a file may set it: no control character (some databases refuse
NUL in text, and a line break has no place in a name)."""

MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused: hashing cost grows with length, and nobody types more."""

MIN_PASSWORD_LENGTH = 8
"""NIST SP 800-63B §3.1.1.2: at least 8 characters; `PASSWORD_MIN_LENGTH` may ask for more."""


def normalized_password(password: str) -> str:
    """NFKC (NIST SP 800-63B §3.1.1.2): `ﬁ` is `fi`, a composed `é` the decomposed one."""
    return unicodedata.normalize("NFKC", password)


def shown_username(username: str) -> str:
    """A username as logs and messages show it: quoted, escaped, and short."""
    shown = repr(username[:SHOWN_USERNAME_LENGTH])
    return shown + "…" if len(username) > SHOWN_USERNAME_LENGTH else shown


class UsernamePolicyError(ValueError):
    """A new username breaks the rules; the message says why."""


def check_new_username(username: str) -> None:
    """Raise `UsernamePolicyError` unless `username` may be given to a new account."""
    if not re.fullmatch(NEW_USERNAME_PATTERN, username):
        raise UsernamePolicyError(
            "A username is 1 to 150 letters, digits and `_ . @ + -`, and does not start with `-`"
        )


class PasswordPolicyError(ValueError):
    """A new password breaks the policy; the message says why, without the password."""


def check_new_password(password: str, min_length: int = MIN_PASSWORD_LENGTH) -> None:
    """Raise `PasswordPolicyError` unless `password` may be set as a new password."""
    normalized = normalized_password(password)
    if any(unicodedata.category(character) == "Cc" for character in normalized):
        # NUL, tabs, line breaks, escapes: nobody types them, and some systems cut a password
        # at the first one.
        raise PasswordPolicyError("The password must not contain control characters")
    if len(normalized) < min_length:
        raise PasswordPolicyError(f"The password must be at least {min_length} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"The password must be at most {MAX_PASSWORD_LENGTH} characters")
    if looks_like(normalized) in _common_passwords():
        raise PasswordPolicyError(
            "The password is one of the most common ones, which are guessed first: choose another"
        )


UNSEEN_CATEGORIES = frozenset("CMZ")
"""Unicode's general categories (by their first letter) of what a password's reader does not
see: control and format characters, combining marks (after NFKC has composed what it can; a
variation selector is one), separators."""

BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters and symbols that draw nothing: the Hangul fillers (Default_Ignorable_Code_Point in
Unicode's data) and the blank Braille pattern."""


def looks_like(password: str) -> str:
    """What a password looks like, to compare it with the common ones: without what cannot be
    seen (whitespace, invisible characters, combining marks, blank letters), case-folded, and
    with each character that Unicode's confusables data (UTS #39) says looks like an ASCII letter
    or digit replaced by that one. `  PASSWORD `, `pass\u200bword` and `p\u0430ssword` (with a
    Cyrillic a) all look like `password`."""
    visible = "".join(
        character
        for character in password
        if unicodedata.category(character)[0] not in UNSEEN_CATEGORIES
        and character not in BLANK_CHARACTERS
    )
    return visible.casefold().translate(_ascii_lookalikes()).casefold()


@functools.cache
def _common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30,000 passwords most found in leaks, loaded at the first check."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # 0.8 MB of lists: loaded when needed

    return frozenset(FREQUENCY_LISTS["passwords"])


@functools.cache
def _ascii_lookalikes() -> dict[int, str]:
    """Each character that looks like an ASCII letter or digit, and that one, from Unicode's
    confusables.txt as confusable-homoglyphs ships it; loaded at the first check, and only this
    table of about 1,300 characters is kept."""
    from confusable_homoglyphs.utils import load  # a 1 MB file: loaded when needed

    ascii_letters_and_digits = frozenset(string.ascii_letters + string.digits)
    lookalikes: dict[int, str] = {}
    for character, homoglyphs in load("confusables.json").items():
        if len(character) != 1 or character.isascii():
            continue
        for homoglyph in homoglyphs:
            if homoglyph["c"] in ascii_letters_and_digits:
                lookalikes[ord(character)] = homoglyph["c"]
                break
    return lookalikes
