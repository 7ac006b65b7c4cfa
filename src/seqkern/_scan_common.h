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

// ---- checked field lookup ----------------------------------------------------------------------
// simdjson's find_field_unordered scans forward from the current field and, when the key is not
// there, wraps around to the object's start and re-reads the fields before it WITHOUT checking
// errors (it assumes that part was validated already). On malformed input (unbalanced brackets in
// a child value, e.g. Bybit `"seq":987654[21}}`) that assumption is false: release builds then
// follow __builtin_unreachable paths (wrong results, one build crashed) and debug builds abort.
// find_field below is the same algorithm with every step checked in both passes, plus a bound:
// the wrap-around pass must land exactly on the position the search started from.
// It needs two protected pieces of the on-demand API, named through derived classes (the
// well-defined way to take a pointer to a protected member); nothing is instantiated.
struct ObjectIterAccess : od::object {
    static od::value_iterator& of(od::object& o) { return o.*(&ObjectIterAccess::iter); }
};
struct ValueIterAccess : od::value_iterator {
    static simdjson::simdjson_result<bool> reset(od::value_iterator& it) {
        return (it.*(&ValueIterAccess::reset_object))();
    }
};
struct ValueAccess : od::value {
    static od::value at(const od::value_iterator& it) { return od::value::start(it); }
};

// The iterator is at the start of a field (key next) at the object's depth.
static inline bool at_field_start(od::value_iterator& it) {
    return it.json_iter().depth() == it.depth();
}

// Field `key` of `o` into `out` (SUCCESS), NO_SUCH_FIELD, or the error that stopped the search; after
// an error the object is abandoned (any further use returns errors, nothing is assumed).
static inline simdjson::error_code find_field(od::object& o, std::string_view key, od::value& out) {
    using simdjson::error_code;
    od::value_iterator& it = ObjectIterAccess::of(o);
    error_code err = it.error();
    if (err) return err;
    auto fail = [&](error_code e) { it.abandon(); return e; };
    auto search_start = it.json_iter().position();
    bool at_first = it.at_first_field();
    bool has_value = true;
    if (!at_first) {
        if (!it.is_open()) {
            if ((err = ValueIterAccess::reset(it).get(has_value))) return fail(err);
            at_first = true;
        } else {
            if ((err = it.skip_child())) return fail(err);
            search_start = it.json_iter().position();
            if ((err = it.has_next_field().get(has_value))) return fail(err);
        }
    }
    od::raw_json_string k;
    while (has_value) {      // from the current field to the end of the object
        if (!at_field_start(it)) return fail(simdjson::TAPE_ERROR);
        if ((err = it.field_key().get(k))) return fail(err);
        if ((err = it.field_value())) return fail(err);
        if (k.unsafe_is_equal(key)) { out = ValueAccess::at(it.child()); return simdjson::SUCCESS; }
        if ((err = it.skip_child())) return fail(err);
        if ((err = it.has_next_field().get(has_value))) return fail(err);
    }
    if (at_first) return simdjson::NO_SUCH_FIELD;
    // wrap around: the fields before the search start, every step checked
    if ((err = ValueIterAccess::reset(it).get(has_value))) return fail(err);
    while (true) {
        if (!has_value || !at_field_start(it)) return fail(simdjson::TAPE_ERROR);
        if ((err = it.field_key().get(k))) return fail(err);
        if ((err = it.field_value())) return fail(err);
        if (k.unsafe_is_equal(key)) { out = ValueAccess::at(it.child()); return simdjson::SUCCESS; }
        if ((err = it.skip_child())) return fail(err);
        auto pos = it.json_iter().position();
        if (pos == search_start) return simdjson::NO_SUCH_FIELD;
        if (pos > search_start) return fail(simdjson::TAPE_ERROR);   // stepped over it: malformed
        if ((err = it.has_next_field().get(has_value))) return fail(err);
    }
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
