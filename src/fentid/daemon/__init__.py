"""Watch-folder service: identifies each new acquisition unattended (no Qt)."""
