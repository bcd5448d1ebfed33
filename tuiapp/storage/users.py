"""Users: accounts and their API tokens (only a token's sha256 is stored)."""

from __future__ import annotations

import hashlib
import secrets

from tortoise.exceptions import IntegrityError

from tuiapp.errors import InvalidRequestError
from tuiapp.jobs import UserInfo
from tuiapp.models import User

__all__ = ["UserStore"]


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(user: User) -> UserInfo:
    return UserInfo(id=user.id, name=user.name, created_at=user.created_at)


class UserStore:
    """Creates users and finds them by token or name."""

    async def create_user(self, name: str) -> tuple[UserInfo, str]:
        """Add a user.

        Returns:
            The user and their API token (shown once: only its hash is kept).

        Raises:
            InvalidRequestError: the name is empty, too long or taken.
        """
        name = name.strip()
        if not name or len(name) > 64:
            raise InvalidRequestError("a user name has 1 to 64 characters")
        token = secrets.token_urlsafe(32)
        try:
            user = await User.create(name=name, token_hash=_hash_token(token))
        except IntegrityError:
            raise InvalidRequestError(f"a user named {name!r} exists already") from None
        return _info(user), token

    async def user_by_token(self, token: str) -> UserInfo | None:
        user = await User.get_or_none(token_hash=_hash_token(token))
        return None if user is None else _info(user)

    async def user_by_name(self, name: str) -> UserInfo | None:
        user = await User.get_or_none(name=name)
        return None if user is None else _info(user)

    async def list_users(self) -> list[UserInfo]:
        return [_info(u) for u in await User.all().order_by("id")]
