"""weipay: WeChat Pay for merchants — SDK (API v2 and v3), offline simulator, payment service."""

__version__ = "0.1.0"
