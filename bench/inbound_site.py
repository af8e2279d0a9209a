"""Peer-RX's own settings, served with a trivial view beside them (``bench/bench_inbound.py`` only).

Everything else comes from the environment exactly as in production; only the URL
configuration differs, so the product never carries the trivial view.
"""

from peerrx.settings import *  # noqa: F403

ROOT_URLCONF = "bench.inbound_urls"
