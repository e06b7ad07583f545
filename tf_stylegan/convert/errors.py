"""The one error type of checkpoint loading: it always names the file."""


class CheckpointError(ValueError):
    """A checkpoint could not be read or does not fit the architecture."""

    def __init__(self, path, message: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")
