"""tuiapp: a terminal media downloader. One query, many sources, everything kept."""

__version__ = "0.1.0"
