"""Who is acting, and what a role may do (access.md "Roles": each includes the ones above it)."""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from dashboard.settings_core import ROLE_NAMES as ROLES  # one list of roles, also validated in settings

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
    via: str | None = None  # how the person acts when not on the pages: "CLI, OS user root" (recorded in the audit entry)

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


def secrets_file(data_root: Path) -> Path | None:
    """Where the login's [auth] settings are: $O2C_SECRETS, else the data folder's secrets.toml (an installed
    package has no .streamlit folder of its own to edit); None: Streamlit's own .streamlit/secrets.toml, if any."""
    if os.environ.get("O2C_SECRETS"):
        return Path(os.environ["O2C_SECRETS"]).resolve()
    candidate = Path(data_root) / "secrets.toml"
    return candidate if candidate.is_file() else None


def oidc_mode(data_root: Path) -> bool:
    """True when a sign-in provider is configured ([auth] in the secrets file): the dashboard then signs people in."""
    path = secrets_file(data_root)
    if path is None or not path.is_file():
        return False
    try:
        return "auth" in tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return True  # a secrets file that cannot be read: be strict, never fall back to local mode's trust


def cli_user(oidc: bool, as_user: str | None, cli_users: dict[str, str]) -> User:
    """Who a command that changes the workbench acts as.

    local mode: the operating-system account as administrator, as on the pages (`--as` is refused: there
    is nobody else to be). oidc mode: nobody, unless `--as NAME` names a person that settings
    [access] cli_users lets the command line act as, with the role given there; the audit entry then
    also names the operating-system account that ran the command ("CLI, OS user root")."""
    if not oidc:
        if as_user:
            raise CliUsage(
                f"--as {as_user}: in local mode (no sign-in configured) the command line acts as the operating-system user "
                f"{os_user()}, as administrator; --as is for a server that signs people in"
            )
        return local_user()
    listed = ", ".join(sorted(cli_users)) or "nobody yet"
    if not as_user:
        raise AccessDenied(
            "the dashboard signs users in (oidc mode): a change from the command line must carry a person's name. "
            f"Give --as NAME, with NAME listed in settings [access] cli_users (now: {listed})"
        )
    by_lower = {k.strip().lower(): k for k in cli_users}  # an e-mail address, whatever its case
    name = by_lower.get(as_user.strip().lower())
    if name is None:
        raise AccessDenied(f"--as {as_user}: the command line may not act as {as_user}; settings [access] cli_users lists {listed}")
    return User(name, cast(Role, cli_users[name]), "oidc", via=f"CLI, OS user {os_user()}")


class CliUsage(ValueError):
    """A command line that asks for something the mode does not have (exit 2)."""
