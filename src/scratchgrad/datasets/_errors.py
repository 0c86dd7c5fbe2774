"""The dataset errors, kept apart so the parser and the file lookup can share them without a cycle."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file is in none of the folders looked in and could not be downloaded."""


class CorruptDatasetError(ValueError):
    """A dataset file exists but is not the expected one: wrong hash, broken gzip or malformed IDX."""
