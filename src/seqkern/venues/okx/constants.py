"""OKX v5 constants: endpoints, channels, keepalive, limits, batch size and error codes.

Sources: OKX v5 API docs (WebSocket overview, order book channel, login, place/amend/cancel order,
batch orders) as summarised in ../shared/venues/cex.md sections 4 and B.4; see docs/venues-okx.md.
"""

from __future__ import annotations

from seqkern.venues.base import PingRule, RateLimitPool, SubscriptionLimits, VenueEndpoints

VENUE_ID_OKX = 8   # wire slot of OKX in the spec's VenueId table (spot and SWAP share it)

ENDPOINTS = VenueEndpoints(
    market_ws="wss://ws.okx.com:8443",        # + /ws/v5/public
    trade_ws="wss://ws.okx.com:8443/ws/v5/private",   # login, orders channel and WS trading ops
    rest="https://www.okx.com",
    private_ws="wss://ws.okx.com:8443/ws/v5/private",
)
PUBLIC_PATH = "/ws/v5/public"
PRIVATE_PATH = "/ws/v5/private"

# OKX drops a connection with no traffic for 30 s; clients send the text "ping" (answer "pong")
PING = PingRule(server_ping_s=None, pong_timeout_s=30.0, client_ping_s=20.0, client_ping_text=b"ping")

# 480 subscribe/unsubscribe/login requests per hour per connection (so one subscribe frame carries
# every stream of a connection, and frames are paced at 1/s); < 30 deep-book channels per
# connection recommended (2 streams per symbol: 60); one request's args must total <= 64 KB
LIMITS = SubscriptionLimits(streams_per_connection=60, messages_per_second=1.0, args_per_request=60)
CONTROL_PER_HOUR = 480

# REST pools: public market data 20 requests / 2 s per IP; orders 60 / 2 s per instrument
# order queries (reconciliation): GET /api/v5/trade/order 60 / 2 s (user + instrument),
# GET /api/v5/trade/fills 60 / 2 s (user)
RATE_LIMITS = (
    RateLimitPool("PUBLIC", 20, 2.0),
    RateLimitPool("ORDERS", 60, 2.0),
    RateLimitPool("ORDER_QUERY", 60, 2.0),
    RateLimitPool("FILLS", 60, 2.0),
)
WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    "/api/v5/market/books": (("PUBLIC", 1),),
    "/api/v5/public/instruments": (("PUBLIC", 1),),
    "/api/v5/trade/order": (("ORDER_QUERY", 1),),
    "/api/v5/trade/fills": (("FILLS", 1),),
}
ERR_REST_API_KEY = "50111"         # Invalid OK-ACCESS-KEY
ERR_REST_TIMESTAMP = "50102"       # Timestamp request expired
ERR_REST_PASSPHRASE = "50105"      # Invalid OK-ACCESS-PASSPHRASE
ERR_REST_BAD_SIGN = "50113"        # Invalid Sign

DEPTH_CHANNEL = "books"          # 400 levels, snapshot then updates every 100 ms
TRADES_CHANNEL = "trades"
SNAPSHOT_SZ = 400                # GET /api/v5/market/books sz maximum
BATCH_MAX = 20                   # batch-orders / batch-amend-orders / batch-cancel-orders
CLORDID_MAX = 32                 # clOrdId: 1-32 alphanumerics
CHECKSUM_DEPTH = 25

LOGIN_PATH = "/users/self/verify"

# error codes (OKX v5 error code table; WS codes confirmed in OKX's websocket error list)
ERR_OK = "0"
ERR_ALL_FAILED = "1"               # op response: every item failed (see each sCode)
ERR_BATCH_PARTIAL = "2"            # op response: some items failed (see each sCode)
ERR_SYSTEM_BUSY = "50001"          # Service temporarily unavailable
ERR_TOO_FREQUENT = "50011"         # Rate limit reached / Too Many Requests
ERR_EMPTY_PARAM = "50014"          # Parameter {0} can not be empty
ERR_PARAM = "51000"                # Parameter {0} error
ERR_INSTRUMENT = "51001"           # Instrument ID does not exist
ERR_BATCH_TOO_MANY = "51004"       # simulator's answer to a batch over 20 (the venue's exact code is unconfirmed)
ERR_TICK = "51006"                 # price not a multiple of the tick (simulator's choice of code)
ERR_LOT = "51121"                  # Order quantity must be a multiple of the lot size
ERR_DUPLICATE_CLORDID = "51016"    # Duplicated clOrdId
ERR_ORDER_NOT_EXIST = "51603"      # Order does not exist
# websocket event errors
WS_ERR_API_KEY = "60005"           # Invalid apiKey
WS_ERR_TIMESTAMP = "60006"         # Timestamp request expired
WS_ERR_BAD_SIGN = "60007"          # Invalid sign
WS_ERR_LOGIN = "60009"             # Login failure
WS_ERR_NOT_LOGGED_IN = "60011"     # Please log in
WS_ERR_BAD_REQUEST = "60012"       # Invalid request
WS_ERR_BAD_ARGS = "60018"          # Wrong URL or channel/args doesn't exist
WS_ERR_PASSPHRASE = "60024"        # Wrong passphrase
WS_ERR_SERVICE_UPGRADE = "64008"   # connection will close for a service upgrade: reconnect
