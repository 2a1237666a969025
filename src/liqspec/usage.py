"""Bad input from the user, as every ``liqspec`` command reports it.

A command raises :class:`InputError` with a message that names the file, field or option at
fault; the ``liqspec`` command prints it on one line of standard error and exits with status 2.
Its own module so that a command's code can raise it without importing the command line.
"""

from __future__ import annotations

#: the exit status of bad input (argparse's own for a bad command line)
EXIT_USAGE = 2


class InputError(Exception):
    """Bad input from the user: reported on one line, exit status 2."""
