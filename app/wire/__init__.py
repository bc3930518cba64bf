"""Wire formats, pure: OTLP (JSON and protobuf) decoded into raw spans, and OpenInference /
OTel GenAI attributes normalised into the domain's spans. No I/O, no store: the ingest
pipeline (``countersign.ingest``) runs these in worker processes and the services write
the result."""
