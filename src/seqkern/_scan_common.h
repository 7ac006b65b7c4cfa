// Scanner pieces shared by the CEX depth scanners (_wire_depth.h) and the prediction-venue book
// scanners (_predwire_scan.h): whitespace, the padded copy simdjson reads, string-token views and
// digit runs to int64.
//
// Header-only; include it after simdjson.h. _wire_depth.h includes it inside its AVX2 target
// region so that these helpers compile for, and inline into, the scanners that call them.
#pragma once
#include <cstring>
#include <cstdint>
#include <string_view>
#include <vector>

namespace skscan {

namespace od = simdjson::ondemand;

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

}  // namespace skscan
