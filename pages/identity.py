"""Who is using the dashboard: the one identity function of the app side (access.md "Identity").

local mode (no [auth] in .streamlit/secrets.toml): the operating system's account, role admin,
and every page says so. oidc mode: Streamlit's st.login against the company's OpenID Connect
provider; the user is the ID token's email, the role comes from the token's groups mapped in
settings [access] roles. Tests replace `current_user` (AppTest has no hook for a real login).
"""

from __future__ import annotations

import streamlit as st

from dashboard.settings import Settings
from dashboard.workbench.identity import ROLE_WORDS, User, local_user, role_from_groups


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: local mode
        return False


def current_user(settings: Settings) -> User | None:
    """The acting user; None when oidc mode is on and nobody is signed in yet."""
    if not oidc_configured():
        return local_user()
    if not st.user.get("is_logged_in", False):
        return None
    email = str(st.user.get("email") or st.user.get("sub") or "unknown")
    role = role_from_groups(st.user.get(settings.access.role_claim), settings.access.roles)
    return User(email, role, "oidc")


def login_page() -> None:
    st.title("O2C Credit Cockpit")
    st.write("Sign in with your company account to see the receivables and work the credit team's tasks.")
    st.button("Sign in", icon=":material/login:", on_click=st.login, type="primary", key="login")


def no_access_page(user: User) -> None:
    st.title("No access")
    st.text(f"You are signed in as {user.name}, but your account has no role in the O2C Credit Cockpit.")
    st.write("Ask an administrator to map one of your groups to a role (viewer, collector, credit analyst, credit manager or administrator).")
    st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="logout")


def badge(user: User) -> None:
    """Who is acting, in the sidebar; in local mode, that there is no login."""
    with st.sidebar:
        if user.mode == "local":
            st.text(f"Local mode: no login. Acting as {user.name} (administrator); the server listens on this computer only.")
        else:
            # st.text, not markdown: a name from the token is shown as it is, never as a link or markup
            st.text(f"Signed in as {user.name} ({ROLE_WORDS[user.role] if user.role else 'no role'}).")
            st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="logout")
