"""newsbot: watch news feeds and documents, flag topics, deliver alerts and digests.

Importing the package has no side effects: configuration is loaded by the CLI and passed in.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
