"""Bybit v5 constants: endpoints, topics, keepalive, limits, batch sizes and retCodes.

Sources: bybit-exchange/docs (v5 websocket connect/orderbook/trade guideline, order create/amend/
batch, rate-limit, error codes) as summarised in ../shared/venues/cex.md sections 5 and B.5; see
docs/venues-bybit.md.
"""

from __future__ import annotations

from seqkern.venues.base import PingRule, RateLimitPool, SubscriptionLimits, VenueEndpoints

VENUE_ID_BYBIT = 9   # wire slot of Bybit in the spec's VenueId table (spot and linear share it)

ENDPOINTS = VenueEndpoints(
    market_ws="wss://stream.bybit.com",            # + /v5/public/{spot,linear}
    trade_ws="wss://stream.bybit.com/v5/trade",
    rest="https://api.bybit.com",
    private_ws="wss://stream.bybit.com/v5/private",
)

# clients send {"req_id":..,"op":"ping"} every 20 s; without traffic the server cuts after 10 min
PING = PingRule(server_ping_s=None, pong_timeout_s=600.0, client_ping_s=20.0,
                client_ping_text=b'{"req_id":"ping","op":"ping"}')

# spot: at most 10 args per subscribe request; args total <= 21,000 characters per connection
SPOT_LIMITS = SubscriptionLimits(streams_per_connection=200, messages_per_second=10, args_per_request=10)
LINEAR_LIMITS = SubscriptionLimits(streams_per_connection=200, messages_per_second=10, args_per_request=100)

# HTTP: 600 requests per 5 s per IP (all endpoints)
# order queries (reconciliation), per UID: GET /v5/order/realtime 50/s, GET /v5/execution/list 50/s
RATE_LIMITS = (RateLimitPool("IP", 600, 5.0), RateLimitPool("ORDER_QUERY", 50, 1.0),
               RateLimitPool("EXECUTIONS", 50, 1.0))
QUERY_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    "/v5/order/realtime": (("IP", 1), ("ORDER_QUERY", 1)),
    "/v5/execution/list": (("IP", 1), ("EXECUTIONS", 1)),
}

DEPTH = 50                     # orderbook.50.{symbol}: 20 ms pushes, spot and linear
SPOT_BATCH_MAX = 10            # create-batch / amend-batch / cancel-batch: 10 spot
LINEAR_BATCH_MAX = 20          # 20 linear, inverse, option
ORDER_LINK_ID_MAX = 36         # [A-Za-z0-9_-], unique
RECV_WINDOW_MS = 5000
SNAPSHOT_LIMIT_SPOT = 200
SNAPSHOT_LIMIT_LINEAR = 500

# retCodes (v5 error code table)
OK = 0
ERR_PARAMS = 10001             # Params error (also a batch over the category limit)
ERR_TIMESTAMP = 10002          # request expired: timestamp outside recv_window
ERR_API_KEY = 10003            # API key is invalid
ERR_SIGN = 10004               # Error sign
ERR_NOT_AUTHORIZED = 10005     # permission denied
ERR_TOO_MANY = 10006           # Too many visits
ERR_SERVER = 10016             # server error
ERR_ORDER_NOT_EXIST = 110001   # order does not exist (derivatives)
ERR_DUP_LINK_ID = 110072       # OrderLinkedID is duplicate (derivatives)
ERR_SPOT_ORDER_NOT_EXIST = 170213   # Order does not exist (spot)
