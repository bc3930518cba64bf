"""The demo fleet: six simulated agents (refunds, deployments, e-mail, payments, SQL,
access) that ask for verdicts through the gate SDK exactly as a real agent would.

It gives the console a believable queue without any real agent: multi-step reasoning
with LLM calls, tool results and retrieved documents; JSON Schemas with real
constraints; risk tiers; and about one proposal in four deliberately wrong in a way a
careful operator can see from the reasoning. The agents act on each verdict (execute,
re-plan, give up) and acknowledge it only after acting. Everything is deterministic
from a seed. `source.DemoFleetSource` runs it live; `source.run_batch` runs it
headless for the CLI and the tests.
"""
