"""Request bodies as data: a `Body` lists its fields; the same spec validates a request and
writes the OpenAPI schema, so the document cannot drift from what the server accepts."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from host_bridge.http.problems import Problem


class Kind(enum.Enum):
    TEXT = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"


@dataclass(frozen=True, slots=True)
class Field:
    """One field: its JSON type, whether it must be given, and bounds."""

    name: str
    kind: Kind = Kind.TEXT
    required: bool = True
    max_length: int = 64
    min_length: int = 1
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    description: str = ""

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind.value}
        if self.kind is Kind.TEXT:
            out.update(minLength=self.min_length, maxLength=self.max_length)
            if self.pattern:
                out["pattern"] = self.pattern
        if self.kind is Kind.INTEGER:
            if self.minimum is not None:
                out["minimum"] = self.minimum
            if self.maximum is not None:
                out["maximum"] = self.maximum
        if self.description:
            out["description"] = self.description
        return out

    def check(self, value: object) -> object:
        if self.kind is Kind.TEXT:
            if not isinstance(value, str) or not (
                self.min_length <= len(value) <= self.max_length
            ):
                raise Problem(422, "Bad field", f"{self.name} must be a string of "
                              f"{self.min_length} to "
                              f"{self.max_length} characters")
            return value
        if self.kind is Kind.BOOLEAN:
            if not isinstance(value, bool):
                raise Problem(422, "Bad field", f"{self.name} must be true or false")
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise Problem(422, "Bad field", f"{self.name} must be an integer")
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise Problem(422, "Bad field", f"{self.name} is out of range")
        return value


@dataclass(frozen=True, slots=True)
class Body:
    """A JSON object body of exactly these fields (unknown fields are refused)."""

    name: str
    fields: tuple[Field, ...]
    open: bool = False  # documents that unknown fields are ignored (privacyIDEA's parameters)

    def parse(self, data: object) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise Problem(422, "Bad body", "the body must be a JSON object")
        known = {f.name: f for f in self.fields}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise Problem(422, "Unknown field", f"unknown field(s): {', '.join(unknown)[:200]}")
        out: dict[str, Any] = {}
        for spec in self.fields:
            if spec.name in data:
                out[spec.name] = spec.check(data[spec.name])
            elif spec.required:
                raise Problem(422, "Missing field", f"{spec.name} is required")
        return out

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": self.open,
            "required": [f.name for f in self.fields if f.required],
            "properties": {f.name: f.schema() for f in self.fields},
        }
