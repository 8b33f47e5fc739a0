"""The outside world: HTTP app, ``kb`` command, web page. (Offline defaults are set in ``kb``.)"""

import kb  # noqa: F401  - sets the offline/telemetry defaults before haystack is imported
