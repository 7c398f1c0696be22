"""postcodes.io: the 2024 Westminster constituency of each postcode, looked up in bulk.

`POST /postcodes` takes up to 100 postcodes a request (`{"postcodes": [...]}`) and answers
`{"status": 200, "result": [{"query": "HP7 0JD", "result": {..., "codes": {"parliamentary_constituency_2024":
"E14001162"}} | null}]}`; a null result is a postcode postcodes.io does not know (terminated or mistyped).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from outreach.errors import SourceError
from outreach.sources.fields import Json, clean
from outreach.sources.http import JsonClient, Progress, fetch_all

BATCH = 100  # postcodes.io's limit for one bulk lookup


def postcode_key(postcode: str) -> str:
    """Return a postcode without spaces, upper case: the form two spellings of one postcode share."""
    return postcode.replace(" ", "").upper()


@dataclass(frozen=True)
class PostcodeResult:
    """One postcode's answer: its 2024 constituency (ONS code and name), or none when postcodes.io does not know it."""

    query: str
    constituency_code: str | None
    constituency: str | None

    @classmethod
    def from_api(cls, item: Json) -> PostcodeResult:
        """Return one entry of a bulk lookup's `result` array."""
        query = item.text("query", required=True)
        found = item.obj("result")
        return cls(
            query=query,
            constituency_code=found.obj("codes").text("parliamentary_constituency_2024") or None,
            constituency=found.text("parliamentary_constituency_2024") or None,
        )


class PostcodesApi:
    """postcodes.io's bulk lookup."""

    def __init__(self, client: JsonClient) -> None:
        self.client = client

    def lookup(
        self, postcodes: Iterable[str], *, workers: int, progress: Progress | None = None
    ) -> dict[str, PostcodeResult]:
        """Return the answer for each distinct postcode, keyed by `postcode_key`."""
        unique = sorted({postcode_key(p): clean(p).upper() for p in postcodes if clean(p)}.items())
        batches = [[shown for _, shown in unique[start : start + BATCH]] for start in range(0, len(unique), BATCH)]
        where = f"POST {self.client.origin}/postcodes"

        def fetch(batch: list[str]) -> list[PostcodeResult]:
            answer = self.client.post("/postcodes", {"postcodes": batch}).as_object()
            return [PostcodeResult.from_api(item.as_object()) for item in answer.array("result", required=True)]

        found: dict[str, PostcodeResult] = {}
        for batch in fetch_all(fetch, batches, workers=workers, progress=progress, stage="postcodes"):
            for result in batch:
                found[postcode_key(result.query)] = result
        missing = [shown for key, shown in unique if key not in found]
        if missing:
            raise SourceError(f"{where}: no answer for postcode {missing[0]}")
        return found
