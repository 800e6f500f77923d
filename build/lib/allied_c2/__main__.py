"""`python -m allied_c2` is the `allied-c2` command."""

from allied_c2.cli.main import main

main()
