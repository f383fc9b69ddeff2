"""kft's messages about the user's input: `KftError` for what stops a run,
`warn` for what kft works around; and the exit statuses of `kft`.

The CLI prints an error on one line, `kft: error: ...`, without a
traceback, and exits with status 2 (`EXIT_BAD_INPUT`); it prints a
warning as `kft: warning: ...`, not in Python's `file:line: Warning` form.
"""

import warnings

# The exit statuses of `kft` (and of the launcher of its processes).
EXIT_OK = 0
EXIT_BAD_INPUT = 2  # a `KftError`: the one `kft: error: ...` line says why
# A signal stopped training after a step-exact backup; `kft resume` goes
# on (sysexits' EX_TEMPFAIL, "try again later"; `kft.training.interrupt`).
EXIT_INTERRUPTED = 75
EXIT_ABORTED = 130  # Ctrl-C outside training (click's Abort): 128 + SIGINT


class KftError(Exception):
    """A problem with the user's input: a file, a row, a key or a value.

    The message names what is wrong and says what to do. The CLI prints it
    on one line, without a traceback, and exits with status 2
    (`EXIT_BAD_INPUT`).
    """


class KftWarning(UserWarning):
    """Something in the user's input that kft worked around, e.g. images
    that do not decode and were skipped."""


def warn(message):
    """Warns about the user's input with a `KftWarning`.

    In Python it is an ordinary warning (filter or catch it with
    `warnings`); under the CLI it prints as `kft: warning: MESSAGE`.
    """
    warnings.warn(message, KftWarning, stacklevel=2)


def show_warnings_as_kft():
    """Makes `KftWarning`s print as `kft: warning: MESSAGE` in this
    process (the CLI calls it); other warnings keep Python's format."""
    plain = warnings.formatwarning

    def formatwarning(message, category, filename, lineno, line=None):
        if issubclass(category, KftWarning):
            return f"kft: warning: {message}\n"
        return plain(message, category, filename, lineno, line)

    warnings.formatwarning = formatwarning
