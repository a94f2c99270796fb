"""Test-session set-up shared by the tests and the doctests."""

import os

# Lets scikit-learn run its array-API input check instead of skipping it;
# must be set before scipy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
