"""The Zalo Bot API channel: an httpx client, the transport, the poller and the webhook."""
