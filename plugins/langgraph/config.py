"""Settings of a LangGraph source (the keys of its ``[[sources]]`` table).

Kept free of heavy imports: the CLI and the Connections dialog load it (through the
plugin's manifest) to validate settings and to build the edit form, before and without
importing the source itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class LangGraphConfig(BaseModel):
    """Where the LangGraph server is and which interrupted threads belong to this source."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="Base URL of the LangGraph server, e.g. http://127.0.0.1:2024")
    assistant_id: str | None = Field(
        default=None, description="Only threads run by this assistant (thread metadata)")
    graph_id: str | None = Field(
        default=None, description="Only threads of this graph (thread metadata)")
    metadata: dict[str, Any] | None = Field(
        default=None, description="Only threads whose metadata contains these key/values")
    api_key: str | None = Field(
        default=None, description="A keyring reference (keyring:NAME) for the x-api-key header")
    poll_interval: float = Field(
        default=1.0, gt=0, le=300, description="Seconds between incremental searches")
    page_size: int = Field(default=200, ge=1, le=1000, description="Threads per search page")
    resync_interval: float = Field(
        default=60.0, gt=0,
        description="Seconds between full listings (catches threads resumed elsewhere)")
    timeout: float = Field(default=10.0, gt=0, le=300, description="HTTP timeout in seconds")

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _reference_only(cls, value: str | None) -> str | None:
        # Secrets never live in the config file (STYLE.md, rule 12): only references.
        if value is not None and not (value.startswith("keyring:") and len(value) > 8):
            raise ValueError("must be a keyring reference like 'keyring:prod-agents', "
                             "never the key itself")
        return value
