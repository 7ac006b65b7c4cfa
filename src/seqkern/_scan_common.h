// Scanner pieces shared by the CEX depth scanners (_wire_depth.h) and the prediction-venue book
// scanners (_predwire_scan.h): whitespace, the padded copy simdjson reads, string-token views,
// digit runs to int64 and the [[price, qty], ...] level arrays.
//
// Header-only; include it after simdjson.h. _wire_depth.h includes it inside its AVX2 target
// region so that these helpers compile for, and inline into, the scanners that call them.
#pragma once
#include <cstring>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace skscan {

namespace od = simdjson::ondemand;

// Results of the shared helpers; the same numbers as SCAN_* (_wire_depth.h) and PS_* (_predwire_scan.h).
enum : int {
    SK_OK = 0,
    SK_BAD_SHAPE = -2,
    SK_TOO_MANY = -3,
};

static inline bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Index of the first non-whitespace byte at or after i (len if none).
static inline size_t skip_ws(const char* msg, size_t len, size_t i = 0) {
    while (i < len && is_ws(msg[i])) i++;
    return i;
}

// Copy msg into the scan's padded buffer and start an on-demand iteration; false if not JSON.
static inline bool load_padded(od::parser& parser, std::vector<char>& buf, const char* msg, size_t len,
                               od::document& doc) {
    if (buf.size() < len + simdjson::SIMDJSON_PADDING) buf.resize(len + simdjson::SIMDJSON_PADDING);
    std::memcpy(buf.data(), msg, len);
    std::memset(buf.data() + len, 0, simdjson::SIMDJSON_PADDING);
    return !parser.iterate(buf.data(), len, buf.size()).get(doc);
}

// The text inside a raw string token such as "0.0024" (quotes stripped); false if not a string.
static inline bool quoted(std::string_view tok, const char** p, int32_t* n) {
    if (tok.empty() || tok[0] != '"') return false;
    const char* start = tok.data() + 1;
    const char* end = static_cast<const char*>(std::memchr(start, '"', tok.size() - 1));
    if (!end) return false;
    *p = start;
    *n = static_cast<int32_t>(end - start);
    return true;
}

// Unsigned decimal digits to an int64 (callers bound the length); false on any other byte.
static inline bool digits_i64(const char* p, int32_t n, int64_t* out) {
    int64_t x = 0;
    for (int32_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        x = x * 10 + (p[i] - '0');
    }
    *out = x;
    return true;
}

// [[price, qty(, more...)], ...] of one side: each inner array becomes the next level of
// s->levels (price and qty through `token`, the rest of the level through `fill`).
// SK_OK, SK_BAD_SHAPE or SK_TOO_MANY.
template <class Scan, class Token, class Fill>
static inline int pair_levels(Scan* s, od::value& v, Token token, Fill fill) {
    od::array outer;
    if (v.get_array().get(outer)) return SK_BAD_SHAPE;
    for (auto item : outer) {
        od::array pair;
        if (item.get_array().get(pair)) return SK_BAD_SHAPE;
        if (s->n_levels >= s->max_levels) return SK_TOO_MANY;
        auto& L = s->levels[s->n_levels];
        int k = 0;
        for (auto el : pair) {
            od::value ev;
            if (std::move(el).get(ev)) return SK_BAD_SHAPE;
            if (k == 0) {
                if (!token(ev, &L.px, &L.px_len)) return SK_BAD_SHAPE;
            } else if (k == 1) {
                if (!token(ev, &L.qty, &L.qty_len)) return SK_BAD_SHAPE;
            }
            k++;
        }
        if (k < 2) return SK_BAD_SHAPE;
        fill(L);
        s->n_levels++;
    }
    return SK_OK;
}

}  // namespace skscan
