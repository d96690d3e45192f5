"""Who may sign in to the web console: users with a role (clerk or viewer) and an argon2id hash.

    add_user(store, "Jo Bloggs", "clerk", password)    check_password(store, name, password) -> User
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pipeline.core.errors import ConfigError
from pipeline.store import Store, User

ROLES = ("clerk", "viewer")
MIN_PASSWORD = 12
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Checked against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a real password, only here to take the same time")


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 80 or any(ch in name for ch in "\r\n\t"):
        raise ConfigError("A user's name must be 1 to 80 characters on one line.")
    return name


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"The password is too short: use at least {MIN_PASSWORD} characters "
                          "(a few unrelated words make a good one).")
    return password


def add_user(store: Store, name: str, role: str, password: str) -> User:
    if role not in ROLES:
        raise ConfigError(f"The role must be one of {', '.join(ROLES)}, not {role!r}.")
    name = _checked_name(name)
    store.add_user(name, role, _HASHER.hash(_checked_password(password)))
    store.log("users", "added", f"{name} ({role})")
    user = store.user(name)
    assert user is not None
    return user


def change_password(store: Store, name: str, password: str) -> None:
    store.set_password_hash(_checked_name(name), _HASHER.hash(_checked_password(password)))
    store.log("users", "password changed", name)


def remove_user(store: Store, name: str) -> None:
    store.remove_user(_checked_name(name))
    store.log("users", "removed", name)


def check_password(store: Store, name: str, password: str) -> User | None:
    """The user, when `password` is theirs; None otherwise (same time either way)."""
    user = store.user(name.strip())
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        store.set_password_hash(user.name, _HASHER.hash(password))
    return user
