"""The outside world: HTTP app, ``kb`` command, web page."""

import os

# Haystack reports usage to a remote service unless told not to; this product must never phone
# home (it runs offline and handles sensitive material). Set before haystack is first imported.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
