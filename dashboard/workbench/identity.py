"""Who is acting, and what a role may do (access.md "Roles": each includes the ones above it)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Literal, cast

from dashboard.settings import ROLE_NAMES as ROLES  # one list of roles, also validated in settings

Role = Literal["viewer", "collector", "credit_analyst", "credit_manager", "admin"]
Mode = Literal["local", "oidc"]

ROLE_WORDS = {
    "viewer": "viewer",
    "collector": "collector",
    "credit_analyst": "credit analyst",
    "credit_manager": "credit manager",
    "admin": "administrator",
}


class AccessDenied(PermissionError):
    """An actor without the role an action needs; the message says who, what and which role."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role | None  # None: signed in, but no role mapped: no access at all
    mode: Mode = "local"

    def has(self, role: Role) -> bool:
        return self.role is not None and ROLES.index(self.role) >= ROLES.index(role)


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


def local_user() -> User:
    """local mode: one trusted operator, the operating system's account, role admin."""
    return User(os_user(), "admin", "local")


def require(user: User, role: Role, action: str) -> None:
    """Refuse an action unless the user has the role (checked in the core, whatever a page shows)."""
    if not user.has(role):
        has = "no role" if user.role is None else f"the role {ROLE_WORDS[user.role]}"
        raise AccessDenied(f"{user.name} may not {action}: this needs the role {ROLE_WORDS[role]} or above, and {user.name} has {has}.")


def role_from_groups(groups: list[str] | str | None, mapping: dict[str, str]) -> Role | None:
    """The highest role any of the token's groups maps to (settings [access] roles), or None."""
    if groups is None:
        return None
    names = [groups] if isinstance(groups, str) else list(groups)
    roles = [mapping[g] for g in names if g in mapping and mapping[g] in ROLES]
    return cast(Role, max(roles, key=ROLES.index)) if roles else None
