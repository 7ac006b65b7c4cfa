"""Local venue simulators speaking each venue's real protocol on 127.0.0.1 (tests and the demo)."""
