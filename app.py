"""The dashboard's entrypoint: a router, not a page.

Sets the page config, draws the shared sidebar (as-of date and filters,
kept in session state by key) and runs the selected page.
"""

import streamlit as st

from pages import common

st.set_page_config(page_title="O2C Credit Cockpit", page_icon=":material/account_balance:", layout="wide")

engine = common.engine()
common.sidebar(engine)

nav = st.navigation(
    [
        st.Page(common.PAGES / "overview.py", title="Executive overview", icon=":material/dashboard:", default=True),
        st.Page(common.PAGES / "aging.py", title="Aging", icon=":material/hourglass_bottom:"),
        st.Page(common.PAGES / "exposure.py", title="Credit exposure", icon=":material/account_balance_wallet:"),
        st.Page(common.PAGES / "at_risk.py", title="At-risk customers", icon=":material/warning:"),
        st.Page(common.PAGES / "customer.py", title="Customer", icon=":material/person_search:"),
        st.Page(common.PAGES / "whatif.py", title="What-if studio", icon=":material/tune:"),
        st.Page(common.PAGES / "data.py", title="Data", icon=":material/database:"),
    ]
)
nav.run()
