"""What arrives on the wire: Bot API URL paths and request bodies (JSON, urlencoded form,
multipart form with files), decoded into the parameters the methods read."""

from __future__ import annotations

import email.message
import json
import re
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

from tests.fakes.telegram.state import UploadedFile

JSONDict = dict[str, Any]

FILE_PATH: Final = re.compile(r"/file/bot(?P<token>[^/]*)/(?P<path>.+)$")
"""A download: ``/file/bot<token>/<file_path>`` (what ``File.download_*`` fetches)."""
METHOD_PATH: Final = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?")
"""A Bot API call: ``/bot<token>/<method>``."""


def _content_type(header: str) -> tuple[str, dict[str, str]]:
    message = email.message.Message()
    message["content-type"] = header or "application/octet-stream"
    params = {str(k).lower(): str(v) for k, v in message.get_params(failobj=[])[1:]}
    return message.get_content_type(), params


_DISPOSITION_PARAM: Final = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def parse_multipart(body: bytes, boundary: str) -> JSONDict:
    """Parse a ``multipart/form-data`` body into parameters (files as :class:`UploadedFile`).

    Handles the ``name``/``filename`` quoting of httpx (``%22`` for quotes) and browsers, and
    ``filename*=UTF-8''...`` (RFC 5987).
    """
    params: JSONDict = {}
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    sections = (b"\r\n" + body).split(delimiter)
    for section in sections[1:]:
        if section.startswith(b"--"):
            break
        section = section.lstrip(b" \t")
        if section.startswith(b"\r\n"):
            section = section[2:]
        head, _, content = section.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if sep:
                headers[key.strip().lower()] = value.strip()
        disposition: dict[str, str] = {}
        for match in _DISPOSITION_PARAM.finditer(headers.get("content-disposition", "")):
            key = match[1].lower()
            value = match[2] if match[2] is not None else match[3]
            value = value.replace('\\"', '"').replace("\\\\", "\\").replace("%22", '"')
            if key.endswith("*"):
                _, _, encoded = value.partition("''")
                key, value = key[:-1], unquote(encoded)
            disposition[key] = value
        name = disposition.get("name")
        if not name:
            continue
        if "filename" in disposition:
            params[name] = UploadedFile(
                filename=disposition["filename"],
                content=content,
                mime_type=headers.get("content-type"),
            )
        else:
            params[name] = content.decode("utf-8")
    return params


def parse_body(content_type: str, body: bytes) -> JSONDict:
    """Decode a Bot API request body: JSON, urlencoded form or multipart form."""
    if not body:
        return {}
    kind, options = _content_type(content_type)
    if kind == "multipart/form-data":
        return parse_multipart(body, options.get("boundary", ""))
    if kind == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    data = json.loads(body.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("JSON body must be an object")
    return data

