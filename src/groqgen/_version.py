"""The installed version of groqgen."""

__version__ = "0.1.0.dev0"
