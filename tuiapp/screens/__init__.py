"""The app's screens: one module each; modals end in ``Modal``."""

from __future__ import annotations

from tuiapp.screens.asset_view import AssetViewScreen
from tuiapp.screens.board import BoardScreen
from tuiapp.screens.confirm import ConfirmModal, QuitModal
from tuiapp.screens.error import ErrorModal
from tuiapp.screens.export import ExportChoice, ExportModal
from tuiapp.screens.help import HelpModal
from tuiapp.screens.history import HistoryScreen
from tuiapp.screens.job_detail import JobDetailScreen
from tuiapp.screens.library import LibraryScreen
from tuiapp.screens.new_job import NewJobScreen
from tuiapp.screens.watches import AddWatchModal, WatchesScreen

__all__ = [
    "AddWatchModal",
    "AssetViewScreen",
    "BoardScreen",
    "ConfirmModal",
    "ErrorModal",
    "ExportChoice",
    "ExportModal",
    "HelpModal",
    "HistoryScreen",
    "JobDetailScreen",
    "LibraryScreen",
    "NewJobScreen",
    "QuitModal",
    "WatchesScreen",
]
