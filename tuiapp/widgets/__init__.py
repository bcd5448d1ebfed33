"""Widgets of the app: one family per module."""

from __future__ import annotations

from tuiapp.widgets.footer import AppFooter
from tuiapp.widgets.image_preview import ImagePreview
from tuiapp.widgets.job_bar import JobBar
from tuiapp.widgets.source_pane import SourcePane
from tuiapp.widgets.source_picker import SourcePicker

__all__ = ["AppFooter", "ImagePreview", "JobBar", "SourcePane", "SourcePicker"]
