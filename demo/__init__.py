"""The demo world for local runs: ``seed_demo`` and the phone simulator. Nothing imports it."""
