"""The trace ingest pipeline: files cut into pieces, worker processes that decode and
normalise them (``countersign.wire``), and the OTLP/HTTP receiver. The one write path
for spans is ``countersign.services.spans``."""

#: The OTLP/HTTP port (the OpenTelemetry default), here so that the CLI's option parser
#: can name it without importing the receiver (uvicorn, the store).
DEFAULT_PORT = 4318
