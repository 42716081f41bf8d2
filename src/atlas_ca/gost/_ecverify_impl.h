/* Field and point arithmetic of _ecverify.c for NL 64-bit limbs: included once with NL = 4
 * (256-bit sets) and once with NL = 8 (512-bit sets), so the compiler sees constant loop
 * bounds. F(name) makes the names of one instantiation (name_4, name_8).
 *
 * Field elements are NL little-endian limbs in Montgomery form (x·R mod p, R = 2^(64·NL)),
 * always fully reduced to [0, p). Points are Jacobian (X, Y, Z), x = X/Z², y = Y/Z³; Z = 0 is
 * the point at infinity. Affine table points are (x, y) in Montgomery form. Nothing here is
 * constant time: only public data (keys, signatures, digests) is ever computed on.
 */

typedef struct {
    u64 x[NL], y[NL];
} F(aff);

typedef struct {
    u64 x[NL], y[NL], z[NL];
} F(jac);

static inline int F(fe_is_zero)(const u64 *a) {
    u64 acc = 0;
    for (int i = 0; i < NL; i++) acc |= a[i];
    return acc == 0;
}

static inline int F(fe_eq)(const u64 *a, const u64 *b) {
    u64 acc = 0;
    for (int i = 0; i < NL; i++) acc |= a[i] ^ b[i];
    return acc == 0;
}

/* r = a - b over NL limbs, returns the borrow. */
static inline u64 F(sub_raw)(u64 *r, const u64 *a, const u64 *b) {
    unsigned char borrow = 0;
    for (int i = 0; i < NL; i++) borrow = SBB(borrow, a[i], b[i], &r[i]);
    return borrow;
}

/* Branchless: which way a carry goes is data, and a mispredicted branch costs more than the
 * select (this is about speed, not secrecy). */
static inline void F(fe_select)(u64 *r, const u64 *if_mask, const u64 *otherwise, u64 mask) {
    for (int i = 0; i < NL; i++) r[i] = (if_mask[i] & mask) | (otherwise[i] & ~mask);
}

static inline void F(fe_add)(const Curve *c, u64 *r, const u64 *a, const u64 *b) {
    u64 t[NL], d[NL];
    unsigned char carry = 0;
    for (int i = 0; i < NL; i++) carry = ADC(carry, a[i], b[i], &t[i]);
    u64 borrow = F(sub_raw)(d, t, c->p);
    /* a + b < 2p: keep the sum only when it did not carry out and is below p. */
    F(fe_select)(r, t, d, (u64)0 - (borrow & (u64)(carry ^ 1)));
}

static inline void F(fe_sub)(const Curve *c, u64 *r, const u64 *a, const u64 *b) {
    u64 t[NL];
    u64 mask = (u64)0 - F(sub_raw)(t, a, b);
    unsigned char carry = 0;
    for (int i = 0; i < NL; i++) carry = ADC(carry, t[i], c->p[i] & mask, &r[i]);
}

static inline void F(fe_neg)(const Curve *c, u64 *r, const u64 *a) {
    if (F(fe_is_zero)(a)) {
        memset(r, 0, NL * sizeof(u64));
        return;
    }
    F(sub_raw)(r, c->p, a);
}

/* a·b mod p for p = 2^(64·NL) - k, k < 2^32 (pm_k != 0: TC26 256 paramSetA/B and the
 * CryptoPro-A curve, 512 paramSetA/C): the 2·NL-limb product folded twice with
 * 2^(64·NL) ≡ k. Such curves keep elements in normal form (R = 1: one = r2 = 1). */
static void F(fe_mul_pm)(const Curve *c, u64 *r, const u64 *a, const u64 *b) {
    u64 t[2 * NL], lo[NL], d[NL];
    const u64 k = c->pm_k;
    for (int i = 0; i < NL; i++) {
        u64 carry = 0, bi = b[i];
        for (int j = 0; j < NL; j++) {
            u128 x = (u128)a[j] * bi + (i ? t[i + j] : 0) + carry;
            t[i + j] = (u64)x;
            carry = (u64)(x >> 64);
        }
        t[i + NL] = carry;
    }
    u64 carry = 0;
    for (int i = 0; i < NL; i++) {
        u128 x = (u128)t[NL + i] * k + t[i] + carry;
        lo[i] = (u64)x;
        carry = (u64)(x >> 64);
    }
    /* lo + carry·2^(64·NL) ≡ lo + carry·k, carry·k < 2^64. Should that overflow again, lo is
     * then below carry·k and adding k once more cannot. */
    unsigned char cy = ADC(0, lo[0], carry * k, &lo[0]);
    for (int i = 1; i < NL; i++) cy = ADC(cy, lo[i], 0, &lo[i]);
    cy = ADC(0, lo[0], k & ((u64)0 - cy), &lo[0]);
    for (int i = 1; i < NL; i++) cy = ADC(cy, lo[i], 0, &lo[i]);
    /* lo < 2^(64·NL) < 2p: lo >= p exactly when lo + k carries out, and lo - p is then the
     * low limbs of lo + k. */
    cy = ADC(0, lo[0], k, &d[0]);
    for (int i = 1; i < NL; i++) cy = ADC(cy, lo[i], 0, &d[i]);
    F(fe_select)(r, d, lo, (u64)0 - (u64)cy);
}

/* Montgomery product a·b·R^-1 mod p (CIOS, Koç–Acar–Kaliski 1996); inputs < p, output < p.
 * t stays below 2p < 2^(64·NL+1), so t[NL+1] holds at most one bit. */
static void F(fe_mul)(const Curve *c, u64 *r, const u64 *a, const u64 *b) {
    if (c->pm_k) {
        F(fe_mul_pm)(c, r, a, b);
        return;
    }
    u64 t[NL + 2];
    memset(t, 0, sizeof t);
    const u64 *p = c->p;
    for (int i = 0; i < NL; i++) {
        u64 carry = 0;
        u64 bi = b[i];
        for (int j = 0; j < NL; j++) {
            u128 x = (u128)a[j] * bi + t[j] + carry;
            t[j] = (u64)x;
            carry = (u64)(x >> 64);
        }
        u128 x = (u128)t[NL] + carry;
        t[NL] = (u64)x;
        t[NL + 1] = (u64)(x >> 64);
        u64 m = t[0] * c->n0;
        x = (u128)m * p[0] + t[0];
        carry = (u64)(x >> 64);
        for (int j = 1; j < NL; j++) {
            x = (u128)m * p[j] + t[j] + carry;
            t[j - 1] = (u64)x;
            carry = (u64)(x >> 64);
        }
        x = (u128)t[NL] + carry;
        t[NL - 1] = (u64)x;
        t[NL] = t[NL + 1] + (u64)(x >> 64);
    }
    u64 d[NL];
    u64 borrow = F(sub_raw)(d, t, p);
    F(fe_select)(r, t, d, (u64)0 - (borrow & (t[NL] == 0)));
}

static inline void F(fe_sqr)(const Curve *c, u64 *r, const u64 *a) { F(fe_mul)(c, r, a, a); }

static inline void F(to_mont)(const Curve *c, u64 *r, const u64 *a) { F(fe_mul)(c, r, a, c->r2); }

/* a^(p-2) = a^-1 (p prime, Fermat), fixed 4-bit windows over the exponent; a != 0. */
static void F(fe_inv)(const Curve *c, u64 *r, const u64 *a) {
    u64 pow[16][NL], e[NL], acc[NL];
    u64 two[NL] = {2};
    F(sub_raw)(e, c->p, two);
    memcpy(pow[0], c->one, sizeof pow[0]);
    memcpy(pow[1], a, sizeof pow[1]);
    for (int i = 2; i < 16; i++) F(fe_mul)(c, pow[i], pow[i - 1], a);
    memcpy(acc, c->one, sizeof acc);
    for (int i = NL * 16 - 1; i >= 0; i--) {
        for (int k = 0; k < 4; k++) F(fe_sqr)(c, acc, acc);
        unsigned nib = (unsigned)(e[i / 16] >> (4 * (i % 16))) & 15;
        if (nib) F(fe_mul)(c, acc, acc, pow[nib]);
    }
    memcpy(r, acc, sizeof acc);
}

static inline void F(jac_set_inf)(const Curve *c, F(jac) *r) {
    memcpy(r->x, c->one, NL * sizeof(u64));
    memcpy(r->y, c->one, NL * sizeof(u64));
    memset(r->z, 0, NL * sizeof(u64));
}

static inline int F(jac_is_inf)(const F(jac) *p) { return F(fe_is_zero)(p->z); }

/* r = 2·p: "dbl-2001-b" (3M + 5S) when a = -3, as on most GOST sets, else "dbl-2007-bl"
 * (Bernstein–Lange, Explicit-Formulas Database). A point with y = 0 has order 2: its double
 * is infinity. r may alias p. */
static void F(jac_dbl)(const Curve *c, F(jac) *r, const F(jac) *p) {
    if (F(jac_is_inf)(p) || F(fe_is_zero)(p->y)) {
        F(jac_set_inf)(c, r);
        return;
    }
    u64 t[NL], u[NL], m[NL], s[NL], yy[NL], zz[NL];
    F(fe_sqr)(c, zz, p->z);
    F(fe_sqr)(c, yy, p->y);
    if (c->a_is_minus3) {
        /* alpha = 3(X - delta)(X + delta), beta = X·gamma (delta = ZZ, gamma = YY) */
        F(fe_sub)(c, t, p->x, zz);
        F(fe_add)(c, u, p->x, zz);
        F(fe_mul)(c, m, t, u);
        F(fe_add)(c, t, m, m);
        F(fe_add)(c, m, t, m);
        F(fe_mul)(c, s, p->x, yy);
        F(fe_add)(c, s, s, s);
        F(fe_add)(c, s, s, s); /* S = 4·beta */
    } else {
        u64 xx[NL];
        F(fe_sqr)(c, xx, p->x);
        F(fe_add)(c, m, xx, xx);
        F(fe_add)(c, m, m, xx);
        F(fe_sqr)(c, t, zz);
        F(fe_mul)(c, t, t, c->a);
        F(fe_add)(c, m, m, t); /* M = 3XX + a·ZZ² */
        F(fe_mul)(c, s, p->x, yy);
        F(fe_add)(c, s, s, s);
        F(fe_add)(c, s, s, s); /* S = 4·X·YY */
    }
    /* Z3 = (Y+Z)² - YY - ZZ, before X and Y are overwritten. */
    F(fe_add)(c, u, p->y, p->z);
    F(fe_sqr)(c, u, u);
    F(fe_sub)(c, u, u, yy);
    F(fe_sub)(c, r->z, u, zz);
    F(fe_sqr)(c, t, m);
    F(fe_sub)(c, t, t, s);
    F(fe_sub)(c, t, t, s); /* X3 = M² - 2S */
    F(fe_sub)(c, u, s, t);
    F(fe_mul)(c, u, m, u);
    F(fe_sqr)(c, yy, yy);
    F(fe_add)(c, yy, yy, yy);
    F(fe_add)(c, yy, yy, yy);
    F(fe_add)(c, yy, yy, yy); /* 8·YY² */
    F(fe_sub)(c, r->y, u, yy);
    memcpy(r->x, t, sizeof t);
}

/* r = p + (x2, y2) affine ("madd-2007-bl" without the doubling shortcut). Every special case:
 * p = O gives the affine point; equal x and equal y doubles; equal x, opposite y gives O.
 * r may alias p. */
static void F(jac_add_aff)(const Curve *c, F(jac) *r, const F(jac) *p, const u64 *x2,
                           const u64 *y2) {
    if (F(jac_is_inf)(p)) {
        memcpy(r->x, x2, NL * sizeof(u64));
        memcpy(r->y, y2, NL * sizeof(u64));
        memcpy(r->z, c->one, NL * sizeof(u64));
        return;
    }
    u64 z1z1[NL], u2[NL], s2[NL], h[NL], rr[NL], hh[NL], hhh[NL], v[NL], t[NL];
    F(fe_sqr)(c, z1z1, p->z);
    F(fe_mul)(c, u2, x2, z1z1);
    F(fe_mul)(c, s2, y2, p->z);
    F(fe_mul)(c, s2, s2, z1z1);
    F(fe_sub)(c, h, u2, p->x);
    F(fe_sub)(c, rr, s2, p->y);
    if (F(fe_is_zero)(h)) {
        if (F(fe_is_zero)(rr)) F(jac_dbl)(c, r, p);
        else F(jac_set_inf)(c, r);
        return;
    }
    F(fe_sqr)(c, hh, h);
    F(fe_mul)(c, hhh, h, hh);
    F(fe_mul)(c, v, p->x, hh);
    F(fe_mul)(c, r->z, p->z, h);
    F(fe_sqr)(c, t, rr);
    F(fe_sub)(c, t, t, hhh);
    F(fe_sub)(c, t, t, v);
    F(fe_sub)(c, t, t, v); /* X3 = R² - HHH - 2V */
    F(fe_sub)(c, v, v, t);
    F(fe_mul)(c, v, rr, v);
    F(fe_mul)(c, hhh, p->y, hhh);
    F(fe_sub)(c, r->y, v, hhh);
    memcpy(r->x, t, sizeof t);
}

/* Affine forms of n finite Jacobian points with one inversion (Montgomery's trick).
 * Returns 0, or -1 if a point is at infinity (then out is unspecified). */
static int F(batch_to_affine)(const Curve *c, F(aff) *out, const F(jac) *in, size_t n,
                              u64 (*scratch)[NL]) {
    u64 acc[NL], inv[NL], zi[NL], zi2[NL];
    memcpy(acc, c->one, sizeof acc);
    for (size_t i = 0; i < n; i++) {
        if (F(jac_is_inf)(&in[i])) return -1;
        memcpy(scratch[i], acc, sizeof acc);
        F(fe_mul)(c, acc, acc, in[i].z);
    }
    F(fe_inv)(c, inv, acc);
    for (size_t i = n; i-- > 0;) {
        F(fe_mul)(c, zi, inv, scratch[i]); /* 1/Z_i */
        F(fe_mul)(c, inv, inv, in[i].z);
        F(fe_sqr)(c, zi2, zi);
        F(fe_mul)(c, out[i].x, in[i].x, zi2);
        F(fe_mul)(c, zi2, zi2, zi);
        F(fe_mul)(c, out[i].y, in[i].y, zi2);
    }
    return 0;
}

/* The fixed-base table of an affine point: FIXED_ROWS(NL) rows, row i holding j·32^i·P for
 * j = 1..16 (signed 5-bit digits need no more). Returns 0, -1 on a point of small order (a
 * multiple at infinity), -2 on no memory. */
static int F(build_table)(const Curve *c, F(aff) *table, const u64 *x, const u64 *y) {
    const size_t rows = FIXED_ROWS(NL), n = rows * FIXED_ROW;
    F(jac) *jp = PyMem_RawMalloc(n * sizeof *jp);
    u64 (*scratch)[NL] = PyMem_RawMalloc(n * sizeof *scratch);
    F(aff) *bases = PyMem_RawMalloc(rows * sizeof *bases);
    int rc = -2;
    if (!jp || !scratch || !bases) goto done;
    /* 32^i·P for every row, then their affine forms (one inversion). */
    F(jac_set_inf)(c, &jp[0]);
    F(jac_add_aff)(c, &jp[0], &jp[0], x, y);
    for (size_t i = 1; i < rows; i++) {
        F(jac_dbl)(c, &jp[i], &jp[i - 1]);
        for (int k = 1; k < FIXED_W; k++) F(jac_dbl)(c, &jp[i], &jp[i]);
    }
    rc = F(batch_to_affine)(c, bases, jp, rows, scratch);
    if (rc) goto done;
    /* Row i: B, 2B, ..., 16B with B affine (mixed additions), then all affine at once. */
    for (size_t i = 0; i < rows; i++) {
        F(jac) *row = &jp[i * FIXED_ROW];
        F(jac_set_inf)(c, &row[0]);
        F(jac_add_aff)(c, &row[0], &row[0], bases[i].x, bases[i].y);
        F(jac_dbl)(c, &row[1], &row[0]);
        for (int j = 2; j < FIXED_ROW; j++)
            F(jac_add_aff)(c, &row[j], &row[j - 1], bases[i].x, bases[i].y);
    }
    rc = F(batch_to_affine)(c, table, jp, n, scratch);
done:
    PyMem_RawFree(jp);
    PyMem_RawFree(scratch);
    PyMem_RawFree(bases);
    return rc;
}

static inline void F(add_signed)(const Curve *c, F(jac) *acc, const F(aff) *pt, int negative) {
    if (negative) {
        u64 ny[NL];
        F(fe_neg)(c, ny, pt->y);
        F(jac_add_aff)(c, acc, acc, pt->x, ny);
    } else {
        F(jac_add_aff)(c, acc, acc, pt->x, pt->y);
    }
}

/* acc += k·P for the fixed-base table of P and k's signed 5-bit digits: one mixed addition per
 * non-zero digit, no doublings. */
static void F(add_fixed)(const Curve *c, F(jac) *acc, const F(aff) *table, const int8_t *digits) {
    for (size_t i = 0; i < FIXED_ROWS(NL); i++) {
        int d = digits[i];
        if (d) F(add_signed)(c, acc, &table[i * FIXED_ROW + (size_t)(d < 0 ? -d : d) - 1], d < 0);
    }
}

/* acc = k·P for a point without a table, k in width-5 NAF (odd digits -15..15, at least four
 * zeros after each): odd multiples 1P..15P (affine, one inversion), then one doubling per bit
 * and a mixed addition per non-zero digit, most significant first. Returns 0, or -1 if P has
 * small order. */
static int F(mul_var)(const Curve *c, F(jac) *acc, const u64 *x, const u64 *y,
                      const int8_t *naf) {
    F(jac) all[15], odd[8];
    F(aff) tab[8];
    u64 scratch[8][NL];
    F(jac_set_inf)(c, &all[0]);
    F(jac_add_aff)(c, &all[0], &all[0], x, y);
    F(jac_dbl)(c, &all[1], &all[0]);
    for (int j = 2; j < 15; j++) F(jac_add_aff)(c, &all[j], &all[j - 1], x, y);
    for (int j = 0; j < 8; j++) odd[j] = all[2 * j];
    if (F(batch_to_affine)(c, tab, odd, 8, scratch)) return -1;
    F(jac_set_inf)(c, acc);
    for (size_t i = NAF_LEN(NL); i-- > 0;) {
        F(jac_dbl)(c, acc, acc);
        int d = naf[i];
        if (d) F(add_signed)(c, acc, &tab[((d < 0 ? -d : d) - 1) / 2], d < 0);
    }
    return 0;
}

/* GOST R 34.10-2012 §6.2 step 7 without an inversion: x_C mod q = r holds for an x_C in
 * [0, p) exactly when x_C = r + j·q for some j >= 0 with r + j·q < p, and x_C = X/Z², so each
 * candidate is tested as X = cand·Z² (two products). r is in normal form, 0 < r < q. */
static int F(x_matches)(const Curve *c, const F(jac) *acc, const u64 *r) {
    if (F(jac_is_inf)(acc)) return 0;
    u64 zz[NL], cand[NL], t[NL];
    F(fe_sqr)(c, zz, acc->z);
    memcpy(cand, r, sizeof cand);
    for (;;) {
        u64 d[NL];
        if (!F(sub_raw)(d, cand, c->p)) return 0; /* cand >= p */
        F(to_mont)(c, t, cand);
        F(fe_mul)(c, t, t, zz);
        if (F(fe_eq)(t, acc->x)) return 1;
        u64 carry = 0;
        for (int i = 0; i < NL; i++) {
            u128 s = (u128)cand[i] + c->q[i] + carry;
            cand[i] = (u64)s;
            carry = (u64)(s >> 64);
        }
        if (carry) return 0;
    }
}

/* y² = x³ + a·x + b for (x, y) in Montgomery form. */
static int F(on_curve)(const Curve *c, const u64 *x, const u64 *y) {
    u64 l[NL], r[NL];
    F(fe_sqr)(c, l, y);
    F(fe_sqr)(c, r, x);
    F(fe_add)(c, r, r, c->a);
    F(fe_mul)(c, r, r, x);
    F(fe_add)(c, r, r, c->b);
    return F(fe_eq)(l, r);
}

/* Curve constants from p (normal form): n0 = -p^-1 mod 2^64, one = R mod p, R² mod p. */
static void F(init_constants)(Curve *c) {
    u64 inv = 1;
    for (int i = 0; i < 6; i++) inv *= 2 - c->p[0] * inv; /* Newton: p·inv ≡ 1 mod 2^64 */
    c->n0 = (u64)0 - inv;
    u64 x[NL];
    memset(x, 0, sizeof x);
    x[0] = 1;
    /* 1 < p, doubled 64·NL times mod p is R mod p; 64·NL more times is R² mod p. */
    for (int i = 0; i < 64 * NL; i++) F(fe_add)(c, x, x, x);
    memcpy(c->one, x, sizeof x);
    for (int i = 0; i < 64 * NL; i++) F(fe_add)(c, x, x, x);
    memcpy(c->r2, x, sizeof x);
    /* p = 2^(64·NL) - k with k < 2^32: fe_mul_pm, elements in normal form. */
    u64 high = ~(u64)0;
    for (int i = 1; i < NL; i++) high &= c->p[i];
    if (high == ~(u64)0 && c->p[0] > ~(u64)0 - ((u64)1 << 32)) {
        c->pm_k = (u64)0 - c->p[0];
        memset(c->one, 0, sizeof x);
        c->one[0] = 1;
        memcpy(c->r2, c->one, sizeof x);
    }
}

