// Keccak-256 (the original Keccak padding 0x01, as Ethereum uses; not SHA3-256's 0x06).
// Keccak-f[1600] on 25 little-endian 64-bit lanes, rate 136 bytes, 32-byte output. The
// permutation is written out lane by lane (theta, rho + pi, chi, iota): the lanes stay in
// registers, no table-driven index loops on the signing path.
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

static inline uint64_t sk_rotl64(uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

// generated lane by lane: b[y + 5((2x + 3y) mod 5)] = rotl(a[x + 5y], r[x][y]) for rho + pi
static void sk_keccakf(uint64_t st[25]) {
    uint64_t a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24;
    uint64_t b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24;
    uint64_t c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;
    a0 = st[0];
    a1 = st[1];
    a2 = st[2];
    a3 = st[3];
    a4 = st[4];
    a5 = st[5];
    a6 = st[6];
    a7 = st[7];
    a8 = st[8];
    a9 = st[9];
    a10 = st[10];
    a11 = st[11];
    a12 = st[12];
    a13 = st[13];
    a14 = st[14];
    a15 = st[15];
    a16 = st[16];
    a17 = st[17];
    a18 = st[18];
    a19 = st[19];
    a20 = st[20];
    a21 = st[21];
    a22 = st[22];
    a23 = st[23];
    a24 = st[24];
    for (int r = 0; r < 24; r++) {
        c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
        c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
        c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
        c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
        c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
        d0 = c4 ^ sk_rotl64(c1, 1);
        d1 = c0 ^ sk_rotl64(c2, 1);
        d2 = c1 ^ sk_rotl64(c3, 1);
        d3 = c2 ^ sk_rotl64(c4, 1);
        d4 = c3 ^ sk_rotl64(c0, 1);
        a0 ^= d0;
        a1 ^= d1;
        a2 ^= d2;
        a3 ^= d3;
        a4 ^= d4;
        a5 ^= d0;
        a6 ^= d1;
        a7 ^= d2;
        a8 ^= d3;
        a9 ^= d4;
        a10 ^= d0;
        a11 ^= d1;
        a12 ^= d2;
        a13 ^= d3;
        a14 ^= d4;
        a15 ^= d0;
        a16 ^= d1;
        a17 ^= d2;
        a18 ^= d3;
        a19 ^= d4;
        a20 ^= d0;
        a21 ^= d1;
        a22 ^= d2;
        a23 ^= d3;
        a24 ^= d4;
        b0 = a0;
        b16 = sk_rotl64(a5, 36);
        b7 = sk_rotl64(a10, 3);
        b23 = sk_rotl64(a15, 41);
        b14 = sk_rotl64(a20, 18);
        b10 = sk_rotl64(a1, 1);
        b1 = sk_rotl64(a6, 44);
        b17 = sk_rotl64(a11, 10);
        b8 = sk_rotl64(a16, 45);
        b24 = sk_rotl64(a21, 2);
        b20 = sk_rotl64(a2, 62);
        b11 = sk_rotl64(a7, 6);
        b2 = sk_rotl64(a12, 43);
        b18 = sk_rotl64(a17, 15);
        b9 = sk_rotl64(a22, 61);
        b5 = sk_rotl64(a3, 28);
        b21 = sk_rotl64(a8, 55);
        b12 = sk_rotl64(a13, 25);
        b3 = sk_rotl64(a18, 21);
        b19 = sk_rotl64(a23, 56);
        b15 = sk_rotl64(a4, 27);
        b6 = sk_rotl64(a9, 20);
        b22 = sk_rotl64(a14, 39);
        b13 = sk_rotl64(a19, 8);
        b4 = sk_rotl64(a24, 14);
        a0 = b0 ^ ((~b1) & b2);
        a1 = b1 ^ ((~b2) & b3);
        a2 = b2 ^ ((~b3) & b4);
        a3 = b3 ^ ((~b4) & b0);
        a4 = b4 ^ ((~b0) & b1);
        a5 = b5 ^ ((~b6) & b7);
        a6 = b6 ^ ((~b7) & b8);
        a7 = b7 ^ ((~b8) & b9);
        a8 = b8 ^ ((~b9) & b5);
        a9 = b9 ^ ((~b5) & b6);
        a10 = b10 ^ ((~b11) & b12);
        a11 = b11 ^ ((~b12) & b13);
        a12 = b12 ^ ((~b13) & b14);
        a13 = b13 ^ ((~b14) & b10);
        a14 = b14 ^ ((~b10) & b11);
        a15 = b15 ^ ((~b16) & b17);
        a16 = b16 ^ ((~b17) & b18);
        a17 = b17 ^ ((~b18) & b19);
        a18 = b18 ^ ((~b19) & b15);
        a19 = b19 ^ ((~b15) & b16);
        a20 = b20 ^ ((~b21) & b22);
        a21 = b21 ^ ((~b22) & b23);
        a22 = b22 ^ ((~b23) & b24);
        a23 = b23 ^ ((~b24) & b20);
        a24 = b24 ^ ((~b20) & b21);
        a0 ^= SK_KECCAK_RC[r];
    }
    st[0] = a0;
    st[1] = a1;
    st[2] = a2;
    st[3] = a3;
    st[4] = a4;
    st[5] = a5;
    st[6] = a6;
    st[7] = a7;
    st[8] = a8;
    st[9] = a9;
    st[10] = a10;
    st[11] = a11;
    st[12] = a12;
    st[13] = a13;
    st[14] = a14;
    st[15] = a15;
    st[16] = a16;
    st[17] = a17;
    st[18] = a18;
    st[19] = a19;
    st[20] = a20;
    st[21] = a21;
    st[22] = a22;
    st[23] = a23;
    st[24] = a24;
}

static inline uint64_t sk_load64(const unsigned char* p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
#endif
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
