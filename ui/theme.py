"""A dark, low-glare post-house look: Fusion style, a neutral grey palette and one blue accent."""

from __future__ import annotations

from PyQt6.QtGui import QColor, QFont, QPalette
from PyQt6.QtWidgets import QApplication

ACCENT = "#4f8fea"

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: #1f2023; }}
QToolBar {{ background: #25262a; border: none; border-bottom: 1px solid #121315; spacing: 4px; padding: 4px 6px; }}
QToolBar QToolButton {{ padding: 4px 10px; border-radius: 4px; color: #d8dade; }}
QToolBar QToolButton:hover {{ background: #32343a; }}
QToolBar QToolButton:disabled {{ color: #62656c; }}
QToolButton#revoiceButton {{ background: {ACCENT}; color: white; font-weight: 600; }}
QToolButton#revoiceButton:hover {{ background: #6aa2f0; }}
QToolButton#revoiceButton:disabled {{ background: #30363f; color: #6d737c; }}
QTableView {{ background: #17181b; alternate-background-color: #1b1c20; gridline-color: #26282c;
             border: 1px solid #121315; selection-background-color: #2d4a75; selection-color: #ffffff; }}
QHeaderView::section {{ background: #25262a; color: #a3a7ae; border: none; border-right: 1px solid #1a1b1e;
                        border-bottom: 1px solid #121315; padding: 4px 6px; }}
QLineEdit {{ background: #17181b; border: 1px solid #34363c; border-radius: 4px; padding: 4px 6px;
             color: #d8dade; selection-background-color: {ACCENT}; }}
QLineEdit:focus {{ border-color: {ACCENT}; }}
QProgressBar {{ background: #17181b; border: 1px solid #34363c; border-radius: 4px; text-align: center;
                color: #d8dade; min-height: 16px; max-height: 16px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QDockWidget {{ color: #a3a7ae; }}
QDockWidget::title {{ background: #25262a; padding: 5px 8px; }}
QStatusBar {{ background: #25262a; color: #a3a7ae; border-top: 1px solid #121315; }}
QSplitter::handle {{ background: #121315; }}
QLabel#emptyTitle {{ font-size: 20px; color: #d8dade; }}
QLabel#emptyHint {{ color: #8b919a; }}
QFrame#dropZone {{ border: 2px dashed #3a3d44; border-radius: 12px; background: #1b1c20; }}
QLabel#previewTitle {{ font-size: 14px; font-weight: 600; color: #e6e8eb; }}
QLabel#previewText {{ color: #b9bdc4; }}
QLabel#waveCaption, QLabel#readoutCaption {{ color: #80858e; font-size: 11px; }}
QLabel#readoutValue {{ color: #e6e8eb; font-family: "DejaVu Sans Mono", monospace; }}
QFrame#readoutBox {{ background: #1b1c20; border: 1px solid #2a2c31; border-radius: 6px; }}
QLabel#licenceLabel {{ color: #8b919a; font-size: 11px; }}
QLabel#selectionInfo {{ color: #8b919a; }}
QLabel#takeNote {{ color: #8b919a; }}
QComboBox {{ background: #2c2e33; border: 1px solid #3a3d44; border-radius: 4px; padding: 3px 8px; color: #d8dade; }}
QComboBox:hover {{ background: #363941; }}
QComboBox:disabled {{ color: #8b919a; background: #232428; border-color: #2c2e33; }}
QComboBox QAbstractItemView {{ background: #232428; border: 1px solid #3a3d44; selection-background-color: #2d4a75; }}
QCheckBox {{ color: #d8dade; spacing: 8px; }}
QCheckBox::indicator {{ width: 13px; height: 13px; border: 1px solid #5a5e66; border-radius: 3px; background: #17181b; }}
QCheckBox::indicator:hover {{ border-color: {ACCENT}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QPushButton {{ background: #2c2e33; border: 1px solid #3a3d44; border-radius: 4px; padding: 4px 10px; color: #d8dade; }}
QPushButton:hover {{ background: #363941; }}
QPushButton:disabled {{ color: #62656c; background: #232428; border-color: #2c2e33; }}
QGroupBox {{ border: 1px solid #2f3136; border-radius: 6px; margin-top: 14px; padding-top: 8px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: #a3a7ae; }}
"""


def dark_palette() -> QPalette:
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#1f2023",
        QPalette.ColorRole.WindowText: "#d8dade",
        QPalette.ColorRole.Base: "#17181b",
        QPalette.ColorRole.AlternateBase: "#1b1c20",
        QPalette.ColorRole.ToolTipBase: "#2c2e33",
        QPalette.ColorRole.ToolTipText: "#e6e8eb",
        QPalette.ColorRole.PlaceholderText: "#6d737c",
        QPalette.ColorRole.Text: "#d8dade",
        QPalette.ColorRole.Button: "#2c2e33",
        QPalette.ColorRole.ButtonText: "#d8dade",
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: "#2d4a75",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.Mid: "#34363c",
        QPalette.ColorRole.Dark: "#121315",
        QPalette.ColorRole.Shadow: "#0b0b0c",
        QPalette.ColorRole.Light: "#3a3d44",
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#62656c"))
    return palette


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    font = QFont(app.font())
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.5)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
