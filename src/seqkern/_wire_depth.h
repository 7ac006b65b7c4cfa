// Venue depth-message scanners: raw websocket bytes -> header fields + level string views (simdjson on-demand).
//
// One scanner function per venue format fills the same SkDepthScan; the Cython side (_wire.pyx)
// turns the level strings into fixed-point with parse_decimal and applies them to an L2Book,
// so no Python object is created per level. Level pointers point into the scan's padded copy of
// the message and stay valid until the next scan.
#pragma once
#include <cstring>
#include <cstdint>
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

}  // namespace skwire
