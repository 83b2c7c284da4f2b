"""pyqtgraph desktop viewer: the only place Qt is imported."""
