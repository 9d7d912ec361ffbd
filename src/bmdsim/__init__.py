"""bmdsim: a ballistic missile defense simulator and decision aid."""

__version__ = "0.1.0"
