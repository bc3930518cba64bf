"""Tests of the LangGraph source, partly against a real `langgraph dev` server."""
