"""allied-c2: an allied command-and-control server speaking Cursor-on-Target."""

__version__ = "0.1.0"
