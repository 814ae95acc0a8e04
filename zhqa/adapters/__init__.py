"""Retrievers for other frameworks over zhqa (docs/python.md). Import the one you use:
``zhqa.adapters.langchain`` needs ``langchain-core`` (extra ``langchain``), ``zhqa.adapters.llamaindex`` needs
``llama-index-core`` (extra ``llamaindex``); importing this package imports neither."""
