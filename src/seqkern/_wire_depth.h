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

}  // namespace skwire
