"""The gate SDK: what a custom Python agent imports to ask for a verdict.

Importable without Qt: ``from countersign.gate import Gate, Step``.
"""

from ..domain import Risk, SpanKind
from .client import Gate, GateVerdict, Run
from .steps import Document, Message, Step

__all__ = ["Document", "Gate", "GateVerdict", "Message", "Risk", "Run", "SpanKind", "Step"]
