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
// simdjson's on-demand front end compiles against one CPU target, its "builtin" implementation,
// which is the scalar fallback unless the build targets a newer CPU. On x86-64 we select the AVX2
// (haswell) kernels: simdjson compiles them inside a target region, and scan_new checks at run
// time that the CPU has AVX2 (every x86 server since 2013) and refuses to scan otherwise.
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(SIMDJSON_BUILTIN_IMPLEMENTATION)
#define SIMDJSON_BUILTIN_IMPLEMENTATION haswell
#define SKWIRE_REQUIRES_HASWELL 1
#endif
#include "simdjson.h"
#include <stdexcept>

namespace skwire {

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

struct DepthScan;
typedef int (*scan_fn)(DepthScan* s, const char* msg, size_t len);

struct DepthScan {
    void* parser = nullptr;     // the on-demand parser of the implementation chosen at runtime
    void (*free_parser)(void*) = nullptr;
    scan_fn binance = nullptr;  // scanner per venue format
    scan_fn okx = nullptr;
    scan_fn bybit = nullptr;
    scan_fn coinbase = nullptr; // cex4 block
    scan_fn kraken = nullptr;
    scan_fn bitget = nullptr;
    scan_fn cryptocom = nullptr;
    const char* impl = "";
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
    bool has_pu = false;        // USD-M events carry "T" and "pu"; spot events never do
    int32_t snapshot = 0;       // OKX action "snapshot", Bybit type "snapshot" or u == 1: replace the book
    int32_t has_seq = 0;        // OKX: seqId/prevSeqId present (legacy recordings may lack them)
    int32_t has_checksum = 0;   // OKX: a "checksum" field was present
    int64_t checksum = 0;       // OKX: its value (0 = deprecated / not to be checked)
    int64_t cross_seq = 0;      // Bybit "seq" (cross sequence, monotonic, not contiguous)
    // ---- cex4 block (Coinbase, Kraken, Bitget, Crypto.com; snapshot / has_checksum / checksum above) ----
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

inline const Level* scan_level(const DepthScan* s, size_t i) { return &s->levels[i]; }

}  // namespace skwire


#ifdef SKWIRE_REQUIRES_HASWELL
SIMDJSON_TARGET_REGION("avx2,bmi,pclmul,lzcnt,popcnt")
#endif
#include "_scan_common.h"   // inside the target region: the shared helpers inline into the scanners
namespace skwire {
namespace scan {

namespace od = simdjson::ondemand;

// Small wrappers standing for code the scanners repeat: always inlined, so that each keeps its key
// a compile-time constant and its call into the level reader direct, as if written out in place.
#define SKWIRE_INLINE inline __attribute__((always_inline))

inline void* new_parser() {
    od::parser* p = new od::parser();
    (void)p->allocate(1 << 16);   // grows on demand past 64 KiB; no reallocation churn below
    return p;
}
inline void free_parser(void* p) { delete static_cast<od::parser*>(p); }

// Field lookups: skscan::find_field (every step checked, also when it wraps around) and a typed read
// of the value; the first error is returned and the caller stops using the object.
static SKWIRE_INLINE simdjson::error_code field_i64(od::object& o, std::string_view key, int64_t& out) {
    od::value v;
    auto err = skscan::find_field(o, key, v);
    return err ? err : v.get_int64().get(out);
}
static SKWIRE_INLINE simdjson::error_code field_str(od::object& o, std::string_view key, std::string_view& out) {
    od::value v;
    auto err = skscan::find_field(o, key, v);
    return err ? err : v.get_string().get(out);
}
static SKWIRE_INLINE simdjson::error_code field_obj(od::object& o, std::string_view key, od::object& out) {
    od::value v;
    auto err = skscan::find_field(o, key, v);
    return err ? err : v.get_object().get(out);
}
static SKWIRE_INLINE simdjson::error_code field_arr(od::object& o, std::string_view key, od::array& out) {
    od::value v;
    auto err = skscan::find_field(o, key, v);
    return err ? err : v.get_array().get(out);
}

// The string inside a raw JSON token such as "0.0024" (quotes stripped); false if not a string.
static inline bool token_string(od::value& v, const char** p, int32_t* n) {
    return skscan::quoted(v.raw_json_token(), p, n);
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

// The [[price, qty], ...] array under `key` (required) -> levels of one side
static SKWIRE_INLINE int required_levels(DepthScan* s, od::object& obj, std::string_view key, int side) {
    od::value v;
    if (skscan::find_field(obj, key, v)) return SCAN_BAD_SHAPE;
    return scan_levels(s, v, side);
}

// Binance spot / USD-M "depthUpdate" event object (raw stream, or the "data" of a combined one).
// Fields are looked up by name (order-independent; `field` iteration is avoided because its
// std::pair base cannot be instantiated inside a CPU target region).
static inline int scan_binance_event(DepthScan* s, od::object& obj) {
    std::string_view e;
    od::value v;
    int rc;
    auto err = skscan::find_field(obj, "e", v);
    if (err == simdjson::NO_SUCH_FIELD) return SCAN_OTHER;
    if (err) return SCAN_BAD_JSON;
    if (v.get_string().get(e)) return SCAN_BAD_SHAPE;
    if (e != "depthUpdate") return SCAN_OTHER;
    if (field_i64(obj, "E", s->event_ms)) return SCAN_BAD_SHAPE;
    if (skscan::find_field(obj, "s", v) || !token_string(v, &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
    if (field_i64(obj, "U", s->first_id)) return SCAN_BAD_SHAPE;
    if (field_i64(obj, "u", s->final_id)) return SCAN_BAD_SHAPE;
    if (s->has_pu) {
        auto terr = field_i64(obj, "T", s->transact_ms);
        if (terr && terr != simdjson::NO_SUCH_FIELD) return SCAN_BAD_SHAPE;
        if (field_i64(obj, "pu", s->prev_final_id)) return SCAN_BAD_SHAPE;
    }
    if ((rc = required_levels(s, obj, "b", 0)) != SCAN_DEPTH) return rc;
    return required_levels(s, obj, "a", 1);
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
    s->event_ns = 0;       // cex4 block
    s->px_dec = 0;
    s->qty_dec = 0;
    s->stream_gap = 0;
}

static inline int scan_load(DepthScan* s, const char* msg, size_t len, od::document& doc) {
    return skscan::load_padded(*static_cast<od::parser*>(s->parser), s->buf, msg, len, doc) ? SCAN_DEPTH
                                                                                             : SCAN_BAD_JSON;
}

// Reset the scan, load the message and open its top-level object (SCAN_DEPTH); a message that is
// not an object (`object_start` false) is SCAN_OTHER when it is valid JSON, else SCAN_BAD_JSON.
static SKWIRE_INLINE int open_object(DepthScan* s, const char* msg, size_t len, bool object_start, od::document& doc,
                              od::object& obj) {
    scan_reset(s);
    if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
    if (!object_start) {
        od::json_type t;
        if (doc.type().get(t)) return SCAN_BAD_JSON;   // e.g. the text "pong"
        return SCAN_OTHER;   // valid JSON that is not an object: not a depth message
    }
    if (doc.get_object().get(obj)) return SCAN_BAD_JSON;
    return SCAN_DEPTH;
}

// Binance depth diff, raw ({"e":"depthUpdate",...}) or combined ({"stream":...,"data":{...}}).
static inline bool has_prefix_key(const char* msg, size_t len, const char* key, size_t klen) {
    size_t i = skscan::skip_ws(msg, len);
    if (i >= len || msg[i] != '{') return false;
    i = skscan::skip_ws(msg, len, i + 1);
    return len - i >= klen && std::memcmp(msg + i, key, klen) == 0;
}

inline int scan_binance_depth(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    int rc = open_object(s, msg, len, len != 0 && (msg[0] == '{' || msg[0] == ' ' || msg[0] == '\n'), doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    if (has_prefix_key(msg, len, "\"stream\"", 8)) {
        od::object inner;
        auto err = field_obj(obj, "data", inner);
        if (err == simdjson::NO_SUCH_FIELD || err == simdjson::INCORRECT_TYPE) return SCAN_OTHER;
        if (err) return SCAN_BAD_JSON;
        return scan_binance_event(s, inner);
    }
    return scan_binance_event(s, obj);
}


// ---- OKX v5 books channels ------------------------------------------------------------------

static inline bool scan_is_object(const char* msg, size_t len) {
    size_t i = skscan::skip_ws(msg, len);
    return i < len && msg[i] == '{';
}

// Digits of a JSON string such as "1597026383085" to an int64 (OKX sends ts as a string).
static inline bool token_digits(od::value& v, int64_t* out) {
    const char* p;
    int32_t n;
    return token_string(v, &p, &n) && n > 0 && n <= 18 && skscan::digits_i64(p, n, out);
}

// One element of "data": {"asks","bids","ts","checksum","prevSeqId","seqId"}
static inline int scan_okx_item(DepthScan* s, od::object& d) {
    od::value v;
    int rc;
    if ((rc = required_levels(s, d, "asks", 1)) != SCAN_DEPTH) return rc;
    if ((rc = required_levels(s, d, "bids", 0)) != SCAN_DEPTH) return rc;
    if (skscan::find_field(d, "ts", v) || !token_digits(v, &s->event_ms)) return SCAN_BAD_SHAPE;
    auto err = field_i64(d, "checksum", s->checksum);
    if (!err) s->has_checksum = 1;
    else if (err != simdjson::NO_SUCH_FIELD) return SCAN_BAD_SHAPE;
    auto e1 = field_i64(d, "prevSeqId", s->prev_final_id);
    if (e1 && e1 != simdjson::NO_SUCH_FIELD) return SCAN_BAD_SHAPE;   // stop: no lookup after a failure
    auto e2 = field_i64(d, "seqId", s->final_id);
    if (e1 == simdjson::NO_SUCH_FIELD && e2 == simdjson::NO_SUCH_FIELD) {
        s->has_seq = 0;              // a legacy recording: the checksum is the only check
        s->prev_final_id = -1;
        s->final_id = 0;
    } else if (e1 || e2) {
        return SCAN_BAD_SHAPE;
    } else {
        s->has_seq = 1;
    }
    return SCAN_DEPTH;
}

// Is this an incremental OKX order-book channel (books, books-l2-tbt, books50-l2-tbt, books-elp...)?
// books5 and bbo-tbt are whole-book pushes without seqId chaining: not depth diffs here.
static inline bool okx_book_channel(std::string_view c) {
    return c.size() >= 5 && c.compare(0, 5, "books") == 0 && c != "books5";
}

// {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot"|"update","data":[{...}]}
inline int scan_okx_books(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    od::object arg;
    od::value v;
    std::string_view sv;
    int rc = open_object(s, msg, len, scan_is_object(msg, len), doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    auto err = field_obj(obj, "arg", arg);
    if (err == simdjson::NO_SUCH_FIELD || err == simdjson::INCORRECT_TYPE) return SCAN_OTHER;
    if (err) return SCAN_BAD_JSON;
    if (field_str(arg, "channel", sv)) return SCAN_OTHER;
    if (!okx_book_channel(sv)) return SCAN_OTHER;
    if (skscan::find_field(arg, "instId", v) || !token_string(v, &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
    err = field_str(obj, "action", sv);
    if (err == simdjson::NO_SUCH_FIELD) return SCAN_OTHER;   // subscribe acks carry the arg, no action
    if (err) return SCAN_BAD_SHAPE;
    if (sv == "snapshot") s->snapshot = 1;
    else if (sv != "update") return SCAN_BAD_SHAPE;
    od::array items;
    if (field_arr(obj, "data", items)) return SCAN_BAD_SHAPE;
    bool any = false;
    for (auto it : items) {
        od::object d;
        if (it.get_object().get(d)) return SCAN_BAD_SHAPE;
        rc = scan_okx_item(s, d);
        if (rc != SCAN_DEPTH) return rc;
        any = true;
    }
    if (!any) return SCAN_BAD_SHAPE;
    s->first_id = s->final_id;
    return SCAN_DEPTH;
}

// ---- Bybit v5 orderbook.{depth}.{symbol} ---------------------------------------------------

// {"topic":"orderbook.50.BTCUSDT","type":"snapshot"|"delta","ts":..,"data":{"s","b","a","u","seq"},"cts":..}
// (spot puts "ts" before "type": fields are looked up by name, so the order does not matter)
inline int scan_bybit_orderbook(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    od::object d;
    od::value v;
    std::string_view sv;
    int rc = open_object(s, msg, len, scan_is_object(msg, len), doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    auto err = field_str(obj, "topic", sv);
    if (err == simdjson::NO_SUCH_FIELD || err == simdjson::INCORRECT_TYPE) return SCAN_OTHER;   // acks, pongs
    if (err) return SCAN_BAD_JSON;
    if (!(sv.size() > 10 && sv.compare(0, 10, "orderbook.") == 0)) return SCAN_OTHER;
    if (field_str(obj, "type", sv)) return SCAN_BAD_SHAPE;
    if (sv == "snapshot") s->snapshot = 1;
    else if (sv != "delta") return SCAN_BAD_SHAPE;
    if (field_i64(obj, "ts", s->event_ms)) return SCAN_BAD_SHAPE;
    if (field_obj(obj, "data", d)) return SCAN_BAD_SHAPE;
    if (skscan::find_field(d, "s", v) || !token_string(v, &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
    if ((rc = required_levels(s, d, "b", 0)) != SCAN_DEPTH) return rc;
    if ((rc = required_levels(s, d, "a", 1)) != SCAN_DEPTH) return rc;
    if (field_i64(d, "u", s->final_id)) return SCAN_BAD_SHAPE;
    err = field_i64(d, "seq", s->cross_seq);
    if (err && err != simdjson::NO_SUCH_FIELD) return SCAN_BAD_SHAPE;
    err = field_i64(obj, "cts", s->transact_ms);
    if (err && err != simdjson::NO_SUCH_FIELD) return SCAN_BAD_SHAPE;
    if (s->final_id == 1) s->snapshot = 1;   // u == 1: service restart, overwrite the book
    s->first_id = s->final_id;
    return SCAN_DEPTH;
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
    int32_t i = (n > 0 && p[0] == '-') ? 1 : 0;
    *ok = i < n && skscan::digits_i64(p + i, n - i, &v);
    if (!*ok) return 0;
    return i ? -v : v;
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

// Reset the scan, load the message and open its top-level object (SCAN_DEPTH); SCAN_OTHER when it
// is JSON but not an object.
static inline int load_object(DepthScan* s, const char* msg, size_t len, od::document& doc, od::object& obj) {
    scan_reset(s);
    if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
    od::json_type t;
    if (doc.type().get(t)) return SCAN_BAD_JSON;
    if (t != od::json_type::object) return SCAN_OTHER;
    if (doc.get_object().get(obj)) return SCAN_BAD_JSON;
    return SCAN_DEPTH;
}

// Object fields are looked up by key (skscan::find_field, checked): iterating an object builds
// simdjson's field pair outside the AVX2 target region, which the compiler refuses to inline.
// A lookup that fails (FIELD_ERROR) ends the scan: the object is not used again.
enum : int { FIELD_OK = 0, FIELD_MISSING = 1, FIELD_ERROR = -1 };

static inline int get_field(od::object& o, std::string_view key, od::value& out) {
    auto err = skscan::find_field(o, key, out);
    if (!err) return FIELD_OK;
    if (err == simdjson::NO_SUCH_FIELD) return FIELD_MISSING;
    return FIELD_ERROR;
}

// A field that tells what the message is: SCAN_DEPTH when present, SCAN_OTHER when missing (another
// kind of message), SCAN_BAD_JSON when the lookup fails.
static SKWIRE_INLINE int envelope_field(od::object& o, std::string_view key, od::value& out) {
    int rc = get_field(o, key, out);
    if (rc == FIELD_ERROR) return SCAN_BAD_JSON;
    return rc == FIELD_MISSING ? SCAN_OTHER : SCAN_DEPTH;
}

// The levels under `key` when present, read by `read(s, value, side)` (SCAN_DEPTH or an error).
template <class Read>
static SKWIRE_INLINE int optional_levels(DepthScan* s, od::object& o, std::string_view key, int side, Read read) {
    od::value f;
    int rc = get_field(o, key, f);
    if (rc == FIELD_ERROR) return SCAN_BAD_JSON;
    if (rc == FIELD_OK) return read(s, f, side);
    return SCAN_DEPTH;
}

// ---- Coinbase Advanced Trade: {"channel":"l2_data","timestamp","sequence_num","events":[...]} ----
// sequence_num counts every message of the connection (all channels): a skipped number is a
// connection-wide gap (SCAN_STREAM_GAP); the runner resubscribes the connection's books.
static int coinbase_updates(DepthScan* s, od::value& v) {
    od::array arr;
    if (v.get_array().get(arr)) return SCAN_BAD_SHAPE;
    for (auto item : arr) {
        od::value iv;
        od::object u;
        if (item.get(iv) || iv.get_object().get(u)) return SCAN_BAD_SHAPE;
        od::value f;
        std::string_view sv;
        if (get_field(u, "side", f) != FIELD_OK || f.get_string().get(sv)) return SCAN_BAD_SHAPE;
        int side = (sv == "bid") ? 0 : (sv == "offer" || sv == "ask") ? 1 : -1;
        const char *px = nullptr, *q = nullptr;
        int32_t pn = 0, qn = 0;
        if (get_field(u, "price_level", f) != FIELD_OK || !token_string(f, &px, &pn)) return SCAN_BAD_SHAPE;
        if (get_field(u, "new_quantity", f) != FIELD_OK || !token_string(f, &q, &qn)) return SCAN_BAD_SHAPE;
        if (side < 0) return SCAN_BAD_SHAPE;
        int rc = push_level(s, px, pn, q, qn, side);
        if (rc != SCAN_DEPTH) return rc;
    }
    return SCAN_DEPTH;
}

inline int scan_coinbase_l2(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    int rc = load_object(s, msg, len, doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    // lookups in the envelope's document order (channel, client_id, timestamp, sequence_num, events):
    // an unordered lookup that wraps around would skip the events array a second time
    od::value v;
    int64_t seq = 0;
    bool have_seq = false, l2 = false;
    rc = get_field(obj, "channel", v);
    if (rc == FIELD_ERROR) return SCAN_BAD_JSON;
    if (rc == FIELD_OK) {
        std::string_view c;
        if (v.get_string().get(c)) return SCAN_BAD_SHAPE;
        l2 = (c == "l2_data");
    }
    if (l2) {
        rc = get_field(obj, "timestamp", v);
        if (rc == FIELD_ERROR) return SCAN_BAD_JSON;
        const char* p; int32_t n;
        if (rc == FIELD_OK && token_string(v, &p, &n)) s->event_ns = parse_rfc3339_ns(p, n);
    }
    rc = get_field(obj, "sequence_num", v);
    if (rc == FIELD_ERROR) return SCAN_BAD_JSON;
    if (rc == FIELD_OK) {
        if (v.get_int64().get(seq)) return SCAN_BAD_SHAPE;
        have_seq = true;
        if (s->stream_seq >= 0 && seq != s->stream_seq + 1) s->stream_gap = 1;
        s->stream_seq = seq;
        s->first_id = seq;
        s->final_id = seq;
    }
    if (s->stream_gap) return SCAN_STREAM_GAP;
    if (!l2) return SCAN_OTHER;
    if (!have_seq) return SCAN_BAD_SHAPE;
    if (get_field(obj, "events", v) != FIELD_OK) return SCAN_BAD_SHAPE;
    od::array evs;
    if (v.get_array().get(evs)) return SCAN_BAD_SHAPE;
    bool have_events = false;
    for (auto er : evs) {
        od::value ev_v;
        od::object ev;
        if (er.get(ev_v) || ev_v.get_object().get(ev)) return SCAN_BAD_SHAPE;
        od::value f;
        std::string_view t;
        if (get_field(ev, "type", f) != FIELD_OK || f.get_string().get(t)) return SCAN_BAD_SHAPE;
        if (t == "snapshot") s->snapshot = 1;
        const char* p; int32_t n;
        if (get_field(ev, "product_id", f) != FIELD_OK || !token_string(f, &p, &n)) return SCAN_BAD_SHAPE;
        if (!same_symbol(s, p, n)) return SCAN_BAD_SHAPE;     // one product per message
        if (get_field(ev, "updates", f) != FIELD_OK) return SCAN_BAD_SHAPE;
        rc = coinbase_updates(s, f);
        if (rc != SCAN_DEPTH) return rc;
        have_events = true;
    }
    if (!have_events || s->sym == nullptr) return SCAN_BAD_SHAPE;
    return SCAN_DEPTH;
}

// ---- Kraken WS v2: {"channel":"book","type":"snapshot"|"update","data":[{symbol,bids,asks,checksum,timestamp}]} ----
static int kraken_levels(DepthScan* s, od::value& v, int side) {
    od::array arr;
    if (v.get_array().get(arr)) return SCAN_BAD_SHAPE;
    for (auto item : arr) {
        od::value iv;
        od::object lv;
        if (item.get(iv) || iv.get_object().get(lv)) return SCAN_BAD_SHAPE;
        od::value f;
        const char *px = nullptr, *q = nullptr;
        int32_t pn = 0, qn = 0;
        if (get_field(lv, "price", f) != FIELD_OK || !token_decimal(f, &px, &pn)) return SCAN_BAD_SHAPE;
        if (get_field(lv, "qty", f) != FIELD_OK || !token_decimal(f, &q, &qn)) return SCAN_BAD_SHAPE;
        int rc = push_level(s, px, pn, q, qn, side);
        if (rc != SCAN_DEPTH) return rc;
    }
    return SCAN_DEPTH;
}

inline int scan_kraken_book(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    int rc = load_object(s, msg, len, doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    od::value v;
    std::string_view c;
    if ((rc = envelope_field(obj, "channel", v)) != SCAN_DEPTH) return rc;
    if (v.get_string().get(c)) return SCAN_BAD_SHAPE;
    if (c != "book") return SCAN_OTHER;
    if (get_field(obj, "type", v) != FIELD_OK || v.get_string().get(c)) return SCAN_BAD_SHAPE;
    s->snapshot = (c == "snapshot");
    if (get_field(obj, "data", v) != FIELD_OK) return SCAN_BAD_SHAPE;
    od::array arr;
    if (v.get_array().get(arr)) return SCAN_BAD_SHAPE;
    bool have_data = false;
    for (auto item : arr) {
        od::value dv;
        od::object d;
        if (item.get(dv) || dv.get_object().get(d)) return SCAN_BAD_SHAPE;
        if (have_data) return SCAN_BAD_SHAPE;   // one symbol per message (the checksum is per book)
        have_data = true;
        od::value f;
        if (get_field(d, "symbol", f) != FIELD_OK || !token_string(f, &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
        if ((rc = optional_levels(s, d, "bids", 0, kraken_levels)) != SCAN_DEPTH) return rc;
        if ((rc = optional_levels(s, d, "asks", 1, kraken_levels)) != SCAN_DEPTH) return rc;
        int fr = get_field(d, "checksum", f);
        if (fr == FIELD_ERROR) return SCAN_BAD_JSON;
        if (fr == FIELD_OK) {
            uint64_t ck;
            if (f.get_uint64().get(ck)) return SCAN_BAD_SHAPE;
            s->checksum = static_cast<int64_t>(ck);
            s->has_checksum = 1;
        }
        fr = get_field(d, "timestamp", f);
        if (fr == FIELD_ERROR) return SCAN_BAD_JSON;
        if (fr == FIELD_OK) {
            const char* p; int32_t n;
            if (token_string(f, &p, &n)) s->event_ns = parse_rfc3339_ns(p, n);
        }
    }
    if (!have_data || s->sym == nullptr) return SCAN_BAD_SHAPE;
    return SCAN_DEPTH;
}

// ---- Bitget v2: {"action":"snapshot"|"update","arg":{"instType","channel":"books","instId"},"data":[{asks,bids,checksum,seq,ts}]} ----
inline int scan_bitget_books(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    int rc = load_object(s, msg, len, doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    // document order: action, arg, data, ts
    od::value v;
    std::string_view c;
    if ((rc = envelope_field(obj, "action", v)) != SCAN_DEPTH) return rc;  // {"event":"subscribe","arg":{...}} answers
    if (v.get_string().get(c)) return SCAN_BAD_SHAPE;
    s->snapshot = (c == "snapshot");
    if ((rc = envelope_field(obj, "arg", v)) != SCAN_DEPTH) return rc;
    od::object arg;
    if (v.get_object().get(arg)) return SCAN_OTHER;
    od::value f;
    rc = get_field(arg, "channel", f);
    if (rc == FIELD_ERROR) return SCAN_BAD_JSON;
    if (rc != FIELD_OK || f.get_string().get(c)) return SCAN_OTHER;
    if (c != "books") return SCAN_OTHER;          // books1/5/15 are snapshot-only feeds
    if (get_field(arg, "instId", f) != FIELD_OK || !token_string(f, &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
    if (get_field(obj, "data", v) != FIELD_OK) return SCAN_BAD_SHAPE;
    od::array arr;
    if (v.get_array().get(arr)) return SCAN_BAD_SHAPE;
    bool have_data = false;
    for (auto item : arr) {
        od::value dv;
        od::object d;
        if (item.get(dv) || dv.get_object().get(d)) return SCAN_BAD_SHAPE;
        if (have_data) return SCAN_BAD_SHAPE;
        have_data = true;
        if ((rc = optional_levels(s, d, "asks", 1, scan_pairs_dec)) != SCAN_DEPTH) return rc;
        if ((rc = optional_levels(s, d, "bids", 0, scan_pairs_dec)) != SCAN_DEPTH) return rc;
        int fr = get_field(d, "checksum", f);
        if (fr == FIELD_ERROR) return SCAN_BAD_JSON;
        if (fr == FIELD_OK) {
            if (f.get_int64().get(s->checksum)) return SCAN_BAD_SHAPE;
            s->has_checksum = 1;
        }
        fr = get_field(d, "seq", f);
        if (fr == FIELD_ERROR) return SCAN_BAD_JSON;
        if (fr == FIELD_OK) {
            if (f.get_int64().get(s->final_id)) return SCAN_BAD_SHAPE;
            s->first_id = s->final_id;
        }
        fr = get_field(d, "ts", f);
        if (fr == FIELD_ERROR) return SCAN_BAD_JSON;
        if (fr == FIELD_OK) {
            const char* p; int32_t n;
            bool ok = false;
            if (token_string(f, &p, &n)) s->event_ms = parse_ascii_int(p, n, &ok);
            if (!ok) s->event_ms = 0;
        }
    }
    if (!have_data) return SCAN_BAD_SHAPE;
    if (s->snapshot && s->checksum == 0) s->has_checksum = 0;   // snapshots may carry 0: not verified
    return SCAN_DEPTH;
}

// ---- Crypto.com v1: {"id":-1,"method":"subscribe","code":0,"result":{"instrument_name","channel":"book"|"book.update","data":[...]}} ----
static int cryptocom_data(DepthScan* s, od::value& v, bool update) {
    od::array arr;
    if (v.get_array().get(arr)) return SCAN_BAD_SHAPE;
    bool have = false;
    int rc;
    for (auto item : arr) {
        od::value dv;
        od::object d;
        if (item.get(dv) || dv.get_object().get(d)) return SCAN_BAD_SHAPE;
        if (have) return SCAN_BAD_SHAPE;
        have = true;
        od::value f;
        od::object side_obj;
        od::object* src = &d;
        if (update) {
            if (get_field(d, "update", f) != FIELD_OK || f.get_object().get(side_obj)) return SCAN_BAD_SHAPE;
            src = &side_obj;
        }
        if ((rc = optional_levels(s, *src, "asks", 1, scan_pairs_dec)) != SCAN_DEPTH) return rc;
        if ((rc = optional_levels(s, *src, "bids", 0, scan_pairs_dec)) != SCAN_DEPTH) return rc;
        // document order after the levels: t, tt, u, pu (the doc's delta has tt before t)
        int fr = get_field(d, "t", f);
        if (fr == FIELD_ERROR) return SCAN_BAD_JSON;
        if (fr == FIELD_OK && f.get_int64().get(s->event_ms)) return SCAN_BAD_SHAPE;
        if (get_field(d, "u", f) != FIELD_OK || f.get_int64().get(s->final_id)) return SCAN_BAD_SHAPE;
        if (update && (get_field(d, "pu", f) != FIELD_OK || f.get_int64().get(s->prev_final_id))) return SCAN_BAD_SHAPE;
    }
    if (!have) return SCAN_BAD_SHAPE;
    s->first_id = update ? s->prev_final_id + 1 : s->final_id;
    return SCAN_DEPTH;
}

inline int scan_cryptocom_book(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    int rc = load_object(s, msg, len, doc, obj);
    if (rc != SCAN_DEPTH) return rc;
    od::value v;
    if ((rc = envelope_field(obj, "result", v)) != SCAN_DEPTH) return rc;  // heartbeats, acks without result
    od::object r;
    if (v.get_object().get(r)) return SCAN_OTHER;
    // document order: instrument_name, subscription, channel, depth, data
    od::value f;
    std::string_view c;
    if ((rc = envelope_field(r, "instrument_name", f)) != SCAN_DEPTH) return rc;  // answers without a channel payload
    if (!token_string(f, &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
    rc = get_field(r, "channel", f);
    if (rc == FIELD_ERROR) return SCAN_BAD_JSON;
    if (rc != FIELD_OK || f.get_string().get(c)) return SCAN_OTHER;
    int kind = (c == "book") ? 1 : (c == "book.update") ? 2 : 0;
    if (kind == 0) {
        s->sym = nullptr;
        s->sym_len = 0;
        return SCAN_OTHER;
    }
    if ((rc = envelope_field(r, "data", f)) != SCAN_DEPTH) return rc;  // a subscribe answer naming the channel
    rc = cryptocom_data(s, f, kind == 2);
    if (rc != SCAN_DEPTH) return rc;
    s->snapshot = (kind == 1);
    return SCAN_DEPTH;
}
// ---- end cex4 scanners ----

}  // namespace scan
}  // namespace skwire
#ifdef SKWIRE_REQUIRES_HASWELL
SIMDJSON_UNTARGET_REGION
#endif


namespace skwire {

inline DepthScan* scan_new(size_t cap_levels) {
#ifdef SKWIRE_REQUIRES_HASWELL
    const simdjson::implementation* hw = simdjson::get_available_implementations()["haswell"];
    if (hw == nullptr || !hw->supported_by_runtime_system())
        throw std::runtime_error("seqkern._wire needs a CPU with AVX2 (simdjson haswell kernels)");
#endif
    DepthScan* s = new DepthScan(cap_levels);
    s->parser = scan::new_parser();
    s->free_parser = &scan::free_parser;
    s->binance = &scan::scan_binance_depth;
    s->okx = &scan::scan_okx_books;
    s->bybit = &scan::scan_bybit_orderbook;
    s->coinbase = &scan::scan_coinbase_l2;      // cex4 block
    s->kraken = &scan::scan_kraken_book;
    s->bitget = &scan::scan_bitget_books;
    s->cryptocom = &scan::scan_cryptocom_book;
#ifdef SKWIRE_REQUIRES_HASWELL
    s->impl = "haswell";
#else
    s->impl = "builtin";
#endif
    return s;
}

inline void scan_free(DepthScan* s) {
    if (s->parser) s->free_parser(s->parser);
    delete s;
}

inline int scan_binance_depth(DepthScan* s, const char* msg, size_t len) { return s->binance(s, msg, len); }

inline int scan_okx_books(DepthScan* s, const char* msg, size_t len) { return s->okx(s, msg, len); }
inline int scan_bybit_orderbook(DepthScan* s, const char* msg, size_t len) { return s->bybit(s, msg, len); }

// ---- cex4 block: Coinbase, Kraken, Bitget, Crypto.com scanners and the Kraken / Bitget checksums ----
inline int scan_coinbase_l2(DepthScan* s, const char* msg, size_t len) { return s->coinbase(s, msg, len); }
inline int scan_kraken_book(DepthScan* s, const char* msg, size_t len) { return s->kraken(s, msg, len); }
inline int scan_bitget_books(DepthScan* s, const char* msg, size_t len) { return s->bitget(s, msg, len); }
inline int scan_cryptocom_book(DepthScan* s, const char* msg, size_t len) { return s->cryptocom(s, msg, len); }

// ---- CRC32 (ISO-HDLC / zlib polynomial 0xEDB88320), as Kraken and Bitget compute it ----
// Slicing-by-8: eight 256-entry tables, eight input bytes per step.
struct Crc32Tables {
    uint32_t t[8][256];
    Crc32Tables() {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[0][i] = c;
        }
        for (uint32_t i = 0; i < 256; i++)
            for (int k = 1; k < 8; k++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    }
};

static inline const Crc32Tables& crc32_tables() {
    static const Crc32Tables tables;
    return tables;
}

inline uint32_t crc32_bytes(const char* p, size_t n) {
    const Crc32Tables& T = crc32_tables();
    const unsigned char* b = reinterpret_cast<const unsigned char*>(p);
    uint32_t c = 0xFFFFFFFFu;
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
    while (n >= 8) {
        uint32_t lo, hi;
        std::memcpy(&lo, b, 4);
        std::memcpy(&hi, b + 4, 4);
        lo ^= c;     // little-endian hosts (x86-64, arm64)
        c = T.t[7][lo & 0xFF] ^ T.t[6][(lo >> 8) & 0xFF] ^ T.t[5][(lo >> 16) & 0xFF] ^ T.t[4][lo >> 24] ^
            T.t[3][hi & 0xFF] ^ T.t[2][(hi >> 8) & 0xFF] ^ T.t[1][(hi >> 16) & 0xFF] ^ T.t[0][hi >> 24];
        b += 8;
        n -= 8;
    }
#endif
    while (n--) c = T.t[0][(c ^ *b++) & 0xFF] ^ (c >> 8);
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

// ---- end cex4 block ----

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
