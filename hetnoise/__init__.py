"""hetnoise: heterogeneous label noise, and a reproduction of Khanal & Kanan's study of it."""

__version__ = "0.1.0"
