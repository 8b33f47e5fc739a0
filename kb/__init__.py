"""The core: models, settings, errors, stores, retrieval, answers. Imports nothing else of ours."""

import os

# This product runs offline and handles sensitive material: Haystack must not report usage to a
# remote service, and Hugging Face libraries must never try to download a model. These are set
# (not read) before haystack or transformers is first imported.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
