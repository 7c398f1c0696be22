"""Build the embedded snapshot in data/ from the shared reference files.

Usage: python scripts/build_data.py [--shared ../shared] [--out data]

Reads the public source files under <shared>/data and writes the project's own schema (members, posts,
departments, sites, constituencies, known gaps, snapshot.json, README.md) with outreach/sources/embedded.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from outreach.sources.embedded import write_embedded

REPO = Path(__file__).resolve().parents[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Return the exit code of building data/ (1 when the shared folder has no data)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=REPO / ".." / "shared",
        help="the shared reference folder (default: ../shared from the repository root)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "data", help="where to write (default: data/)")
    args = parser.parse_args(argv)
    shared = (args.shared / "data").resolve()
    if not shared.is_dir():
        print(f"no data folder at {shared}", file=sys.stderr)
        return 1
    # data/sources/ holds the small source files kept in the repository (not in ../shared); read, never written.
    for name, count in write_embedded(shared, REPO / "data" / "sources", args.out).items():
        print(f"{name}: {count} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
