"""Errors a person can act on."""


class InputError(Exception):
    """A malformed input file: the message names the file, the line and the problem."""
