"""The interview WebSocket: frames (shapes), hub (connections and cross-process sync), protocol (the endpoint)."""
