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
    SCAN_STREAM_GAP = -4, // cex4: a connection-wide sequence number skipped (Coinbase sequence_num)
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
    // ---- cex4 block: in-stream snapshot venues (Coinbase, Kraken, Bitget, Crypto.com) ----
    int32_t snapshot = 0;       // 1: the message is a full book (replace), not a diff
    int32_t has_checksum = 0;   // 1: `checksum` was sent with the message
    int64_t checksum = 0;       // venue checksum as sent (Kraken unsigned 32-bit, Bitget signed)
    int64_t event_ns = 0;       // event time in ns (venues sending RFC3339 times); 0 = use event_ms
    int32_t px_dec = 0;         // most fractional digits seen in this message's prices
    int32_t qty_dec = 0;        // ... and in its quantities
    int64_t stream_seq = -1;    // Coinbase: last envelope sequence_num on this connection (kept across scans)
    int32_t stream_gap = 0;     // 1: this message's sequence_num did not follow stream_seq
    // ---- end cex4 block ----

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
    s->snapshot = 0;       // cex4 block
    s->has_checksum = 0;
    s->checksum = 0;
    s->event_ns = 0;
    s->px_dec = 0;
    s->qty_dec = 0;
    s->stream_gap = 0;
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

// ================================================================================================
// cex4 block: Coinbase Advanced Trade, Kraken WS v2, Bitget v2 spot, Crypto.com Exchange v1.
// These venues send the book snapshot in-stream (DepthScan.snapshot = 1) and resync by
// resubscribing; Kraken and Bitget carry a CRC32 checksum that is verified in C after applying.
// ================================================================================================

static inline int32_t frac_digits(const char* p, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            int32_t k = 0;
            for (int32_t j = i + 1; j < n && p[j] >= '0' && p[j] <= '9'; j++) k++;
            return k;
        }
    }
    return 0;
}

static inline void note_decimals(DepthScan* s, const Level& L) {
    int32_t d = frac_digits(L.px, L.px_len);
    if (d > s->px_dec) s->px_dec = d;
    d = frac_digits(L.qty, L.qty_len);
    if (d > s->qty_dec) s->qty_dec = d;
}

// A JSON number token (Kraken v2 prices and sizes), or a string holding one.
static inline bool token_decimal(od::value& v, const char** p, int32_t* n) {
    std::string_view tok = v.raw_json_token();
    if (tok.empty()) return false;
    if (tok[0] == '"') return token_string(v, p, n);
    size_t k = 0;
    while (k < tok.size() && ((tok[k] >= '0' && tok[k] <= '9') || tok[k] == '.' || tok[k] == '-' ||
                              tok[k] == 'e' || tok[k] == 'E' || tok[k] == '+')) k++;
    if (k == 0) return false;
    *p = tok.data();
    *n = static_cast<int32_t>(k);
    return true;
}

static inline int64_t parse_ascii_int(const char* p, int32_t n, bool* ok) {
    int64_t v = 0;
    bool neg = false;
    int32_t i = 0;
    if (n > 0 && p[0] == '-') { neg = true; i = 1; }
    if (i >= n) { *ok = false; return 0; }
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') { *ok = false; return 0; }
        v = v * 10 + (p[i] - '0');
    }
    *ok = true;
    return neg ? -v : v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (civil-from-days inverse).
static inline int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

// "2023-10-06T17:35:55.440295Z" (Z or +00:00, up to 9 fraction digits) -> ns since epoch; 0 if unreadable.
static inline int64_t parse_rfc3339_ns(const char* p, int32_t n) {
    if (n < 20) return 0;
    auto dig = [&](int32_t i, int32_t k) -> int64_t {
        int64_t v = 0;
        for (int32_t j = i; j < i + k; j++) {
            if (p[j] < '0' || p[j] > '9') return -1;
            v = v * 10 + (p[j] - '0');
        }
        return v;
    };
    int64_t y = dig(0, 4), mo = dig(5, 2), d = dig(8, 2), h = dig(11, 2), mi = dig(14, 2), se = dig(17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || mi < 0 || se < 0) return 0;
    int64_t frac = 0;
    int32_t i = 19, nd = 0;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (nd < 9) { frac = frac * 10 + (p[i] - '0'); nd++; }
            i++;
        }
    }
    while (nd < 9) { frac *= 10; nd++; }
    return ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) * 1000000000LL) + frac;
}

// ---- CRC32 (ISO-HDLC / zlib polynomial 0xEDB88320), as Kraken and Bitget compute it ----
static inline const uint32_t* crc32_table() {
    static uint32_t table[256];
    static bool ready = false;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = true;
    }
    return table;
}

inline uint32_t crc32_bytes(const char* p, size_t n) {
    const uint32_t* t = crc32_table();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = t[(c ^ static_cast<uint8_t>(p[i])) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static const int64_t POW10[19] = {1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
    100000000LL, 1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL};

// Append the unsigned decimal digits of v (no leading zeros; "0" for zero).
static inline char* put_uint(char* w, uint64_t v) {
    char tmp[24];
    int k = 0;
    do { tmp[k++] = static_cast<char>('0' + v % 10); v /= 10; } while (v);
    while (k) *w++ = tmp[--k];
    return w;
}

// Fixed-point value (scale 10^digits) written with exactly `dec` fraction digits ("26275.0", "0.0500").
static inline char* put_fixed(char* w, int64_t v, int digits, int dec) {
    if (v < 0) { *w++ = '-'; v = -v; }
    int64_t scaled = dec <= digits ? v / POW10[digits - dec] : v * POW10[dec - digits];
    if (dec == 0) return put_uint(w, static_cast<uint64_t>(scaled));
    w = put_uint(w, static_cast<uint64_t>(scaled / POW10[dec]));
    *w++ = '.';
    int64_t f = scaled % POW10[dec];
    for (int k = dec - 1; k >= 0; k--) { *w++ = static_cast<char>('0' + (f / POW10[k]) % 10); }
    return w;
}

// Kraken v2 book checksum: top 10 asks (low to high) then top 10 bids (high to low); each level is
// price then qty written at the instrument's precision with the point removed and leading zeros
// stripped; CRC32 of the concatenation, unsigned.
inline uint32_t kraken_book_crc(const int64_t* apx, const int64_t* aqty, size_t na,
                                const int64_t* bpx, const int64_t* bqty, size_t nb, int px_dec, int qty_dec) {
    char buf[20 * 48];
    char* w = buf;
    if (px_dec > 9) px_dec = 9;
    if (qty_dec > 8) qty_dec = 8;
    for (size_t i = 0; i < na && i < 10; i++) {
        w = put_uint(w, static_cast<uint64_t>(apx[i] / POW10[9 - px_dec]));
        w = put_uint(w, static_cast<uint64_t>(aqty[i] / POW10[8 - qty_dec]));
    }
    for (size_t i = 0; i < nb && i < 10; i++) {
        w = put_uint(w, static_cast<uint64_t>(bpx[i] / POW10[9 - px_dec]));
        w = put_uint(w, static_cast<uint64_t>(bqty[i] / POW10[8 - qty_dec]));
    }
    return crc32_bytes(buf, static_cast<size_t>(w - buf));
}

// Bitget (and OKX legacy) checksum: the first 25 levels interleaved bid px:bid sz:ask px:ask sz...,
// joined with ':', levels missing on the shorter side skipped; CRC32 read as a signed 32-bit int.
inline int32_t bitget_book_crc(const int64_t* bpx, const int64_t* bqty, size_t nb,
                               const int64_t* apx, const int64_t* aqty, size_t na, int px_dec, int qty_dec) {
    char buf[50 * 2 * 48];
    char* w = buf;
    bool first = true;
    if (px_dec > 9) px_dec = 9;
    if (qty_dec > 8) qty_dec = 8;
    for (size_t i = 0; i < 25; i++) {
        if (i < nb) {
            if (!first) *w++ = ':';
            first = false;
            w = put_fixed(w, bpx[i], 9, px_dec);
            *w++ = ':';
            w = put_fixed(w, bqty[i], 8, qty_dec);
        }
        if (i < na) {
            if (!first) *w++ = ':';
            first = false;
            w = put_fixed(w, apx[i], 9, px_dec);
            *w++ = ':';
            w = put_fixed(w, aqty[i], 8, qty_dec);
        }
    }
    return static_cast<int32_t>(crc32_bytes(buf, static_cast<size_t>(w - buf)));
}

// One level into the scan (pointers into the padded copy), with decimals noted.
static inline int push_level(DepthScan* s, const char* px, int32_t pn, const char* q, int32_t qn, int side) {
    if (s->n_levels >= s->max_levels) return SCAN_TOO_MANY;
    Level& L = s->levels[s->n_levels];
    L.px = px; L.px_len = pn; L.qty = q; L.qty_len = qn; L.side = side;
    note_decimals(s, L);
    s->n_levels++;
    return SCAN_DEPTH;
}

// [[px, qty(, more...)], ...] string pairs (Bitget, Crypto.com) with decimals noted.
static inline int scan_pairs_dec(DepthScan* s, od::value& v, int side) {
    size_t before = s->n_levels;
    int rc = scan_levels(s, v, side);
    if (rc != SCAN_DEPTH) return rc;
    for (size_t i = before; i < s->n_levels; i++) note_decimals(s, s->levels[i]);
    return SCAN_DEPTH;
}

static inline bool same_symbol(DepthScan* s, const char* p, int32_t n) {
    if (s->sym == nullptr) { s->sym = p; s->sym_len = n; return true; }
    return s->sym_len == n && std::memcmp(s->sym, p, static_cast<size_t>(n)) == 0;
}

static inline int load_object(DepthScan* s, const char* msg, size_t len, od::document& doc, od::object& obj) {
    if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
    od::json_type t;
    if (doc.type().get(t)) return SCAN_BAD_JSON;
    if (t != od::json_type::object) return SCAN_OTHER;
    if (doc.get_object().get(obj)) return SCAN_BAD_JSON;
    return SCAN_DEPTH;
}

// ---- Coinbase Advanced Trade: {"channel":"l2_data","timestamp","sequence_num","events":[...]} ----
// sequence_num counts every message of the connection (all channels): a skipped number is a
// connection-wide gap (SCAN_STREAM_GAP); the runner resubscribes the connection's books.
static int coinbase_updates(DepthScan* s, od::value& v) {
    od::array arr;
    if (v.get_array().get(arr)) return SCAN_BAD_SHAPE;
    for (auto item : arr) {
        od::object u;
        if (item.get_object().get(u)) return SCAN_BAD_SHAPE;
        int side = -1;
        const char *px = nullptr, *q = nullptr;
        int32_t pn = 0, qn = 0;
        for (auto fr : u) {
            od::field f;
            if (std::move(fr).get(f)) return SCAN_BAD_JSON;
            std::string_view k = f.escaped_key();
            if (k == "side") {
                std::string_view sv;
                if (f.value().get_string().get(sv)) return SCAN_BAD_SHAPE;
                side = (sv == "bid") ? 0 : (sv == "offer" || sv == "ask") ? 1 : -1;
            } else if (k == "price_level") {
                if (!token_string(f.value(), &px, &pn)) return SCAN_BAD_SHAPE;
            } else if (k == "new_quantity") {
                if (!token_string(f.value(), &q, &qn)) return SCAN_BAD_SHAPE;
            }
        }
        if (side < 0 || px == nullptr || q == nullptr) return SCAN_BAD_SHAPE;
        int rc = push_level(s, px, pn, q, qn, side);
        if (rc != SCAN_DEPTH) return rc;
    }
    return SCAN_DEPTH;
}

inline int scan_coinbase_l2(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    scan_reset(s);
    int rc = load_object(s, msg, len, doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    bool l2 = false, have_seq = false, have_events = false;
    int64_t seq = 0;
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return SCAN_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "channel") {
            std::string_view c;
            if (f.value().get_string().get(c)) return SCAN_BAD_SHAPE;
            l2 = (c == "l2_data");
        } else if (k == "sequence_num") {
            if (f.value().get_int64().get(seq)) return SCAN_BAD_SHAPE;
            have_seq = true;
        } else if (k == "timestamp") {
            const char* p; int32_t n;
            if (token_string(f.value(), &p, &n)) s->event_ns = parse_rfc3339_ns(p, n);
        } else if (k == "events" && l2) {
            od::array evs;
            if (f.value().get_array().get(evs)) return SCAN_BAD_SHAPE;
            for (auto er : evs) {
                od::object ev;
                if (er.get_object().get(ev)) return SCAN_BAD_SHAPE;
                for (auto gr : ev) {
                    od::field g;
                    if (std::move(gr).get(g)) return SCAN_BAD_JSON;
                    std::string_view gk = g.escaped_key();
                    if (gk == "type") {
                        std::string_view t;
                        if (g.value().get_string().get(t)) return SCAN_BAD_SHAPE;
                        if (t == "snapshot") s->snapshot = 1;
                    } else if (gk == "product_id") {
                        const char* p; int32_t n;
                        if (!token_string(g.value(), &p, &n)) return SCAN_BAD_SHAPE;
                        if (!same_symbol(s, p, n)) return SCAN_BAD_SHAPE;  // one product per message
                    } else if (gk == "updates") {
                        rc = coinbase_updates(s, g.value());
                        if (rc != SCAN_DEPTH) return rc;
                        have_events = true;
                    }
                }
            }
        }
    }
    if (have_seq) {
        if (s->stream_seq >= 0 && seq != s->stream_seq + 1) s->stream_gap = 1;
        s->stream_seq = seq;
        s->first_id = seq;
        s->final_id = seq;
    }
    if (s->stream_gap) return SCAN_STREAM_GAP;
    if (!l2) return SCAN_OTHER;
    if (!have_events || s->sym == nullptr || !have_seq) return SCAN_BAD_SHAPE;
    return SCAN_DEPTH;
}

// ---- Kraken WS v2: {"channel":"book","type":"snapshot"|"update","data":[{symbol,bids,asks,checksum,timestamp}]} ----
static int kraken_levels(DepthScan* s, od::value& v, int side) {
    od::array arr;
    if (v.get_array().get(arr)) return SCAN_BAD_SHAPE;
    for (auto item : arr) {
        od::object lv;
        if (item.get_object().get(lv)) return SCAN_BAD_SHAPE;
        const char *px = nullptr, *q = nullptr;
        int32_t pn = 0, qn = 0;
        for (auto fr : lv) {
            od::field f;
            if (std::move(fr).get(f)) return SCAN_BAD_JSON;
            std::string_view k = f.escaped_key();
            if (k == "price") {
                if (!token_decimal(f.value(), &px, &pn)) return SCAN_BAD_SHAPE;
            } else if (k == "qty") {
                if (!token_decimal(f.value(), &q, &qn)) return SCAN_BAD_SHAPE;
            }
        }
        if (px == nullptr || q == nullptr) return SCAN_BAD_SHAPE;
        int rc = push_level(s, px, pn, q, qn, side);
        if (rc != SCAN_DEPTH) return rc;
    }
    return SCAN_DEPTH;
}

inline int scan_kraken_book(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    scan_reset(s);
    int rc = load_object(s, msg, len, doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    bool book = false, have_data = false;
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return SCAN_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "channel") {
            std::string_view c;
            if (f.value().get_string().get(c)) return SCAN_BAD_SHAPE;
            if (c != "book") return SCAN_OTHER;
            book = true;
        } else if (k == "type") {
            std::string_view t;
            if (f.value().get_string().get(t)) return SCAN_BAD_SHAPE;
            s->snapshot = (t == "snapshot");
        } else if (k == "data") {
            if (!book) return SCAN_OTHER;
            od::array arr;
            if (f.value().get_array().get(arr)) return SCAN_BAD_SHAPE;
            for (auto item : arr) {
                od::object d;
                if (item.get_object().get(d)) return SCAN_BAD_SHAPE;
                if (have_data) return SCAN_BAD_SHAPE;   // one symbol per message (checksum is per book)
                have_data = true;
                for (auto gr : d) {
                    od::field g;
                    if (std::move(gr).get(g)) return SCAN_BAD_JSON;
                    std::string_view gk = g.escaped_key();
                    if (gk == "symbol") {
                        if (!token_string(g.value(), &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
                    } else if (gk == "bids") {
                        rc = kraken_levels(s, g.value(), 0);
                        if (rc != SCAN_DEPTH) return rc;
                    } else if (gk == "asks") {
                        rc = kraken_levels(s, g.value(), 1);
                        if (rc != SCAN_DEPTH) return rc;
                    } else if (gk == "checksum") {
                        uint64_t c;
                        if (g.value().get_uint64().get(c)) return SCAN_BAD_SHAPE;
                        s->checksum = static_cast<int64_t>(c);
                        s->has_checksum = 1;
                    } else if (gk == "timestamp") {
                        const char* p; int32_t n;
                        if (token_string(g.value(), &p, &n)) s->event_ns = parse_rfc3339_ns(p, n);
                    }
                }
            }
        }
    }
    if (!book) return SCAN_OTHER;
    if (!have_data || s->sym == nullptr) return SCAN_BAD_SHAPE;
    return SCAN_DEPTH;
}

// ---- Bitget v2: {"action":"snapshot"|"update","arg":{"instType","channel":"books","instId"},"data":[{asks,bids,checksum,seq,ts}]} ----
inline int scan_bitget_books(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    scan_reset(s);
    int rc = load_object(s, msg, len, doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    bool books = false, have_arg = false, have_data = false, have_action = false;
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return SCAN_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "action") {
            std::string_view a;
            if (f.value().get_string().get(a)) return SCAN_BAD_SHAPE;
            s->snapshot = (a == "snapshot");
            have_action = true;
        } else if (k == "event") {
            return SCAN_OTHER;                       // subscribe / error / login answers
        } else if (k == "arg") {
            od::object arg;
            if (f.value().get_object().get(arg)) return SCAN_BAD_SHAPE;
            have_arg = true;
            for (auto gr : arg) {
                od::field g;
                if (std::move(gr).get(g)) return SCAN_BAD_JSON;
                std::string_view gk = g.escaped_key();
                if (gk == "channel") {
                    std::string_view c;
                    if (g.value().get_string().get(c)) return SCAN_BAD_SHAPE;
                    if (c != "books") return SCAN_OTHER;   // books1/5/15 are snapshot-only feeds
                    books = true;
                } else if (gk == "instId") {
                    if (!token_string(g.value(), &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
                }
            }
        } else if (k == "data") {
            if (!books) return SCAN_OTHER;
            od::array arr;
            if (f.value().get_array().get(arr)) return SCAN_BAD_SHAPE;
            for (auto item : arr) {
                od::object d;
                if (item.get_object().get(d)) return SCAN_BAD_SHAPE;
                if (have_data) return SCAN_BAD_SHAPE;
                have_data = true;
                for (auto gr : d) {
                    od::field g;
                    if (std::move(gr).get(g)) return SCAN_BAD_JSON;
                    std::string_view gk = g.escaped_key();
                    if (gk == "asks") {
                        rc = scan_pairs_dec(s, g.value(), 1);
                        if (rc != SCAN_DEPTH) return rc;
                    } else if (gk == "bids") {
                        rc = scan_pairs_dec(s, g.value(), 0);
                        if (rc != SCAN_DEPTH) return rc;
                    } else if (gk == "checksum") {
                        if (g.value().get_int64().get(s->checksum)) return SCAN_BAD_SHAPE;
                        s->has_checksum = 1;
                    } else if (gk == "seq") {
                        if (g.value().get_int64().get(s->final_id)) return SCAN_BAD_SHAPE;
                        s->first_id = s->final_id;
                    } else if (gk == "ts") {
                        const char* p; int32_t n;
                        bool ok = false;
                        if (token_string(g.value(), &p, &n)) s->event_ms = parse_ascii_int(p, n, &ok);
                        if (!ok) s->event_ms = 0;
                    }
                }
            }
        }
    }
    if (!books) return SCAN_OTHER;
    if (!have_arg || !have_data || !have_action || s->sym == nullptr) return SCAN_BAD_SHAPE;
    if (s->snapshot && s->checksum == 0) s->has_checksum = 0;   // snapshots may carry 0: not verified
    return SCAN_DEPTH;
}

// ---- Crypto.com v1: {"id":-1,"method":"subscribe","code":0,"result":{"instrument_name","channel":"book"|"book.update","data":[...]}} ----
static int cryptocom_data(DepthScan* s, od::value& v, bool update) {
    od::array arr;
    if (v.get_array().get(arr)) return SCAN_BAD_SHAPE;
    bool have = false, have_u = false, have_pu = false;
    int rc;
    for (auto item : arr) {
        od::object d;
        if (item.get_object().get(d)) return SCAN_BAD_SHAPE;
        if (have) return SCAN_BAD_SHAPE;
        have = true;
        for (auto gr : d) {
            od::field g;
            if (std::move(gr).get(g)) return SCAN_BAD_JSON;
            std::string_view gk = g.escaped_key();
            if (gk == "asks" && !update) {
                rc = scan_pairs_dec(s, g.value(), 1);
                if (rc != SCAN_DEPTH) return rc;
            } else if (gk == "bids" && !update) {
                rc = scan_pairs_dec(s, g.value(), 0);
                if (rc != SCAN_DEPTH) return rc;
            } else if (gk == "update" && update) {
                od::object up;
                if (g.value().get_object().get(up)) return SCAN_BAD_SHAPE;
                for (auto hr : up) {
                    od::field h;
                    if (std::move(hr).get(h)) return SCAN_BAD_JSON;
                    std::string_view hk = h.escaped_key();
                    if (hk == "asks") {
                        rc = scan_pairs_dec(s, h.value(), 1);
                        if (rc != SCAN_DEPTH) return rc;
                    } else if (hk == "bids") {
                        rc = scan_pairs_dec(s, h.value(), 0);
                        if (rc != SCAN_DEPTH) return rc;
                    }
                }
            } else if (gk == "u") {
                if (g.value().get_int64().get(s->final_id)) return SCAN_BAD_SHAPE;
                have_u = true;
            } else if (gk == "pu") {
                if (g.value().get_int64().get(s->prev_final_id)) return SCAN_BAD_SHAPE;
                have_pu = true;
            } else if (gk == "t") {
                if (g.value().get_int64().get(s->event_ms)) return SCAN_BAD_SHAPE;
            }
        }
    }
    if (!have || !have_u || (update && !have_pu)) return SCAN_BAD_SHAPE;
    s->first_id = update ? s->prev_final_id + 1 : s->final_id;
    return SCAN_DEPTH;
}

inline int scan_cryptocom_book(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    scan_reset(s);
    int rc = load_object(s, msg, len, doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return SCAN_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "code") {
            int64_t code;
            if (f.value().get_int64().get(code)) return SCAN_BAD_SHAPE;
            if (code != 0) return SCAN_OTHER;
        } else if (k == "result") {
            od::object r;
            if (f.value().get_object().get(r)) return SCAN_OTHER;
            int kind = 0;   // 1 snapshot, 2 update
            bool have_data = false;
            for (auto gr : r) {
                od::field g;
                if (std::move(gr).get(g)) return SCAN_BAD_JSON;
                std::string_view gk = g.escaped_key();
                if (gk == "instrument_name") {
                    if (!token_string(g.value(), &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
                } else if (gk == "channel") {
                    std::string_view c;
                    if (g.value().get_string().get(c)) return SCAN_BAD_SHAPE;
                    if (c == "book") kind = 1;
                    else if (c == "book.update") kind = 2;
                    else return SCAN_OTHER;
                } else if (gk == "data") {
                    if (kind == 0) return SCAN_OTHER;
                    rc = cryptocom_data(s, g.value(), kind == 2);
                    if (rc != SCAN_DEPTH) return rc;
                    have_data = true;
                }
            }
            if (kind == 0) return SCAN_OTHER;
            if (!have_data || s->sym == nullptr) return SCAN_BAD_SHAPE;
            s->snapshot = (kind == 1);
            return SCAN_DEPTH;
        }
    }
    return SCAN_OTHER;
}
// ---- end cex4 block ----

}  // namespace skwire
