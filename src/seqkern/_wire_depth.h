// Venue depth-message scanners: raw websocket bytes -> header fields + level string views (simdjson on-demand).
//
// One scanner function per venue format fills the same SkDepthScan; the Cython side (_wire.pyx)
// turns the level strings into fixed-point with parse_decimal and applies them to an L2Book,
// so no Python object is created per level. Level pointers point into the scan's padded copy of
// the message and stay valid until the next scan.
#pragma once
#include <cstring>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include "simdjson.h"

namespace skwire {

namespace od = simdjson::ondemand;

enum : int {
    SCAN_OTHER = 0,      // well-formed JSON that is not a depth message (ack, trade, ...)
    SCAN_DEPTH = 1,      // a depth diff; header + levels filled
    SCAN_BAD_JSON = -1,  // not JSON / truncated
    SCAN_BAD_SHAPE = -2, // JSON, but a depth message with missing or mistyped fields
    SCAN_TOO_MANY = -3,  // more levels than the scan's capacity
};

struct Level {
    const char* px;
    int32_t px_len;
    const char* qty;
    int32_t qty_len;
    int32_t side;  // 0 bid, 1 ask
};

struct DepthScan {
    od::parser parser;
    std::vector<char> buf;
    std::vector<Level> levels;
    size_t n_levels = 0;
    size_t max_levels = 0;
    int64_t first_id = 0;       // Binance U
    int64_t final_id = 0;       // Binance u
    int64_t prev_final_id = -1; // Binance USD-M pu (-1 when absent)
    int64_t event_ms = 0;       // E
    int64_t transact_ms = 0;    // T (USD-M)
    const char* sym = nullptr;  // "s" value (venue symbol), not NUL-terminated
    int32_t sym_len = 0;
    int32_t snapshot = 0;       // OKX action "snapshot", Bybit type "snapshot" or u == 1: replace the book
    int32_t has_seq = 0;        // OKX: seqId/prevSeqId present (legacy recordings may lack them)
    int32_t has_checksum = 0;   // OKX: a "checksum" field was present
    int64_t checksum = 0;       // OKX: its value (0 = deprecated / not to be checked)
    int64_t cross_seq = 0;      // Bybit "seq" (cross sequence, monotonic, not contiguous)

    explicit DepthScan(size_t cap_levels) : max_levels(cap_levels) {
        levels.resize(cap_levels);
        buf.resize(4096 + simdjson::SIMDJSON_PADDING);
    }
};

inline DepthScan* scan_new(size_t cap_levels) { return new DepthScan(cap_levels); }
inline void scan_free(DepthScan* s) { delete s; }
inline const Level* scan_level(const DepthScan* s, size_t i) { return &s->levels[i]; }

// The string inside a raw JSON token such as "0.0024" (quotes stripped); false if not a string.
static inline bool token_string(od::value& v, const char** p, int32_t* n) {
    std::string_view tok = v.raw_json_token();
    if (tok.size() < 2 || tok[0] != '"') return false;
    const char* start = tok.data() + 1;
    const char* end = static_cast<const char*>(std::memchr(start, '"', tok.size() - 1));
    if (!end) return false;
    *p = start;
    *n = static_cast<int32_t>(end - start);
    return true;
}

// [[price, qty], ...] -> levels of one side
static inline int scan_levels(DepthScan* s, od::value& v, int side) {
    od::array outer;
    if (v.get_array().get(outer)) return SCAN_BAD_SHAPE;
    for (auto item : outer) {
        od::array pair;
        if (item.get_array().get(pair)) return SCAN_BAD_SHAPE;
        if (s->n_levels >= s->max_levels) return SCAN_TOO_MANY;
        Level& L = s->levels[s->n_levels];
        int k = 0;
        for (auto el : pair) {
            od::value ev;
            if (std::move(el).get(ev)) return SCAN_BAD_SHAPE;
            if (k == 0) {
                if (!token_string(ev, &L.px, &L.px_len)) return SCAN_BAD_SHAPE;
            } else if (k == 1) {
                if (!token_string(ev, &L.qty, &L.qty_len)) return SCAN_BAD_SHAPE;
            }
            k++;
        }
        if (k < 2) return SCAN_BAD_SHAPE;
        L.side = side;
        s->n_levels++;
    }
    return SCAN_DEPTH;
}

// Binance spot / USD-M "depthUpdate" event object (raw stream, or the "data" of a combined one).
static int scan_binance_event(DepthScan* s, od::object& obj) {
    bool depth = false;
    bool have_U = false, have_u = false;
    int rc;
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return SCAN_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k.size() == 1) {
            switch (k[0]) {
            case 'e': {
                std::string_view e;
                if (f.value().get_string().get(e)) return SCAN_BAD_SHAPE;
                if (e != "depthUpdate") return SCAN_OTHER;
                depth = true;
                break;
            }
            case 'E':
                if (f.value().get_int64().get(s->event_ms)) return SCAN_BAD_SHAPE;
                break;
            case 'T':
                if (f.value().get_int64().get(s->transact_ms)) return SCAN_BAD_SHAPE;
                break;
            case 's':
                if (!token_string(f.value(), &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
                break;
            case 'U':
                if (f.value().get_int64().get(s->first_id)) return SCAN_BAD_SHAPE;
                have_U = true;
                break;
            case 'u':
                if (f.value().get_int64().get(s->final_id)) return SCAN_BAD_SHAPE;
                have_u = true;
                break;
            case 'b':
                if (!depth) return SCAN_OTHER;
                rc = scan_levels(s, f.value(), 0);
                if (rc != SCAN_DEPTH) return rc;
                break;
            case 'a':
                if (!depth) return SCAN_OTHER;
                rc = scan_levels(s, f.value(), 1);
                if (rc != SCAN_DEPTH) return rc;
                break;
            default:
                break;  // unread fields are skipped by the iterator
            }
        } else if (k == "pu") {
            if (f.value().get_int64().get(s->prev_final_id)) return SCAN_BAD_SHAPE;
        }
    }
    if (!depth) return SCAN_OTHER;
    if (!have_U || !have_u || s->sym == nullptr) return SCAN_BAD_SHAPE;
    return SCAN_DEPTH;
}

static inline void scan_reset(DepthScan* s) {
    s->n_levels = 0;
    s->first_id = 0;
    s->final_id = 0;
    s->prev_final_id = -1;
    s->event_ms = 0;
    s->transact_ms = 0;
    s->sym = nullptr;
    s->sym_len = 0;
    s->snapshot = 0;
    s->has_seq = 0;
    s->has_checksum = 0;
    s->checksum = 0;
    s->cross_seq = 0;
}

static inline int scan_load(DepthScan* s, const char* msg, size_t len, od::document& doc) {
    if (s->buf.size() < len + simdjson::SIMDJSON_PADDING) s->buf.resize(len + simdjson::SIMDJSON_PADDING);
    std::memcpy(s->buf.data(), msg, len);
    std::memset(s->buf.data() + len, 0, simdjson::SIMDJSON_PADDING);
    if (s->parser.iterate(s->buf.data(), len, s->buf.size()).get(doc)) return SCAN_BAD_JSON;
    return SCAN_DEPTH;
}

// Binance depth diff, raw ({"e":"depthUpdate",...}) or combined ({"stream":...,"data":{...}}).
inline int scan_binance_depth(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    scan_reset(s);
    if (len == 0 || msg[0] != '{') {
        // not an object: still tell malformed input apart from a valid non-object (e.g. "[]")
        if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
        od::json_type t;
        if (doc.type().get(t)) return SCAN_BAD_JSON;
        return SCAN_OTHER;
    }
    if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
    if (doc.get_object().get(obj)) return SCAN_BAD_JSON;
    // combined-stream wrapper: {"stream": "...", "data": {...}}
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return SCAN_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "stream") {
            continue;
        } else if (k == "data") {
            od::object inner;
            if (f.value().get_object().get(inner)) return SCAN_OTHER;
            return scan_binance_event(s, inner);
        } else {
            // a raw event: restart on the whole object
            if (doc.rewind(), doc.get_object().get(obj)) return SCAN_BAD_JSON;
            return scan_binance_event(s, obj);
        }
    }
    return SCAN_OTHER;
}


// ---- OKX v5 books channels ------------------------------------------------------------------

// Digits of a JSON string such as "1597026383085" to an int64 (OKX sends ts as a string).
static inline bool token_digits(od::value& v, int64_t* out) {
    const char* p;
    int32_t n;
    if (!token_string(v, &p, &n) || n == 0 || n > 18) return false;
    int64_t x = 0;
    for (int32_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        x = x * 10 + (p[i] - '0');
    }
    *out = x;
    return true;
}

static int scan_okx_item(DepthScan* s, od::object& d) {
    bool have_seq = false, have_prev = false;
    int rc;
    for (auto fr : d) {
        od::field f;
        if (std::move(fr).get(f)) return SCAN_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "asks") {
            rc = scan_levels(s, f.value(), 1);
            if (rc != SCAN_DEPTH) return rc;
        } else if (k == "bids") {
            rc = scan_levels(s, f.value(), 0);
            if (rc != SCAN_DEPTH) return rc;
        } else if (k == "ts") {
            if (!token_digits(f.value(), &s->event_ms)) return SCAN_BAD_SHAPE;
        } else if (k == "checksum") {
            if (f.value().get_int64().get(s->checksum)) return SCAN_BAD_SHAPE;
            s->has_checksum = 1;
        } else if (k == "seqId") {
            if (f.value().get_int64().get(s->final_id)) return SCAN_BAD_SHAPE;
            have_seq = true;
        } else if (k == "prevSeqId") {
            if (f.value().get_int64().get(s->prev_final_id)) return SCAN_BAD_SHAPE;
            have_prev = true;
        }
    }
    if (have_seq != have_prev) return SCAN_BAD_SHAPE;
    s->has_seq = have_seq ? 1 : 0;
    return SCAN_DEPTH;
}

// Is this an incremental OKX order-book channel (books, books-l2-tbt, books50-l2-tbt, books-elp...)?
// books5 and bbo-tbt are whole-book snapshots without seqId chaining: not depth diffs here.
static inline bool okx_book_channel(std::string_view c) {
    return c.size() >= 5 && c.compare(0, 5, "books") == 0 && c != "books5";
}

// {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot"|"update","data":[{...}]}
inline int scan_okx_books(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    scan_reset(s);
    if (len == 0 || msg[0] != '{') {
        if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
        od::json_type t;
        if (doc.type().get(t)) return SCAN_BAD_JSON;
        return SCAN_OTHER;   // e.g. the text "pong" fails above; "[]" lands here
    }
    if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
    if (doc.get_object().get(obj)) return SCAN_BAD_JSON;
    int channel = -1;     // -1 unknown, 0 not a book channel, 1 book channel
    bool have_action = false, have_data = false;
    int rc;
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return SCAN_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "arg") {
            od::object arg;
            if (f.value().get_object().get(arg)) return SCAN_BAD_SHAPE;
            for (auto ar : arg) {
                od::field af;
                if (std::move(ar).get(af)) return SCAN_BAD_JSON;
                std::string_view ak = af.escaped_key();
                if (ak == "channel") {
                    std::string_view c;
                    if (af.value().get_string().get(c)) return SCAN_BAD_SHAPE;
                    channel = okx_book_channel(c) ? 1 : 0;
                } else if (ak == "instId") {
                    if (!token_string(af.value(), &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
                }
            }
            if (channel == 0) return SCAN_OTHER;
        } else if (k == "action") {
            std::string_view a;
            if (f.value().get_string().get(a)) return SCAN_BAD_SHAPE;
            if (a == "snapshot") s->snapshot = 1;
            else if (a != "update") return SCAN_BAD_SHAPE;
            have_action = true;
        } else if (k == "data") {
            if (channel == 0) return SCAN_OTHER;
            od::array items;
            if (f.value().get_array().get(items)) return SCAN_BAD_SHAPE;
            for (auto it : items) {
                od::object d;
                if (it.get_object().get(d)) return SCAN_BAD_SHAPE;
                rc = scan_okx_item(s, d);
                if (rc != SCAN_DEPTH) return rc;
                have_data = true;
            }
        } else if (k == "event" || k == "op") {
            return SCAN_OTHER;   // subscribe / error / login acknowledgements
        }
    }
    if (channel != 1 || !have_action) return SCAN_OTHER;
    if (!have_data || s->sym == nullptr) return SCAN_BAD_SHAPE;
    s->first_id = s->final_id;
    return SCAN_DEPTH;
}

// ---- Bybit v5 orderbook.{depth}.{symbol} ---------------------------------------------------

static int scan_bybit_data(DepthScan* s, od::object& d, bool* have_u) {
    int rc;
    for (auto fr : d) {
        od::field f;
        if (std::move(fr).get(f)) return SCAN_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k.size() == 1) {
            switch (k[0]) {
            case 's':
                if (!token_string(f.value(), &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
                break;
            case 'b':
                rc = scan_levels(s, f.value(), 0);
                if (rc != SCAN_DEPTH) return rc;
                break;
            case 'a':
                rc = scan_levels(s, f.value(), 1);
                if (rc != SCAN_DEPTH) return rc;
                break;
            case 'u':
                if (f.value().get_int64().get(s->final_id)) return SCAN_BAD_SHAPE;
                *have_u = true;
                break;
            default:
                break;
            }
        } else if (k == "seq") {
            if (f.value().get_int64().get(s->cross_seq)) return SCAN_BAD_SHAPE;
        }
    }
    return SCAN_DEPTH;
}

// {"topic":"orderbook.50.BTCUSDT","type":"snapshot"|"delta","ts":..,"data":{"s","b","a","u","seq"},"cts":..}
inline int scan_bybit_orderbook(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    scan_reset(s);
    if (len == 0 || msg[0] != '{') {
        if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
        od::json_type t;
        if (doc.type().get(t)) return SCAN_BAD_JSON;
        return SCAN_OTHER;
    }
    if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
    if (doc.get_object().get(obj)) return SCAN_BAD_JSON;
    int book = -1;
    bool have_type = false, have_data = false, have_u = false;
    int rc;
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return SCAN_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "topic") {
            std::string_view t;
            if (f.value().get_string().get(t)) return SCAN_BAD_SHAPE;
            book = (t.size() > 10 && t.compare(0, 10, "orderbook.") == 0) ? 1 : 0;
            if (!book) return SCAN_OTHER;
        } else if (k == "type") {
            std::string_view t;
            if (f.value().get_string().get(t)) return SCAN_BAD_SHAPE;
            if (t == "snapshot") s->snapshot = 1;
            else if (t != "delta") return book == 1 ? SCAN_BAD_SHAPE : SCAN_OTHER;
            have_type = true;
        } else if (k == "ts") {
            if (f.value().get_int64().get(s->event_ms)) return SCAN_BAD_SHAPE;
        } else if (k == "cts") {
            if (f.value().get_int64().get(s->transact_ms)) return SCAN_BAD_SHAPE;
        } else if (k == "data") {
            if (book == 0) return SCAN_OTHER;
            od::object d;
            if (f.value().get_object().get(d)) return book == 1 ? SCAN_BAD_SHAPE : SCAN_OTHER;
            rc = scan_bybit_data(s, d, &have_u);
            if (rc != SCAN_DEPTH) return rc;
            have_data = true;
        } else if (k == "op" || k == "success" || k == "retCode") {
            return SCAN_OTHER;   // subscribe / ping / auth acknowledgements
        }
    }
    if (book != 1) return SCAN_OTHER;
    if (!have_type || !have_data || !have_u || s->sym == nullptr) return SCAN_BAD_SHAPE;
    if (s->final_id == 1) s->snapshot = 1;   // u == 1: service restart, overwrite the book
    s->first_id = s->final_id;
    return SCAN_DEPTH;
}

// ---- OKX legacy CRC32 checksum over the venue's own strings ---------------------------------

struct RawBook {
    std::map<int64_t, std::pair<std::string, std::string>, std::greater<int64_t>> bids;
    std::map<int64_t, std::pair<std::string, std::string>> asks;
    std::string text;
    bool active = false;   // raw strings are tracked (a snapshot carried a non-zero checksum)
};

inline RawBook* raw_new() { return new RawBook(); }
inline void raw_free(RawBook* r) { delete r; }
inline void raw_clear(RawBook* r) { r->bids.clear(); r->asks.clear(); }
inline size_t raw_size(const RawBook* r, int side) { return side == 0 ? r->bids.size() : r->asks.size(); }

inline void raw_set(RawBook* r, int side, int64_t px, int64_t qty, const Level* L) {
    if (side == 0) {
        if (qty == 0) { r->bids.erase(px); return; }
        auto& v = r->bids[px];
        v.first.assign(L->px, L->px_len);
        v.second.assign(L->qty, L->qty_len);
    } else {
        if (qty == 0) { r->asks.erase(px); return; }
        auto& v = r->asks[px];
        v.first.assign(L->px, L->px_len);
        v.second.assign(L->qty, L->qty_len);
    }
}

struct Crc32Table {
    uint32_t v[256];
    Crc32Table() {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
            v[i] = c;
        }
    }
};

static inline const uint32_t* crc32_table() {
    static const Crc32Table table;   // thread-safe one-time initialisation (C++11)
    return table.v;
}

// zlib-compatible CRC32 (IEEE 802.3, reflected, init/xorout 0xFFFFFFFF)
inline uint32_t crc32_ieee(const char* p, size_t n) {
    const uint32_t* t = crc32_table();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = t[(c ^ static_cast<uint8_t>(p[i])) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

// OKX: "bid1px:bid1sz:ask1px:ask1sz:bid2px:..." over the top `depth` levels of each side (a side
// that runs out is skipped), CRC32, read as a signed 32-bit integer.
inline int64_t raw_checksum(RawBook* r, int depth) {
    std::string& t = r->text;
    t.clear();
    auto b = r->bids.begin();
    auto a = r->asks.begin();
    for (int i = 0; i < depth; i++) {
        bool hb = b != r->bids.end(), ha = a != r->asks.end();
        if (!hb && !ha) break;
        if (hb) {
            if (!t.empty()) t.push_back(':');
            t += b->second.first; t.push_back(':'); t += b->second.second;
            ++b;
        }
        if (ha) {
            if (!t.empty()) t.push_back(':');
            t += a->second.first; t.push_back(':'); t += a->second.second;
            ++a;
        }
    }
    return static_cast<int32_t>(crc32_ieee(t.data(), t.size()));
}

// checksum of an explicit string (tests: the published worked example)
inline int64_t checksum_text(const char* p, size_t n) {
    return static_cast<int32_t>(crc32_ieee(p, n));
}

}  // namespace skwire
