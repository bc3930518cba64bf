"""Trace feed core: OTLP trace export requests decoded into raw spans, then normalised
into the domain's ``SpanRecord`` (issue 3). Pure Python, no Qt, no I/O."""
