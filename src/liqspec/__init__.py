"""liqspec: a formal, executable specification of leverage-induced liquidation."""

__version__ = "0.1.0"
