"""Fail the test run early, in CI, when the browser the browser tests need is missing."""

import os
import shutil
import sys

CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")

if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
    if os.environ.get("CI"):
        sys.exit(
            f"Chromium not found at {CHROMIUM}: browser tests cannot run (apt-get install chromium)"
        )
    print(f"note: Chromium not found at {CHROMIUM}; browser tests will be skipped locally")
