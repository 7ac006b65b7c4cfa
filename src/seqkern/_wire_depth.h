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
namespace skwire {
namespace scan {

namespace od = simdjson::ondemand;

inline void* new_parser() {
    od::parser* p = new od::parser();
    (void)p->allocate(1 << 16);   // grows on demand past 64 KiB; no reallocation churn below
    return p;
}
inline void free_parser(void* p) { delete static_cast<od::parser*>(p); }

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
// Fields are looked up by name (order-independent; `field` iteration is avoided because its
// std::pair base cannot be instantiated inside a CPU target region).
static inline int scan_binance_event(DepthScan* s, od::object& obj) {
    std::string_view e;
    od::value v;
    int rc;
    auto err = obj.find_field_unordered("e").get(v);
    if (err == simdjson::NO_SUCH_FIELD) return SCAN_OTHER;
    if (err) return SCAN_BAD_JSON;
    if (v.get_string().get(e)) return SCAN_BAD_SHAPE;
    if (e != "depthUpdate") return SCAN_OTHER;
    if (obj.find_field_unordered("E").get_int64().get(s->event_ms)) return SCAN_BAD_SHAPE;
    if (obj.find_field_unordered("s").get(v) || !token_string(v, &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
    if (obj.find_field_unordered("U").get_int64().get(s->first_id)) return SCAN_BAD_SHAPE;
    if (obj.find_field_unordered("u").get_int64().get(s->final_id)) return SCAN_BAD_SHAPE;
    if (s->has_pu) {
        auto terr = obj.find_field_unordered("T").get_int64().get(s->transact_ms);
        if (terr && terr != simdjson::NO_SUCH_FIELD) return SCAN_BAD_SHAPE;
        if (obj.find_field_unordered("pu").get_int64().get(s->prev_final_id)) return SCAN_BAD_SHAPE;
    }
    if (obj.find_field_unordered("b").get(v)) return SCAN_BAD_SHAPE;
    rc = scan_levels(s, v, 0);
    if (rc != SCAN_DEPTH) return rc;
    if (obj.find_field_unordered("a").get(v)) return SCAN_BAD_SHAPE;
    rc = scan_levels(s, v, 1);
    if (rc != SCAN_DEPTH) return rc;
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
    if (static_cast<od::parser*>(s->parser)->iterate(s->buf.data(), len, s->buf.size()).get(doc)) return SCAN_BAD_JSON;
    return SCAN_DEPTH;
}

// Binance depth diff, raw ({"e":"depthUpdate",...}) or combined ({"stream":...,"data":{...}}).
static inline bool has_prefix_key(const char* msg, size_t len, const char* key, size_t klen) {
    size_t i = 0;
    while (i < len && (msg[i] == ' ' || msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t')) i++;
    if (i >= len || msg[i] != '{') return false;
    i++;
    while (i < len && (msg[i] == ' ' || msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t')) i++;
    return len - i >= klen && std::memcmp(msg + i, key, klen) == 0;
}

inline int scan_binance_depth(DepthScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    scan_reset(s);
    if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
    if (len == 0 || (msg[0] != '{' && msg[0] != ' ' && msg[0] != '\n')) {
        od::json_type t;
        if (doc.type().get(t)) return SCAN_BAD_JSON;
        return SCAN_OTHER;   // valid JSON that is not an object: not a depth message
    }
    if (doc.get_object().get(obj)) return SCAN_BAD_JSON;
    if (has_prefix_key(msg, len, "\"stream\"", 8)) {
        od::object inner;
        auto err = obj.find_field_unordered("data").get_object().get(inner);
        if (err == simdjson::NO_SUCH_FIELD || err == simdjson::INCORRECT_TYPE) return SCAN_OTHER;
        if (err) return SCAN_BAD_JSON;
        return scan_binance_event(s, inner);
    }
    return scan_binance_event(s, obj);
}


// ---- OKX v5 books channels ------------------------------------------------------------------

static inline bool scan_is_object(const char* msg, size_t len) {
    size_t i = 0;
    while (i < len && (msg[i] == ' ' || msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t')) i++;
    return i < len && msg[i] == '{';
}

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

// One element of "data": {"asks","bids","ts","checksum","prevSeqId","seqId"}
static inline int scan_okx_item(DepthScan* s, od::object& d) {
    od::value v;
    int rc;
    if (d.find_field_unordered("asks").get(v)) return SCAN_BAD_SHAPE;
    rc = scan_levels(s, v, 1);
    if (rc != SCAN_DEPTH) return rc;
    if (d.find_field_unordered("bids").get(v)) return SCAN_BAD_SHAPE;
    rc = scan_levels(s, v, 0);
    if (rc != SCAN_DEPTH) return rc;
    if (d.find_field_unordered("ts").get(v) || !token_digits(v, &s->event_ms)) return SCAN_BAD_SHAPE;
    auto err = d.find_field_unordered("checksum").get_int64().get(s->checksum);
    if (!err) s->has_checksum = 1;
    else if (err != simdjson::NO_SUCH_FIELD) return SCAN_BAD_SHAPE;
    auto e1 = d.find_field_unordered("prevSeqId").get_int64().get(s->prev_final_id);
    auto e2 = d.find_field_unordered("seqId").get_int64().get(s->final_id);
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
    scan_reset(s);
    if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
    if (!scan_is_object(msg, len)) {
        od::json_type t;
        if (doc.type().get(t)) return SCAN_BAD_JSON;   // e.g. the text "pong"
        return SCAN_OTHER;
    }
    if (doc.get_object().get(obj)) return SCAN_BAD_JSON;
    auto err = obj.find_field_unordered("arg").get_object().get(arg);
    if (err == simdjson::NO_SUCH_FIELD || err == simdjson::INCORRECT_TYPE) return SCAN_OTHER;
    if (err) return SCAN_BAD_JSON;
    if (arg.find_field_unordered("channel").get_string().get(sv)) return SCAN_OTHER;
    if (!okx_book_channel(sv)) return SCAN_OTHER;
    if (arg.find_field_unordered("instId").get(v) || !token_string(v, &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
    err = obj.find_field_unordered("action").get_string().get(sv);
    if (err == simdjson::NO_SUCH_FIELD) return SCAN_OTHER;   // subscribe acks carry the arg, no action
    if (err) return SCAN_BAD_SHAPE;
    if (sv == "snapshot") s->snapshot = 1;
    else if (sv != "update") return SCAN_BAD_SHAPE;
    od::array items;
    if (obj.find_field_unordered("data").get_array().get(items)) return SCAN_BAD_SHAPE;
    bool any = false;
    for (auto it : items) {
        od::object d;
        if (it.get_object().get(d)) return SCAN_BAD_SHAPE;
        int rc = scan_okx_item(s, d);
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
    int rc;
    scan_reset(s);
    if (scan_load(s, msg, len, doc) != SCAN_DEPTH) return SCAN_BAD_JSON;
    if (!scan_is_object(msg, len)) {
        od::json_type t;
        if (doc.type().get(t)) return SCAN_BAD_JSON;
        return SCAN_OTHER;
    }
    if (doc.get_object().get(obj)) return SCAN_BAD_JSON;
    auto err = obj.find_field_unordered("topic").get_string().get(sv);
    if (err == simdjson::NO_SUCH_FIELD || err == simdjson::INCORRECT_TYPE) return SCAN_OTHER;   // acks, pongs
    if (err) return SCAN_BAD_JSON;
    if (!(sv.size() > 10 && sv.compare(0, 10, "orderbook.") == 0)) return SCAN_OTHER;
    if (obj.find_field_unordered("type").get_string().get(sv)) return SCAN_BAD_SHAPE;
    if (sv == "snapshot") s->snapshot = 1;
    else if (sv != "delta") return SCAN_BAD_SHAPE;
    if (obj.find_field_unordered("ts").get_int64().get(s->event_ms)) return SCAN_BAD_SHAPE;
    if (obj.find_field_unordered("data").get_object().get(d)) return SCAN_BAD_SHAPE;
    if (d.find_field_unordered("s").get(v) || !token_string(v, &s->sym, &s->sym_len)) return SCAN_BAD_SHAPE;
    if (d.find_field_unordered("b").get(v)) return SCAN_BAD_SHAPE;
    rc = scan_levels(s, v, 0);
    if (rc != SCAN_DEPTH) return rc;
    if (d.find_field_unordered("a").get(v)) return SCAN_BAD_SHAPE;
    rc = scan_levels(s, v, 1);
    if (rc != SCAN_DEPTH) return rc;
    if (d.find_field_unordered("u").get_int64().get(s->final_id)) return SCAN_BAD_SHAPE;
    err = d.find_field_unordered("seq").get_int64().get(s->cross_seq);
    if (err && err != simdjson::NO_SUCH_FIELD) return SCAN_BAD_SHAPE;
    err = obj.find_field_unordered("cts").get_int64().get(s->transact_ms);
    if (err && err != simdjson::NO_SUCH_FIELD) return SCAN_BAD_SHAPE;
    if (s->final_id == 1) s->snapshot = 1;   // u == 1: service restart, overwrite the book
    s->first_id = s->final_id;
    return SCAN_DEPTH;
}

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
