"""Typed accessors over a live source's JSON: the one place a body's types are checked.

A source that answers with the wrong JSON type anywhere — a name that is an array, an id that is a string, a list
that is an object — is a source fault: the refresh stops with one `SourceError` line naming the request and the
field ("GET …/api/Members/Search?skip=0&take=20: items[3].value.nameDisplayAs should be a string, got array"),
never a traceback, and never a text field saved as a Python repr ("['a', 'b']"). Every client in `sources/` reads
its bodies through `Json`, so a new endpoint inherits the checks by using it:

    page = Json.of(client.get(path), where)
    for item in page.array("items"):
        name = item.obj("value").text("nameDisplayAs")

`null` and a missing key read as empty (""/None/[]), as the specs mark most fields nullable; `required=True`
refuses them instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from outreach.errors import SourceError


def json_type(value: object) -> str:
    """Return a JSON value's type as JSON names it."""
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def clean(text: str | None) -> str:
    """Return text with surrounding space removed and inner runs of space collapsed ("" for None)."""
    return " ".join(text.split()) if text is not None else ""


class Json:
    """A JSON value from a source, with the request and path it came from, read through typed accessors."""

    def __init__(self, value: Any, where: str, path: str = "") -> None:
        self.value = value
        self.where = where
        self.path = path

    @classmethod
    def of(cls, value: Any, where: str) -> Json:
        """Return a body's top-level value, named in errors by `where` (the request)."""
        return cls(value, where)

    def fail(self, problem: str) -> SourceError:
        """Return the one-line error for a problem at this value."""
        at = f"{self.path} " if self.path else "the body "
        return SourceError(f"{self.where}: {at}{problem}")

    def _child(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def _expect(self, kind: type, name: str) -> Any:
        value = self.value
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise self.fail(f"should be {name}, got {json_type(value)}")
        return value

    def as_object(self) -> Json:
        """Return this value, checked to be an object."""
        self._expect(dict, "an object")
        return self

    def as_array(self) -> list[Json]:
        """Return the elements of this value, checked to be an array."""
        return [Json(item, self.where, self._child(n)) for n, item in enumerate(self._expect(list, "an array"))]

    def get(self, key: str) -> Json:
        """Return the value under `key` of this object (null when the key is missing)."""
        mapping = self._expect(dict, "an object")
        return Json(mapping.get(key), self.where, self._child(key))

    def has(self, key: str) -> bool:
        """Return whether this object has `key` with a value other than null."""
        return isinstance(self.value, dict) and self.value.get(key) is not None

    def obj(self, key: str, *, required: bool = False) -> Json:
        """Return the object under `key`; an empty object for null unless required."""
        child = self.get(key)
        if child.value is None and not required:
            return Json({}, self.where, child.path)
        return child.as_object()

    def array(self, key: str, *, required: bool = False) -> list[Json]:
        """Return the elements of the array under `key`; none for null unless required."""
        child = self.get(key)
        if child.value is None and not required:
            return []
        return child.as_array()

    def objects(self, key: str) -> Iterator[Json]:
        """Return the elements of the array under `key`, each checked to be an object."""
        return (item.as_object() for item in self.array(key))

    def text(self, key: str, *, required: bool = False) -> str:
        """Return the string under `key`, with runs of space collapsed; "" for null unless required."""
        child = self.get(key)
        if child.value is None and not required:
            return ""
        text = clean(child._expect(str, "a string"))
        if required and not text:
            raise child.fail("is empty")
        return text

    def optional_integer(self, key: str) -> int | None:
        """Return the integer under `key`, or None for null."""
        child = self.get(key)
        return None if child.value is None else int(child._expect(int, "a number"))

    def integer(self, key: str) -> int:
        """Return the integer under `key`, which must be there."""
        child = self.get(key)
        return int(child._expect(int, "a number"))

    def flag(self, key: str) -> bool:
        """Return the boolean under `key`; False for null."""
        child = self.get(key)
        return False if child.value is None else bool(child._expect(bool, "a boolean"))

    def day(self, key: str) -> date | None:
        """Return the date of a date-time string under `key` ("2024-07-04T00:00:00"); None for null."""
        text = self.text(key)
        if not text:
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise self.get(key).fail(f"is not a date: {text[:40]!r}") from None
