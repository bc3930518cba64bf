"""The real instrumentation libraries (dev dependencies, pinned in pyproject.toml)
exporting OTLP/HTTP to a real receiver: OpenInference for LangChain with a
deterministic chat model, and the official OpenAI instrumentation (events mode, so its
content arrives as log records) with the ``openai`` client against a local fake
server. Both at once, as in issue 15: one agent turn must be one run, the model call
recorded twice linked, not counted twice.

``COUNTERSIGN_RECORD_FIXTURES=1`` also writes what the exporters sent under
tests/fixtures/otlp/recorded/, which test_recorded_exports.py reads without the
libraries."""

from __future__ import annotations

import os
from typing import Any

import pytest

from countersign.services.traces import TraceService
from countersign.store.engine import Store

from .live import FakeOpenAI, Recorder, receiver_thread
from .live_checks import check_langchain_openai_v2

pytest.importorskip("openinference.instrumentation.langchain")
pytest.importorskip("opentelemetry.instrumentation.openai_v2")
pytest.importorskip("langchain_core")


def _providers(url: str, logs_url: str, recorder: Recorder) -> tuple[Any, Any]:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    resource = Resource.create({"service.name": "weather-service"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(recorder.span_exporter(OTLPSpanExporter(endpoint=url))))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(recorder.log_exporter(OTLPLogExporter(endpoint=logs_url))))
    return tracer_provider, logger_provider


def _agent_turn(fake: FakeOpenAI) -> str:
    """A LangChain tool-calling turn whose model calls go through the ``openai``
    client: model → tool (a ToolCall in, a ToolMessage out) → model."""
    import openai
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.runnables import RunnableConfig
    from langchain_core.tools import tool

    client = openai.OpenAI(base_url=fake.url, api_key="test-key", max_retries=0)

    class FakeServerChat(BaseChatModel):
        """A chat model calling the fake OpenAI server through the openai client."""

        @property
        def _llm_type(self) -> str:
            return "fake-server-chat"

        def _generate(self, messages: list[BaseMessage], stop: Any = None,
                      run_manager: Any = None, **kwargs: Any) -> ChatResult:
            wire = []
            for m in messages:
                if isinstance(m, ToolMessage):
                    wire.append({"role": "tool", "content": str(m.content),
                                 "tool_call_id": m.tool_call_id})
                elif isinstance(m, AIMessage) and m.tool_calls:
                    wire.append({"role": "assistant", "content": None, "tool_calls": [
                        {"id": c["id"], "type": "function", "function": {
                            "name": c["name"], "arguments": '{"city": "Oslo"}'}}
                        for c in m.tool_calls]})
                else:
                    wire.append({"role": "user", "content": str(m.content)})
            tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
                "type": "object", "properties": {"city": {"type": "string"}}}}}]
            response = client.chat.completions.create(
                model="gpt-4o-mini", messages=wire, tools=tools)
            choice = response.choices[0].message
            calls = [{"id": c.id, "name": c.function.name, "args": {"city": "Oslo"}}
                     for c in choice.tool_calls or []]
            usage = response.usage
            assert usage is not None
            message = AIMessage(content=choice.content or "", tool_calls=calls,
                                usage_metadata={"input_tokens": usage.prompt_tokens,
                                                "output_tokens": usage.completion_tokens,
                                                "total_tokens": usage.total_tokens},
                                response_metadata={"model_name": response.model})
            return ChatResult(generations=[ChatGeneration(message=message)], llm_output={
                "token_usage": {"prompt_tokens": usage.prompt_tokens,
                                "completion_tokens": usage.completion_tokens,
                                "total_tokens": usage.total_tokens},
                "model_name": response.model})

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    model = FakeServerChat()
    # What create_agent(name="weather_agent") puts in every run's metadata.
    config = RunnableConfig(metadata={"lc_agent_name": "weather_agent"})

    def turn(question: str) -> str:
        from langchain_core.messages import HumanMessage

        history: list[BaseMessage] = [HumanMessage(question)]
        first = model.invoke(history, config)
        assert isinstance(first, AIMessage)
        history.append(first)
        for call in first.tool_calls:
            history.append(get_weather.invoke({**call, "type": "tool_call"}, config))
        final = model.invoke(history, config)
        return str(final.content)

    from langchain_core.runnables import RunnableLambda

    return str(RunnableLambda(turn).invoke("Weather in Oslo?",
                                           {**config, "run_name": "weather_agent"}))


def test_langchain_and_openai_instrumentations_together(sqlite_store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from openinference.instrumentation.langchain import LangChainInstrumentor
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "EVENT_ONLY")
    recorder = Recorder()
    with receiver_thread(sqlite_store) as receiver, FakeOpenAI() as fake:
        tracer_provider, logger_provider = _providers(receiver.url, receiver.logs_url,
                                                      recorder)
        langchain, openai_v2 = LangChainInstrumentor(), OpenAIInstrumentor()
        langchain.instrument(tracer_provider=tracer_provider)
        openai_v2.instrument(tracer_provider=tracer_provider, logger_provider=logger_provider)
        try:
            answer = _agent_turn(fake)
        finally:
            langchain.uninstrument()
            openai_v2.uninstrument()
            tracer_provider.shutdown()
            logger_provider.shutdown()
        assert answer == "It is sunny in Oslo."
        assert len(fake.requests) == 2
    if os.environ.get("COUNTERSIGN_RECORD_FIXTURES"):
        recorder.save("langchain_openai_v2")
    check_langchain_openai_v2(TraceService(sqlite_store))
