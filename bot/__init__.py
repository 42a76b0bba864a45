"""Hirfa: a Telegram and WhatsApp assistant for a Moroccan Chamber of Artisans."""

__version__ = "0.1.0"
