"""The dashboard's entrypoint: a router, not a page.

Sets the page config, finds out who is acting (local mode, or a sign-in through the company's
OpenID Connect provider), draws the shared sidebar (as-of date and filters, kept in session state
by key) and runs the selected page among those the user's role may see.
"""

import streamlit as st

from pages import common, identity

st.set_page_config(page_title="O2C Credit Cockpit", page_icon=str(common.PAGES / "favicon.png"), layout="wide")

user = common.user()
if user is None:  # oidc mode, nobody signed in yet: the sign-in page and nothing else
    st.navigation([st.Page(identity.login_page, title="Sign in", url_path="signin")]).run()
    st.stop()
if user.role is None:  # signed in, but no role mapped: no data at all
    st.navigation([st.Page(lambda: identity.no_access_page(user), title="No access", url_path="no-access")]).run()
    st.stop()

engine = common.engine()
common.sidebar(engine)
identity.badge(user)

# The page list by role, in sections a finance team reads top to bottom; every write is checked again in the core.
receivables = [
    st.Page(common.PAGES / "overview.py", title="Executive overview", icon=":material/dashboard:", default=True),
    st.Page(common.PAGES / "aging.py", title="Aging", icon=":material/hourglass_bottom:"),
    st.Page(common.PAGES / "exposure.py", title="Credit exposure", icon=":material/account_balance_wallet:"),
    st.Page(common.PAGES / "at_risk.py", title="At-risk customers", icon=":material/warning:"),
    st.Page(common.PAGES / "customer.py", title="Customer", icon=":material/person_search:"),
]
outlook = [
    st.Page(common.PAGES / "forecast.py", title="Cash-in forecast", icon=":material/payments:"),
    st.Page(common.PAGES / "provisions.py", title="Provisions", icon=":material/shield:"),
    st.Page(common.PAGES / "whatif.py", title="What-if studio", icon=":material/tune:"),
]
workbench = []
if user.has("collector"):  # the worklist and its actions (collections.md)
    workbench.append(st.Page(common.PAGES / "collections.py", title="Collections", icon=":material/support_agent:"))
if user.has("credit_analyst"):  # dunning runs (dunning.md): propose and review; issuing needs a credit manager
    workbench.append(st.Page(common.PAGES / "dunning.py", title="Dunning", icon=":material/mail:"))
# Dispute cases and credit decisions: every role reads them (access.md: a viewer reads every page); their forms
# show by role (analyst: cases, requests, reviews; manager: approvals, write-offs, held orders).
workbench.append(st.Page(common.PAGES / "disputes.py", title="Disputes", icon=":material/gavel:"))
workbench.append(st.Page(common.PAGES / "credit.py", title="Credit decisions", icon=":material/approval:"))
admin = []
if user.has("credit_analyst"):  # loading extracts (access.md); rollbacks need an admin
    admin.append(st.Page(common.PAGES / "data.py", title="Data", icon=":material/database:"))
if user.has("credit_manager"):
    admin.append(st.Page(common.PAGES / "audit.py", title="Audit trail", icon=":material/fact_check:"))
sections = {"Receivables": receivables, "Outlook": outlook, "Workbench": workbench, "Data and audit": admin}
pages = {name: p for name, p in sections.items() if p}
try:
    st.navigation(pages, expanded=True).run()  # every page listed, none behind "View more"
except Exception as exc:  # st.stop / st.rerun / switch_page are BaseExceptions and pass through
    common.page_failed(exc)
