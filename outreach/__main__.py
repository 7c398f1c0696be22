"""`python -m outreach`: the same as the `outreach` command."""

from outreach.cli import main

main()
