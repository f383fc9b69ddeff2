"""The one exception kft raises for bad input: the CLI prints it and exits 2."""


class KftError(Exception):
    """A problem with the user's input: a file, a row, a key or a value.

    The message names what is wrong and says what to do. The CLI prints it
    on one line, without a traceback, and exits with status 2.
    """
