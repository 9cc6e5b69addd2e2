"""The one exception type users see for bad input."""


class MLIPLabError(ValueError):
    """Raised for invalid user input, files or settings; the message says what is wrong and how to fix it."""
