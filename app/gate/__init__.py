"""The gate SDK: what a custom Python agent imports to ask for a verdict.

Importable without Qt: ``from countersign.gate import Gate, Step``.

Errors an agent may catch: `StoreUnavailable` (the console's store cannot be read or
written now: unreachable, locked, full; nothing was written, so asking again later is
safe), `StoreError` (its base: also a store that cannot be opened at all) and
`GateInputError` (the request itself is refused: a value that is not JSON, arguments
that break the schema, a schema that is not valid; the message names the argument).
"""

from ..domain import Risk, SpanKind
from ..store.engine import StoreError, StoreUnavailable
from .checks import GateInputError
from .client import ApprovalOptions, Gate, GateVerdict, Run
from .steps import Document, Message, Step

__all__ = [
    "ApprovalOptions",
    "Document",
    "Gate",
    "GateInputError",
    "GateVerdict",
    "Message",
    "Risk",
    "Run",
    "SpanKind",
    "Step",
    "StoreError",
    "StoreUnavailable",
]
