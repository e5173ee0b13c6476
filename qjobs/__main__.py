"""`qjobs` and `python -m qjobs`: every expected failure is one line on stderr and an exit code.

Exit codes: 0 done, 1 the service refused or the job did not succeed, 2 bad usage, 3 the service
cannot be reached.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from qjobs.cli import app
from qjobs.errors import QJobsError


def main() -> None:
    try:
        code = app(prog_name="qjobs", standalone_mode=False)
    except QJobsError as error:
        _fail(str(error), error.exit_code)
    except typer.TyperException as error:  # the parser's: unknown option, missing or bad value (exit 2)
        _fail(error.format_message(), error.exit_code)
    sys.exit(code)


def _fail(message: str, exit_code: int) -> NoReturn:
    if message:  # empty when a group was called without a command: its help is already shown
        sys.stderr.write(f"qjobs: {message}\n")
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
