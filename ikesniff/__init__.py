"""ikesniff: reads IKE traffic from captures or the wire and says why a tunnel fails."""

__version__ = "0.1.0"
