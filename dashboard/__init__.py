"""O2C Credit Cockpit core: contract, ingestion, snapshots, KPI engine (no Streamlit here)."""

import os

# polars' allocator (jemalloc) keeps freed pages for 10 s by default, so the peak memory of a
# load is the sum of its steps rather than the largest step. Hand them back at once (must be
# set before polars is first imported; an explicit setting by the user wins).
os.environ.setdefault("_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0")
