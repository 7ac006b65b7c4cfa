// Book-message scanners of the prediction / on-chain venues (Kalshi, Polymarket, Hyperliquid):
// raw websocket bytes -> header fields + level string views (simdjson on-demand).
//
// Kept apart from _wire_depth.h (the CEX scanners) so each venue family evolves on its own. The
// Cython side (_predwire.pyx) turns the strings into fixed point with parse_decimal and writes the
// levels into L2Books; no Python object is created per level. Views point into the scan's padded
// copy of the message and stay valid until the next scan.
#pragma once
#include <cstring>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>
#include "simdjson.h"
#include "_scan_common.h"

namespace skpred {

namespace od = simdjson::ondemand;

enum : int {
    PS_OTHER = 0,       // well-formed JSON that is not a book message
    PS_DELTA = 1,       // incremental levels (Kalshi signed delta, Polymarket price_change)
    PS_SNAPSHOT = 2,    // full book (Kalshi orderbook_snapshot, Polymarket book, Hyperliquid l2Book)
    PS_ARRAY = 3,       // a JSON array at top level (Polymarket batches events): split and rescan
    PS_BAD_JSON = -1,
    PS_BAD_SHAPE = -2,
    PS_TOO_MANY = -3,
};

struct PLevel {
    const char* px;
    int32_t px_len;
    const char* qty;
    int32_t qty_len;
    const char* key;     // Polymarket asset_id of a price_change entry (else nullptr)
    int32_t key_len;
    int32_t side;        // Kalshi: 0 yes, 1 no (bids); others: 0 bid, 1 ask
    int32_t px_digits;   // decimals of the price token's unit: 9 for dollars, 7 for Kalshi cents
};

struct PredScan {
    od::parser parser;
    std::vector<char> buf;
    std::vector<PLevel> levels;
    size_t n_levels = 0;
    size_t max_levels = 0;
    int64_t sid = 0;
    int64_t seq = -1;
    int64_t ts_ms = 0;
    const char* sym = nullptr;   // Kalshi market_ticker, Polymarket asset_id (book), Hyperliquid coin
    int32_t sym_len = 0;
    int rank[2] = {0, 0};        // Kalshi snapshot: best format seen per side (3 fp, 2 dollars, 1 cents)

    explicit PredScan(size_t cap_levels) : max_levels(cap_levels) {
        levels.resize(cap_levels);
        buf.resize(4096 + simdjson::SIMDJSON_PADDING);
    }
};

inline PredScan* pscan_new(size_t cap_levels) { return new PredScan(cap_levels); }
inline void pscan_free(PredScan* s) { delete s; }
inline const PLevel* pscan_level(const PredScan* s, size_t i) { return &s->levels[i]; }

// A string or number token: quotes stripped from strings, numbers taken as written.
static inline bool ps_token(od::value v, const char** p, int32_t* n) {
    std::string_view tok = v.raw_json_token();
    while (!tok.empty() && skscan::is_ws(tok.back())) tok.remove_suffix(1);
    if (tok.empty()) return false;
    if (tok[0] == '"') return skscan::quoted(tok, p, n);
    if (tok[0] == '-' || (tok[0] >= '0' && tok[0] <= '9')) {
        *p = tok.data();
        *n = static_cast<int32_t>(tok.size());
        return true;
    }
    return false;
}

static inline void ps_reset(PredScan* s) {
    s->n_levels = 0;
    s->sid = 0;
    s->seq = -1;
    s->ts_ms = 0;
    s->sym = nullptr;
    s->sym_len = 0;
    s->rank[0] = s->rank[1] = 0;
}

static inline int ps_load(PredScan* s, const char* msg, size_t len, od::document& doc) {
    return skscan::load_padded(s->parser, s->buf, msg, len, doc) ? PS_OTHER : PS_BAD_JSON;
}

// Whether the message is a JSON object (else ps_non_object tells what it is).
static inline bool ps_is_object(const char* msg, size_t len) {
    size_t i = skscan::skip_ws(msg, len);
    return i < len && msg[i] == '{';
}

// A message that does not start with '{': tell malformed input from a valid non-object.
static inline int ps_non_object(PredScan* s, const char* msg, size_t len) {
    od::document doc;
    if (ps_load(s, msg, len, doc) != PS_OTHER) return PS_BAD_JSON;
    od::json_type t;
    if (doc.type().get(t)) return PS_BAD_JSON;
    if (t == od::json_type::array) {
        // validate fully: a truncated array must still read as malformed
        od::array a;
        if (doc.get_array().get(a)) return PS_BAD_JSON;
        for (auto el : a) {
            od::value v;
            if (std::move(el).get(v)) return PS_BAD_JSON;
            std::string_view raw;
            if (v.raw_json().get(raw)) return PS_BAD_JSON;
        }
        if (!doc.at_end()) return PS_BAD_JSON;
        return PS_ARRAY;
    }
    return PS_OTHER;
}

enum : int { PS_OPENED = 0x100 };   // ps_open: the top-level object is open (not a result)

// Reset the scan and open the message's top-level object (PS_OPENED); otherwise the result.
static inline int ps_open(PredScan* s, const char* msg, size_t len, od::document& doc, od::object& obj) {
    ps_reset(s);
    if (!ps_is_object(msg, len)) return ps_non_object(s, msg, len);
    if (ps_load(s, msg, len, doc) != PS_OTHER) return PS_BAD_JSON;
    if (doc.get_object().get(obj)) return PS_BAD_JSON;
    return PS_OPENED;
}

// ---- Kalshi -----------------------------------------------------------------------------------

// [[price, size], ...] of one Kalshi side (price digits: 9 dollars / 7 cents); replaces a lower rank.
static int kalshi_side(PredScan* s, od::value v, int side, int rank, int px_digits) {
    if (rank < s->rank[side]) return PS_SNAPSHOT;   // a better format of this side already read
    if (rank > s->rank[side] && s->rank[side] > 0) {
        // drop the side's levels read from the older format
        size_t w = 0;
        for (size_t i = 0; i < s->n_levels; i++)
            if (s->levels[i].side != side) s->levels[w++] = s->levels[i];
        s->n_levels = w;
    }
    s->rank[side] = rank;
    od::array outer;
    if (v.get_array().get(outer)) return PS_BAD_SHAPE;
    for (auto item : outer) {
        od::array pair;
        if (item.get_array().get(pair)) return PS_BAD_SHAPE;
        if (s->n_levels >= s->max_levels) return PS_TOO_MANY;
        PLevel& L = s->levels[s->n_levels];
        int k = 0;
        for (auto el : pair) {
            od::value ev;
            if (std::move(el).get(ev)) return PS_BAD_SHAPE;
            if (k == 0) {
                if (!ps_token(ev, &L.px, &L.px_len)) return PS_BAD_SHAPE;
            } else if (k == 1) {
                if (!ps_token(ev, &L.qty, &L.qty_len)) return PS_BAD_SHAPE;
            }
            k++;
        }
        if (k < 2) return PS_BAD_SHAPE;
        L.side = side;
        L.px_digits = px_digits;
        L.key = nullptr;
        L.key_len = 0;
        s->n_levels++;
    }
    return PS_SNAPSHOT;
}

static inline int kalshi_kind(std::string_view t) {
    if (t == "orderbook_delta") return PS_DELTA;
    if (t == "orderbook_snapshot") return PS_SNAPSHOT;
    return PS_OTHER;
}

static int kalshi_msg(PredScan* s, od::object msg, int kind) {
    int rc;
    // delta fields (newest format wins: price_dollars over price, delta_fp over delta)
    const char *pd = nullptr, *pc = nullptr, *dfp = nullptr, *dint = nullptr;
    int32_t pd_n = 0, pc_n = 0, dfp_n = 0, dint_n = 0;
    int side = -1;
    for (auto fr : msg) {
        od::field f;
        if (std::move(fr).get(f)) return PS_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "market_ticker") {
            if (!ps_token(f.value(), &s->sym, &s->sym_len)) return PS_BAD_SHAPE;
        } else if (kind == PS_SNAPSHOT) {
            if (k == "yes_dollars_fp") rc = kalshi_side(s, f.value(), 0, 3, 9);
            else if (k == "no_dollars_fp") rc = kalshi_side(s, f.value(), 1, 3, 9);
            else if (k == "yes_dollars") rc = kalshi_side(s, f.value(), 0, 2, 9);
            else if (k == "no_dollars") rc = kalshi_side(s, f.value(), 1, 2, 9);
            else if (k == "yes") rc = kalshi_side(s, f.value(), 0, 1, 7);
            else if (k == "no") rc = kalshi_side(s, f.value(), 1, 1, 7);
            else rc = PS_SNAPSHOT;
            if (rc != PS_SNAPSHOT) return rc;
        } else {
            if (k == "price_dollars") {
                if (!ps_token(f.value(), &pd, &pd_n)) return PS_BAD_SHAPE;
            } else if (k == "price") {
                if (!ps_token(f.value(), &pc, &pc_n)) return PS_BAD_SHAPE;
            } else if (k == "delta_fp") {
                if (!ps_token(f.value(), &dfp, &dfp_n)) return PS_BAD_SHAPE;
            } else if (k == "delta") {
                if (!ps_token(f.value(), &dint, &dint_n)) return PS_BAD_SHAPE;
            } else if (k == "side") {
                std::string_view sv;
                if (f.value().get_string().get(sv)) return PS_BAD_SHAPE;
                if (sv == "yes") side = 0;
                else if (sv == "no") side = 1;
                else return PS_BAD_SHAPE;
            } else if (k == "ts_ms") {
                if (f.value().get_int64().get(s->ts_ms)) return PS_BAD_SHAPE;
            }
        }
    }
    if (s->sym == nullptr) return PS_BAD_SHAPE;
    if (kind == PS_DELTA) {
        if (side < 0 || (!pd && !pc) || (!dfp && !dint)) return PS_BAD_SHAPE;
        if (s->max_levels < 1) return PS_TOO_MANY;
        PLevel& L = s->levels[0];
        if (pd) { L.px = pd; L.px_len = pd_n; L.px_digits = 9; }
        else { L.px = pc; L.px_len = pc_n; L.px_digits = 7; }
        if (dfp) { L.qty = dfp; L.qty_len = dfp_n; }
        else { L.qty = dint; L.qty_len = dint_n; }
        L.side = side;
        L.key = nullptr;
        L.key_len = 0;
        s->n_levels = 1;
    }
    return kind;
}

// One pass over the envelope's fields. kind < 0: taken from "type" as it comes; a "msg" before
// "type" sets ``*need_kind`` and stops the pass (the caller looks the type up and passes it in,
// and "type" is then not read again).
static int kalshi_fields(PredScan* s, od::object obj, int kind, bool* need_kind) {
    const bool read_type = kind < 0;
    bool msg_seen = false;
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return PS_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "type") {
            if (!read_type) continue;
            std::string_view t;
            if (f.value().get_string().get(t)) return PS_BAD_SHAPE;
            kind = kalshi_kind(t);
            if (kind == PS_OTHER) return PS_OTHER;
        } else if (k == "sid") {
            if (f.value().get_int64().get(s->sid)) return PS_BAD_SHAPE;
        } else if (k == "seq") {
            if (f.value().get_int64().get(s->seq)) return PS_BAD_SHAPE;
        } else if (k == "msg") {
            if (kind < 0) { *need_kind = true; return PS_OTHER; }
            od::object m;
            if (f.value().get_object().get(m)) return PS_BAD_SHAPE;
            int rc = kalshi_msg(s, m, kind);
            if (rc < 0) return rc;
            msg_seen = true;
        }
    }
    if (kind < 0) return PS_OTHER;
    if (!msg_seen || s->seq < 0) return PS_BAD_SHAPE;
    return kind;
}

// {"type":"orderbook_snapshot"|"orderbook_delta","sid":..,"seq":..,"msg":{...}}
inline int scan_kalshi(PredScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    int rc = ps_open(s, msg, len, doc, obj);
    if (rc != PS_OPENED) return rc;
    bool need_kind = false;
    rc = kalshi_fields(s, obj, -1, &need_kind);
    if (!need_kind) return rc;
    // "type" after "msg" (rare field order): look the type up, then read the document again
    od::document d2;
    if (ps_load(s, msg, len, d2) != PS_OTHER) return PS_BAD_JSON;
    std::string_view t;
    od::object o2;
    od::value tv;
    if (d2.get_object().get(o2)) return PS_BAD_JSON;
    if (skscan::find_field(o2, "type", tv) || tv.get_string().get(t)) return PS_OTHER;
    int kind = kalshi_kind(t);
    if (kind == PS_OTHER) return PS_OTHER;
    if (ps_load(s, msg, len, doc) != PS_OTHER) return PS_BAD_JSON;
    if (doc.get_object().get(obj)) return PS_BAD_JSON;
    return kalshi_fields(s, obj, kind, &need_kind);
}

// ---- Polymarket -------------------------------------------------------------------------------

// Level key names of the object-per-level venues (compile-time, so key matching stays inline).
struct PolyKeys { static constexpr std::string_view px = "price", qty = "size"; };
struct HlKeys { static constexpr std::string_view px = "px", qty = "sz"; };

// [{Keys::px: .., Keys::qty: .., ...}, ...]: one level per object. `other` reads the object's other
// fields (false: a bad value); side < 0 leaves the side to `other`; keyed levels need an asset_id.
template <class Keys, class Other>
static inline int object_levels(PredScan* s, od::value v, int side, bool keyed, int ok_rc, Other other) {
    od::array arr;
    if (v.get_array().get(arr)) return PS_BAD_SHAPE;
    for (auto item : arr) {
        od::object lv;
        if (item.get_object().get(lv)) return PS_BAD_SHAPE;
        if (s->n_levels >= s->max_levels) return PS_TOO_MANY;
        PLevel& L = s->levels[s->n_levels];
        L.px = L.qty = L.key = nullptr;
        L.key_len = 0;
        L.side = side;
        for (auto fr : lv) {
            od::field f;
            if (std::move(fr).get(f)) return PS_BAD_JSON;
            std::string_view k = f.escaped_key();
            if (k == Keys::px) { if (!ps_token(f.value(), &L.px, &L.px_len)) return PS_BAD_SHAPE; }
            else if (k == Keys::qty) { if (!ps_token(f.value(), &L.qty, &L.qty_len)) return PS_BAD_SHAPE; }
            else if (!other(k, f, L)) return PS_BAD_SHAPE;
        }
        if (!L.px || !L.qty || (keyed && !L.key) || L.side < 0) return PS_BAD_SHAPE;
        L.px_digits = 9;
        s->n_levels++;
    }
    return ok_rc;
}

static inline bool no_other_field(std::string_view, od::field&, PLevel&) { return true; }

// [{"price":"0.48","size":"30"}, ...] of one side of a book event
static int poly_side(PredScan* s, od::value v, int side) {
    return object_levels<PolyKeys>(s, v, side, false, PS_SNAPSHOT, no_other_field);
}

// price_changes:[{asset_id, price, size (new aggregate), side BUY|SELL, hash, best_bid, best_ask}]
static int poly_changes(PredScan* s, od::value v) {
    return object_levels<PolyKeys>(s, v, -1, true, PS_DELTA,
                         [](std::string_view k, od::field& f, PLevel& L) {
        if (k == "asset_id") return ps_token(f.value(), &L.key, &L.key_len);
        if (k == "side") {
            std::string_view sv;
            if (f.value().get_string().get(sv)) return false;
            if (sv == "BUY") L.side = 0;
            else if (sv == "SELL") L.side = 1;
            else return false;
        }
        return true;
    });
}

static inline int poly_kind(std::string_view et) {
    if (et == "book") return PS_SNAPSHOT;
    if (et == "price_change") return PS_DELTA;
    return PS_OTHER;
}

// One pass over the event's fields once its kind is known (-1: unknown yet, fields before it skipped
// only if they are not levels; ``*need_kind`` is set when a level field came before event_type).
static int poly_fields(PredScan* s, od::object obj, int kind, bool* need_kind) {
    int rc;
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return PS_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "event_type") {
            std::string_view et;
            if (f.value().get_string().get(et)) return PS_BAD_SHAPE;
            kind = poly_kind(et);
            if (kind == PS_OTHER) return PS_OTHER;
        } else if (k == "asset_id") {
            if (!ps_token(f.value(), &s->sym, &s->sym_len)) return PS_BAD_SHAPE;
        } else if (k == "timestamp") {
            const char* p; int32_t n;
            if (!ps_token(f.value(), &p, &n)) return PS_BAD_SHAPE;
            if (!skscan::digits_i64(p, n, &s->ts_ms)) return PS_BAD_SHAPE;
        } else if (k == "bids" || k == "buys" || k == "asks" || k == "sells" || k == "price_changes") {
            if (kind < 0) { *need_kind = true; return PS_OTHER; }
            if (kind == PS_SNAPSHOT && k != "price_changes") {
                if ((rc = poly_side(s, f.value(), (k == "bids" || k == "buys") ? 0 : 1)) < 0) return rc;
            } else if (kind == PS_DELTA && k == "price_changes") {
                if ((rc = poly_changes(s, f.value())) < 0) return rc;
            }
        }
    }
    if (kind < 0) return PS_OTHER;
    if (kind == PS_SNAPSHOT && s->sym == nullptr) return PS_BAD_SHAPE;
    return kind;
}

// {"event_type":"book"|"price_change", ...}: one pass when event_type precedes the levels (the
// venue's order); otherwise the kind is looked up first and the object read again.
inline int scan_polymarket(PredScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    int rc = ps_open(s, msg, len, doc, obj);
    if (rc != PS_OPENED) return rc;
    bool need_kind = false;
    rc = poly_fields(s, obj, -1, &need_kind);
    if (!need_kind) return rc;
    ps_reset(s);
    if (ps_load(s, msg, len, doc) != PS_OTHER) return PS_BAD_JSON;
    std::string_view et;
    {
        od::object o2;
        if (doc.get_object().get(o2)) return PS_BAD_JSON;
        od::value ev;
        auto err = skscan::find_field(o2, "event_type", ev);
        if (err == simdjson::NO_SUCH_FIELD) return PS_OTHER;
        if (err || ev.get_string().get(et)) return PS_BAD_SHAPE;
    }
    int kind = poly_kind(et);
    if (kind == PS_OTHER) return PS_OTHER;
    doc.rewind();
    if (doc.get_object().get(obj)) return PS_BAD_JSON;
    return poly_fields(s, obj, kind, &need_kind);
}

// ---- Hyperliquid ------------------------------------------------------------------------------

static int hl_side(PredScan* s, od::value v, int side) {
    return object_levels<HlKeys>(s, v, side, false, PS_SNAPSHOT, no_other_field);
}

static int hl_book(PredScan* s, od::object data) {
    bool levels = false;
    for (auto fr : data) {
        od::field f;
        if (std::move(fr).get(f)) return PS_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "coin") {
            if (!ps_token(f.value(), &s->sym, &s->sym_len)) return PS_BAD_SHAPE;
        } else if (k == "time") {
            if (f.value().get_int64().get(s->ts_ms)) return PS_BAD_SHAPE;
        } else if (k == "levels") {
            od::array sides;
            if (f.value().get_array().get(sides)) return PS_BAD_SHAPE;
            int side = 0;
            for (auto sv : sides) {
                od::value v;
                if (std::move(sv).get(v)) return PS_BAD_JSON;
                if (side > 1) return PS_BAD_SHAPE;
                int rc = hl_side(s, v, side);
                if (rc < 0) return rc;
                side++;
            }
            if (side != 2) return PS_BAD_SHAPE;
            levels = true;
        }
    }
    if (!levels || s->sym == nullptr) return PS_BAD_SHAPE;
    return PS_SNAPSHOT;
}

// {"channel":"l2Book","data":{"coin","time","levels":[[bids],[asks]]}}: every message a full book
inline int scan_hyperliquid(PredScan* s, const char* msg, size_t len) {
    od::document doc;
    od::object obj;
    int rc = ps_open(s, msg, len, doc, obj);
    if (rc != PS_OPENED) return rc;
    bool book = false;
    for (auto fr : obj) {
        od::field f;
        if (std::move(fr).get(f)) return PS_BAD_JSON;
        std::string_view k = f.escaped_key();
        if (k == "channel") {
            std::string_view c;
            if (f.value().get_string().get(c)) return PS_BAD_SHAPE;
            if (c != "l2Book") return PS_OTHER;
            book = true;
        } else if (k == "data") {
            if (!book) {
                // channel after data: look it up first, then read data
                od::document d2;
                if (ps_load(s, msg, len, d2) != PS_OTHER) return PS_BAD_JSON;
                std::string_view c;
                od::object o2;
                od::value cv;
                if (d2.get_object().get(o2)) return PS_BAD_JSON;
                if (skscan::find_field(o2, "channel", cv) || cv.get_string().get(c)) return PS_OTHER;
                if (c != "l2Book") return PS_OTHER;
                od::document d3;
                if (ps_load(s, msg, len, d3) != PS_OTHER) return PS_BAD_JSON;
                od::object o3, data;
                od::value dv;
                if (d3.get_object().get(o3)) return PS_BAD_JSON;
                if (skscan::find_field(o3, "data", dv) || dv.get_object().get(data)) return PS_BAD_SHAPE;
                return hl_book(s, data);
            }
            od::object data;
            if (f.value().get_object().get(data)) return PS_BAD_SHAPE;
            return hl_book(s, data);
        }
    }
    return book ? PS_BAD_SHAPE : PS_OTHER;
}

}  // namespace skpred
