"""The trace ingest pipeline: files cut into pieces, worker processes that decode and
normalise them (``countersign.wire``), and the OTLP/HTTP receiver. The one write path
for spans is ``countersign.services.spans``."""
