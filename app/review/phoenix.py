"""Upload a dataset to a running Phoenix server (arize-phoenix) through its REST API.

One request: ``POST {url}/v1/datasets/upload?sync=true`` with the JSON body of
`export_formats.phoenix_upload_body` and ``action: "update"``. Checked against
arize-phoenix 20.26: "update" creates the dataset when the name is new and otherwise
makes a new Phoenix version holding exactly these examples, matched to the previous
ones by our keys (``example_ids``; both arrived in Phoenix 15.0), so pushing each new
Countersign version of a dataset keeps one Phoenix dataset with its history. The
answer names the dataset and version ids and how many examples were created, updated
and deleted.

Every failure is a `PhoenixError` with one plain sentence: refused, timed out, or
the HTTP status with a short plain-text excerpt of what the server said. An API key
(sent as ``Authorization: Bearer``) never appears in a message, nor does a password
written into the URL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx
import msgspec
from pydantic import BaseModel, ConfigDict

from .datasets import Example, validate_dataset_name
from .export_formats import phoenix_upload_body

#: Longest excerpt of a server's answer quoted in an error.
EXCERPT_CHARS = 200
_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


class PhoenixError(Exception):
    """The upload to Phoenix failed; the message is one sentence for the user."""


class PushResult(BaseModel):
    """What Phoenix answered to an upload."""

    model_config = ConfigDict(frozen=True)

    dataset_id: str
    version_id: str
    created: int
    updated: int
    deleted: int
    #: The dataset's page in the Phoenix UI.
    url: str


def _base_url(url: str) -> tuple[httpx.URL, str]:
    """The server's base URL, and the same without user or password for messages."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise PhoenixError(f"the Phoenix URL is not valid ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise PhoenixError("the Phoenix URL must start with http:// or https:// and name "
                           "a host (for example http://localhost:6006)")
    shown = parsed.copy_with(username=None, password=None, query=None, fragment=None)
    text = str(shown).rstrip("/")
    return parsed, text


def _plain_excerpt(body: str, secret: str | None) -> str:
    """A short, single-line, tag-free excerpt of a server answer, without the key."""
    try:
        decoded: Any = msgspec.json.decode(body)
    except msgspec.DecodeError:
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("detail"), str):
        body = decoded["detail"]
    text = "".join(ch if ch.isprintable() else " " for ch in _TAGS.sub(" ", body))
    text = _SPACE.sub(" ", text).strip()
    if secret:
        text = text.replace(secret, "[API key]")
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1].rstrip() + "…"
    return text or "(no message)"


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc)
    if "refused" in text.lower():
        return "the connection was refused (is the server running?)"
    return _plain_excerpt(text, None) if text else type(exc).__name__


def _result(response: httpx.Response, shown: str, secret: str | None) -> PushResult:
    try:
        data = msgspec.json.decode(response.content)["data"]
        dataset_id = str(data["dataset_id"])
        return PushResult(
            dataset_id=dataset_id, version_id=str(data["version_id"]),
            created=int(data.get("num_created_examples", 0)),
            updated=int(data.get("num_updated_examples", 0)),
            deleted=int(data.get("num_deleted_examples", 0)),
            url=f"{shown}/datasets/{dataset_id}",
        )
    except (msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
        excerpt = _plain_excerpt(response.text, secret)
        raise PhoenixError(f"Phoenix at {shown} answered HTTP {response.status_code} but "
                           f"not with the dataset it stored: {excerpt}") from exc


def push_dataset(
    url: str,
    name: str,
    examples: Sequence[Example],
    *,
    api_key: str | None = None,
    timeout: float = 30,
    version: int | None = None,
) -> PushResult:
    """Upload ``examples`` as the Phoenix dataset ``name`` on the server at ``url``
    (e.g. ``http://localhost:6006``; a path prefix is kept). ``version`` is named in
    the description of a dataset this creates. Raises `PhoenixError` (down, timeout, HTTP error,
    unexpected answer) and `DatasetNameError` for a name that cannot be a dataset."""
    validate_dataset_name(name)
    base, shown = _base_url(url)
    endpoint = base.copy_with(path=base.path.rstrip("/") + "/v1/datasets/upload",
                              params={"sync": "true"}, fragment=None)
    body = msgspec.json.encode(phoenix_upload_body(examples, name, version, action="update"))
    headers = {"content-type": "application/json", "accept": "application/json"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=True) as client:
            response = client.post(endpoint, content=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise PhoenixError(f"Phoenix at {shown} did not answer within {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise PhoenixError(f"could not reach Phoenix at {shown}: {_reason(exc)}") from exc
    if response.status_code >= 300:
        excerpt = _plain_excerpt(response.text, api_key)
        hint = ""
        if response.status_code in (401, 403):
            hint = " (check the API key)" if api_key else " (this server needs an API key)"
        elif response.status_code == 422 and "DatasetAction" in response.text:
            hint = " (Phoenix 15 or newer is needed)"  # "update" came with 15.0
        raise PhoenixError(f"Phoenix at {shown} answered HTTP {response.status_code} "
                           f"{response.reason_phrase}{hint}: {excerpt}")
    return _result(response, shown, api_key)
