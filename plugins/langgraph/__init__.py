"""LangGraph source: a LangGraph server's interrupted threads are Countersign's queue.

`payloads` turns interrupt payloads (Agent Inbox `HumanInterrupt`, LangChain v1
human-in-the-loop middleware) into action specs and verdicts back into resume values;
`client` talks to the LangGraph server's HTTP API. See INTEROP.md, "LangGraph server".
"""
