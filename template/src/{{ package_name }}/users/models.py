from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@+-]{1,150}$")]
"""Letters, digits and `_ . @ + -`, at most 150 characters: safe in logs, URLs and shells."""


class User(BaseModel):
    """A user as clients see it."""

    model_config = ConfigDict(frozen=True)

    username: Username
    email: str | None = None
    full_name: str | None = None
    disabled: bool = False


class UserRecord(User):
    """A user as the store keeps it. Never returned to a client."""

    password_hash: str

    def public(self) -> User:
        return User.model_validate(self.model_dump(exclude={"password_hash"}))
