"""Ingest: files → cleaned documents (``documents``, ``cleaning``) → passages with exact
offsets (``chunking``). Everything the index stores and cites comes out of this package."""
