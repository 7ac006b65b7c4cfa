// Keccak-256 (the original Keccak padding 0x01, as Ethereum uses; not SHA3-256's 0x06).
// Keccak-f[1600] on 25 little-endian 64-bit lanes, rate 136 bytes, 32-byte output.
#pragma once
#include <stdint.h>
#include <string.h>

static const uint64_t SK_KECCAK_RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
static const int SK_KECCAK_ROTC[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14,
                                       27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};
static const int SK_KECCAK_PILN[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4,
                                       15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};

static const int SK_M5[10] = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4};   // i mod 5 for i < 10

static inline uint64_t sk_rotl64(uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

static void sk_keccakf(uint64_t st[25]) {
    uint64_t bc[5], t;
    for (int r = 0; r < 24; r++) {
        for (int i = 0; i < 5; i++) bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
        for (int i = 0; i < 5; i++) {
            t = bc[SK_M5[i + 4]] ^ sk_rotl64(bc[SK_M5[i + 1]], 1);
            st[i] ^= t; st[i + 5] ^= t; st[i + 10] ^= t; st[i + 15] ^= t; st[i + 20] ^= t;
        }
        t = st[1];
        for (int i = 0; i < 24; i++) {
            int j = SK_KECCAK_PILN[i];
            bc[0] = st[j];
            st[j] = sk_rotl64(t, SK_KECCAK_ROTC[i]);
            t = bc[0];
        }
        for (int j = 0; j < 25; j += 5) {
            for (int i = 0; i < 5; i++) bc[i] = st[j + i];
            for (int i = 0; i < 5; i++) st[j + i] ^= (~bc[SK_M5[i + 1]]) & bc[SK_M5[i + 2]];
        }
        st[0] ^= SK_KECCAK_RC[r];
    }
}

static inline uint64_t sk_load64(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void sk_keccak256(const unsigned char* in, size_t len, unsigned char out[32]) {
    uint64_t st[25];
    unsigned char block[136];
    memset(st, 0, sizeof(st));
    while (len >= 136) {
        for (int i = 0; i < 17; i++) st[i] ^= sk_load64(in + 8 * i);
        sk_keccakf(st);
        in += 136;
        len -= 136;
    }
    memset(block, 0, sizeof(block));
    if (len) memcpy(block, in, len);
    block[len] ^= 0x01;
    block[135] ^= 0x80;
    for (int i = 0; i < 17; i++) st[i] ^= sk_load64(block + 8 * i);
    sk_keccakf(st);
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++) out[8 * i + b] = (unsigned char)(st[i] >> (8 * b));
}
