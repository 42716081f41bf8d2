/* atlas_ca.gost._ecverify: GOST R 34.10-2012 signature verification (§6.2, RFC 7091 §6.2) on
 * a short Weierstrass curve y² = x³ + ax + b over a 256- or 512-bit prime field: the ranges of
 * r and s, e = alpha mod q (1 if 0), v = e^-1, z1 = s·v, z2 = -r·v, C = z1·P + z2·Q and
 * x_C mod q = r. atlas_ca.gost.ecverify chooses the path (prepared key or not) and keeps the
 * tables.
 *
 * Why by hand: OpenSSL's gost engine verifies in ≈ 110-210 µs (256-bit, CryptoPro-A) and
 * precomputes nothing for a public key; libcrypto's generic EC_POINT_mul is slower still; no
 * maintained library offers GOST verification with a precomputed table for a fixed public key
 * (the CA's own key is checked against every certificate it signs). See docs/performance.md,
 * "Issue 17: our own GOST verification".
 *
 * VERIFICATION ONLY, NOT CONSTANT TIME: every input (public key, signature, digest) is public,
 * so branches and table indices depend on data. Never use this code with a secret scalar.
 *
 * Design: Montgomery field arithmetic with 64-bit limbs (4 or 8, unsigned __int128 products;
 * a folded plain product on pseudo-Mersenne primes), Jacobian coordinates with every special
 * case of addition handled (P + P, P + (-P), O), fixed-base tables with signed 5-bit digits
 * (rows j·32^i·P, j = 1..16, affine, built with one batch inversion) for the generator and for
 * prepared keys — one mixed addition per digit, no doubling — and width-5 NAF with the odd
 * multiples 1P..15P for one-off keys. The scalars mod q use the same Montgomery code.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t u64;
typedef unsigned __int128 u128;

/* Add and subtract with carry: the x86-64 instructions where there are (GCC makes poor code of
 * the portable form here), the portable form elsewhere. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
#define ADC(c, a, b, out) _addcarry_u64((c), (a), (b), (unsigned long long *)(out))
#define SBB(c, a, b, out) _subborrow_u64((c), (a), (b), (unsigned long long *)(out))
#else
static inline unsigned char adc_portable(unsigned char c, u64 a, u64 b, u64 *out) {
    u128 s = (u128)a + b + c;
    *out = (u64)s;
    return (unsigned char)(s >> 64);
}
static inline unsigned char sbb_portable(unsigned char c, u64 a, u64 b, u64 *out) {
    u128 d = (u128)a - b - c;
    *out = (u64)d;
    return (unsigned char)((d >> 64) & 1);
}
#define ADC(c, a, b, out) adc_portable((c), (a), (b), (out))
#define SBB(c, a, b, out) sbb_portable((c), (a), (b), (out))
#endif

#define MAX_NL 8
/* Fixed-base tables: signed 5-bit digits (-16..16), so rows of 16 points, one row per digit. */
#define FIXED_W 5
#define FIXED_ROW 16
#define FIXED_ROWS(nl) (((size_t)(nl) * 64 + FIXED_W - 1) / FIXED_W + 1)
/* Width-5 NAF of a scalar of 64·nl bits: at most one digit more than its bits. */
#define NAF_LEN(nl) ((size_t)(nl) * 64 + 1)

typedef struct {
    u64 p[MAX_NL];
    u64 n0;
    u64 pm_k;        /* k when p = 2^(64·nl) - k, k < 2^32 (then R = 1); else 0 */
    u64 one[MAX_NL]; /* R mod p */
    u64 r2[MAX_NL];  /* R² mod p */
    u64 a[MAX_NL];   /* Montgomery form */
    u64 b[MAX_NL];
    u64 q[MAX_NL]; /* normal form: the order of the base point */
    int a_is_minus3;
    int nl;
} Curve;

#define NL 4
#define F(name) name##_4
#include "_ecverify_impl.h"
#undef F
#undef NL

#define NL 8
#define F(name) name##_8
#include "_ecverify_impl.h"
#undef F
#undef NL

/* --- conversions --------------------------------------------------------------------------- */

/* Big-endian bytes (exactly 8·nl of them) to little-endian limbs. */
static void be_to_limbs(u64 *out, const unsigned char *in, int nl) {
    for (int i = 0; i < nl; i++) {
        u64 v = 0;
        const unsigned char *src = in + (size_t)(nl - 1 - i) * 8;
        for (int k = 0; k < 8; k++) v = (v << 8) | src[k];
        out[i] = v;
    }
}

/* a < b as numbers of nl limbs. */
static int limbs_lt(const u64 *a, const u64 *b, int nl) {
    for (int i = nl - 1; i >= 0; i--) {
        if (a[i] != b[i]) return a[i] < b[i];
    }
    return 0;
}

/* Bits pos..pos+w-1 (w <= 8) of a number of nl little-endian limbs; zero past its end. */
static unsigned get_bits(const u64 *k, int nl, size_t pos, unsigned w) {
    size_t li = pos / 64, sh = pos % 64;
    if (li >= (size_t)nl) return 0;
    u64 v = k[li] >> sh;
    if (sh + w > 64 && li + 1 < (size_t)nl) v |= k[li + 1] << (64 - sh);
    return (unsigned)(v & ((1u << w) - 1));
}

/* Signed FIXED_W-bit digits (-16..16) of k: FIXED_ROWS(nl) of them, least significant first. */
static void recode_fixed(int8_t *digits, const u64 *k, int nl) {
    int carry = 0;
    size_t n = FIXED_ROWS(nl) - 1;
    for (size_t i = 0; i < n; i++) {
        int v = (int)get_bits(k, nl, i * FIXED_W, FIXED_W) + carry;
        carry = v > FIXED_ROW;
        digits[i] = (int8_t)(carry ? v - 2 * FIXED_ROW : v);
    }
    digits[n] = (int8_t)carry;
}

/* Width-5 NAF of k (odd digits -15..15 or 0): NAF_LEN(nl) digits, least significant first. */
static void recode_naf(int8_t *digits, const u64 *k_in, int nl) {
    u64 k[MAX_NL + 1];
    memcpy(k, k_in, (size_t)nl * sizeof(u64));
    k[nl] = 0;
    int n = nl + 1;
    for (size_t i = 0; i < NAF_LEN(nl); i++) {
        int d = 0;
        if (k[0] & 1) {
            d = (int)(k[0] & 31);
            if (d >= 16) d -= 32;
            if (d > 0) { /* k -= d */
                u64 borrow = (u64)d;
                for (int j = 0; j < n && borrow; j++) {
                    u64 old = k[j];
                    k[j] = old - borrow;
                    borrow = old < borrow;
                }
            } else { /* k += -d */
                u64 carry = (u64)(-d);
                for (int j = 0; j < n && carry; j++) {
                    k[j] += carry;
                    carry = k[j] < carry;
                }
            }
        }
        digits[i] = (int8_t)d;
        for (int j = 0; j < n - 1; j++) k[j] = (k[j] >> 1) | (k[j + 1] << 63);
        k[n - 1] >>= 1;
    }
}

/* --- Python objects ------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    Curve c;
    Curve qf; /* the scalar field GF(q): Montgomery arithmetic mod q (only p, n0, one, r2) */
    Py_ssize_t nbytes;
    void *gtable; /* fixed-base table of the generator */
} CurveObject;

typedef struct {
    PyObject_HEAD
    CurveObject *curve;
    void *table;
} KeyObject;

static PyTypeObject CurveType;
static PyTypeObject KeyType;

/* One big-endian coordinate or scalar argument of exactly nbytes bytes. */
static int get_fixed(PyObject *obj, Py_buffer *view, Py_ssize_t nbytes, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0) return -1;
    if (view->len != nbytes) {
        PyErr_Format(PyExc_ValueError, "%s must be %zd bytes, got %zd", what, nbytes, view->len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Reads an affine point (x, y), big-endian, checks 0 <= x, y < p and that it is on the curve;
 * writes it in Montgomery form. */
static int read_point(CurveObject *self, PyObject *xo, PyObject *yo, u64 *x, u64 *y) {
    Py_buffer bx, by;
    int nl = self->c.nl;
    if (get_fixed(xo, &bx, self->nbytes, "x") < 0) return -1;
    if (get_fixed(yo, &by, self->nbytes, "y") < 0) {
        PyBuffer_Release(&bx);
        return -1;
    }
    u64 xn[MAX_NL], yn[MAX_NL];
    be_to_limbs(xn, bx.buf, nl);
    be_to_limbs(yn, by.buf, nl);
    PyBuffer_Release(&bx);
    PyBuffer_Release(&by);
    if (!limbs_lt(xn, self->c.p, nl) || !limbs_lt(yn, self->c.p, nl)) {
        PyErr_SetString(PyExc_ValueError, "point coordinate not below p");
        return -1;
    }
    int ok;
    if (nl == 4) {
        to_mont_4(&self->c, x, xn);
        to_mont_4(&self->c, y, yn);
        ok = on_curve_4(&self->c, x, y);
    } else {
        to_mont_8(&self->c, x, xn);
        to_mont_8(&self->c, y, yn);
        ok = on_curve_8(&self->c, x, y);
    }
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "point is not on the curve");
        return -1;
    }
    return 0;
}

static void *make_table(CurveObject *self, const u64 *x, const u64 *y) {
    size_t nl = (size_t)self->c.nl;
    size_t size = FIXED_ROWS(nl) * FIXED_ROW * 2 * nl * sizeof(u64);
    void *table = PyMem_RawMalloc(size);
    if (!table) {
        PyErr_NoMemory();
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = nl == 4 ? build_table_4(&self->c, table, x, y) : build_table_8(&self->c, table, x, y);
    Py_END_ALLOW_THREADS
    if (rc) {
        PyMem_RawFree(table);
        if (rc == -2) PyErr_NoMemory();
        else PyErr_SetString(PyExc_ValueError, "point has small order");
        return NULL;
    }
    return table;
}

static void Curve_dealloc(CurveObject *self) {
    PyMem_RawFree(self->gtable);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Curve_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"p", "a", "b", "q", "x", "y", NULL};
    PyObject *po, *ao, *bo, *qo, *xo, *yo;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOO", kwlist, &po, &ao, &bo, &qo, &xo, &yo))
        return NULL;
    Py_buffer bp, ba, bb, bq;
    if (PyObject_GetBuffer(po, &bp, PyBUF_SIMPLE) < 0) return NULL;
    Py_ssize_t nbytes = bp.len;
    if (nbytes != 32 && nbytes != 64) {
        PyBuffer_Release(&bp);
        PyErr_SetString(PyExc_ValueError, "p must be 32 or 64 bytes (256- or 512-bit field)");
        return NULL;
    }
    CurveObject *self = (CurveObject *)type->tp_alloc(type, 0);
    if (!self) {
        PyBuffer_Release(&bp);
        return NULL;
    }
    self->gtable = NULL;
    self->nbytes = nbytes;
    Curve *c = &self->c;
    memset(c, 0, sizeof *c);
    memset(&self->qf, 0, sizeof self->qf);
    int nl = c->nl = (int)(nbytes / 8);
    be_to_limbs(c->p, bp.buf, nl);
    PyBuffer_Release(&bp);
    /* Montgomery reduction needs p odd; the formulas need p > 3 (a prime field of char > 3). */
    u64 high = 0;
    for (int i = 1; i < nl; i++) high |= c->p[i];
    if (!(c->p[0] & 1) || (high == 0 && c->p[0] <= 3)) {
        PyErr_SetString(PyExc_ValueError, "p must be an odd prime above 3");
        goto fail;
    }
    if (get_fixed(ao, &ba, nbytes, "a") < 0) goto fail;
    if (get_fixed(bo, &bb, nbytes, "b") < 0) {
        PyBuffer_Release(&ba);
        goto fail;
    }
    u64 an[MAX_NL], bn[MAX_NL], three[MAX_NL] = {3}, m3[MAX_NL];
    be_to_limbs(an, ba.buf, nl);
    be_to_limbs(bn, bb.buf, nl);
    PyBuffer_Release(&ba);
    PyBuffer_Release(&bb);
    if (!limbs_lt(an, c->p, nl) || !limbs_lt(bn, c->p, nl)) {
        PyErr_SetString(PyExc_ValueError, "a and b must be below p");
        goto fail;
    }
    if (get_fixed(qo, &bq, nbytes, "q") < 0) goto fail;
    be_to_limbs(c->q, bq.buf, nl);
    PyBuffer_Release(&bq);
    /* GOST R 34.10-2012 §5.2: 2^254 < q < 2^256 or 2^508 < q < 2^512. We need q odd (for
     * Montgomery arithmetic mod q) and q > 2^(64·nl-4), so that a digest is reduced mod q by
     * at most 15 subtractions. */
    if (!(c->q[0] & 1) || c->q[nl - 1] < ((u64)1 << 60)) {
        PyErr_SetString(PyExc_ValueError, "q must be an odd prime above 2^(bits-4)");
        goto fail;
    }
    memcpy(self->qf.p, c->q, sizeof c->q);
    self->qf.nl = nl;
    if (nl == 4) init_constants_4(&self->qf);
    else init_constants_8(&self->qf);

    if (nl == 4) {
        init_constants_4(c);
        sub_raw_4(m3, c->p, three);
    } else {
        init_constants_8(c);
        sub_raw_8(m3, c->p, three);
    }
    c->a_is_minus3 = memcmp(an, m3, (size_t)nl * sizeof(u64)) == 0;
    if (nl == 4) {
        to_mont_4(c, c->a, an);
        to_mont_4(c, c->b, bn);
    } else {
        to_mont_8(c, c->a, an);
        to_mont_8(c, c->b, bn);
    }
    u64 gx[MAX_NL], gy[MAX_NL];
    if (read_point(self, xo, yo, gx, gy) < 0) goto fail;
    self->gtable = make_table(self, gx, gy);
    if (!self->gtable) goto fail;
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

static PyObject *Curve_prepare(CurveObject *self, PyObject *args) {
    PyObject *xo, *yo;
    if (!PyArg_ParseTuple(args, "OO:prepare", &xo, &yo)) return NULL;
    u64 x[MAX_NL], y[MAX_NL];
    if (read_point(self, xo, yo, x, y) < 0) return NULL;
    KeyObject *key = PyObject_New(KeyObject, &KeyType);
    if (!key) return NULL;
    key->table = make_table(self, x, y);
    Py_INCREF(self);
    key->curve = self;
    if (!key->table) {
        Py_DECREF(key);
        return NULL;
    }
    return (PyObject *)key;
}

/* a^-1 mod m for 0 < a < m, m odd, by the binary extended Euclidean algorithm (variable time:
 * public data only). 3-4 times faster than CPython's pow(a, -1, q) for 256 bits. x1, x2 carry
 * one limb more, for x + m before halving when m fills its limbs. */
static void inv_mod(u64 *out, const u64 *a, const u64 *m, int nl) {
    u64 u[MAX_NL], v[MAX_NL], x1[MAX_NL + 1], x2[MAX_NL + 1];
    memcpy(u, a, (size_t)nl * sizeof(u64));
    memcpy(v, m, (size_t)nl * sizeof(u64));
    memset(x1, 0, sizeof x1);
    memset(x2, 0, sizeof x2);
    x1[0] = 1;
    for (;;) {
        int u_one = u[0] == 1, v_one = v[0] == 1;
        u64 u_any = u[0], v_any = v[0];
        for (int i = 1; i < nl; i++) {
            u_one &= u[i] == 0;
            v_one &= v[i] == 0;
            u_any |= u[i];
            v_any |= v[i];
        }
        if (!u_any || !v_any) { /* gcd(a, m) > 1: m is not prime; never for a real set */
            memset(out, 0, (size_t)nl * sizeof(u64));
            return;
        }
        if (u_one || v_one) {
            memcpy(out, u_one ? x1 : x2, (size_t)nl * sizeof(u64));
            return;
        }
        for (int w = 0; w < 2; w++) {
            u64 *g = w ? v : u, *x = w ? x2 : x1;
            while (!(g[0] & 1)) {
                for (int i = 0; i < nl - 1; i++) g[i] = (g[i] >> 1) | (g[i + 1] << 63);
                g[nl - 1] >>= 1;
                if (x[0] & 1) {
                    unsigned char cy = 0;
                    for (int i = 0; i < nl; i++) cy = ADC(cy, x[i], m[i], &x[i]);
                    x[nl] = cy;
                }
                for (int i = 0; i < nl; i++) x[i] = (x[i] >> 1) | (x[i + 1] << 63);
                x[nl] = 0;
            }
        }
        /* the larger of u, v loses the smaller; its x loses the other x, mod m */
        int u_ge = !limbs_lt(u, v, nl);
        u64 *g = u_ge ? u : v, *h = u_ge ? v : u;
        u64 *xg = u_ge ? x1 : x2, *xh = u_ge ? x2 : x1;
        unsigned char bw = 0;
        for (int i = 0; i < nl; i++) bw = SBB(bw, g[i], h[i], &g[i]);
        bw = 0;
        for (int i = 0; i < nl; i++) bw = SBB(bw, xg[i], xh[i], &xg[i]);
        if (bw) {
            unsigned char cy = 0;
            for (int i = 0; i < nl; i++) cy = ADC(cy, xg[i], m[i], &xg[i]);
        }
    }
}

/* a·b mod q for a, b < q in normal form, through the Montgomery field of q: (a·b·R^-1)·R²·R^-1. */
static void mul_mod_q(CurveObject *self, u64 *r, const u64 *a, const u64 *b) {
    if (self->c.nl == 4) {
        fe_mul_4(&self->qf, r, a, b);
        fe_mul_4(&self->qf, r, r, self->qf.r2);
    } else {
        fe_mul_8(&self->qf, r, a, b);
        fe_mul_8(&self->qf, r, r, self->qf.r2);
    }
}

/* GOST R 34.10-2012 §6.2 steps 1-5 from the digest (little-endian, as X.509 and PKCS#11 read
 * it) and the signature s||r (big-endian): 0 < r, s < q, e = alpha mod q (1 if 0), v = e^-1,
 * z1 = s·v, z2 = -r·v mod q; then the digits of z1 (fixed base) and of z2 (fixed base or NAF).
 * Returns 1, or 0 when r or s is outside 1..q-1. */
static int scalars_from_signature(CurveObject *self, const unsigned char *digest,
                                  const unsigned char *sig, int8_t *d1, int8_t *d2, int naf2,
                                  u64 *r) {
    int nl = self->c.nl;
    const u64 *q = self->c.q;
    u64 sv[MAX_NL], e[MAX_NL], v[MAX_NL], z[MAX_NL], d[MAX_NL];
    be_to_limbs(sv, sig, nl);
    be_to_limbs(r, sig + (size_t)nl * 8, nl);
    u64 rz = 0, sz = 0;
    for (int i = 0; i < nl; i++) {
        rz |= r[i];
        sz |= sv[i];
    }
    if (!rz || !sz || !limbs_lt(r, q, nl) || !limbs_lt(sv, q, nl)) return 0;
    for (int i = 0; i < nl; i++) {
        u64 w = 0;
        for (int k = 7; k >= 0; k--) w = (w << 8) | digest[(size_t)i * 8 + (size_t)k];
        e[i] = w;
    }
    while (!limbs_lt(e, q, nl)) {
        unsigned char bw = 0;
        for (int i = 0; i < nl; i++) bw = SBB(bw, e[i], q[i], &e[i]);
    }
    u64 ez = 0;
    for (int i = 0; i < nl; i++) ez |= e[i];
    if (!ez) e[0] = 1;
    inv_mod(v, e, q, nl);
    mul_mod_q(self, z, sv, v);
    recode_fixed(d1, z, nl);
    unsigned char bw = 0;
    for (int i = 0; i < nl; i++) bw = SBB(bw, q[i], r[i], &d[i]); /* q - r, in 1..q-1 */
    mul_mod_q(self, z, d, v);
    if (naf2) recode_naf(d2, z, nl);
    else recode_fixed(d2, z, nl);
    return 1;
}

/* z1, z2 and r, big-endian of the curve's size: the digits of z1 (fixed base), of z2 (fixed
 * base or NAF) and r as limbs. Returns 1, 0 when r is outside 1..q-1, -1 on an error. */
static int read_scalars(CurveObject *self, PyObject *z1o, PyObject *z2o, PyObject *ro, int8_t *d1,
                        int8_t *d2, int naf2, u64 *r) {
    Py_buffer b1, b2, br;
    int nl = self->c.nl;
    u64 k[MAX_NL];
    if (get_fixed(z1o, &b1, self->nbytes, "z1") < 0) return -1;
    be_to_limbs(k, b1.buf, nl);
    PyBuffer_Release(&b1);
    recode_fixed(d1, k, nl);
    if (get_fixed(z2o, &b2, self->nbytes, "z2") < 0) return -1;
    be_to_limbs(k, b2.buf, nl);
    PyBuffer_Release(&b2);
    if (naf2) recode_naf(d2, k, nl);
    else recode_fixed(d2, k, nl);
    if (get_fixed(ro, &br, self->nbytes, "r") < 0) return -1;
    be_to_limbs(r, br.buf, nl);
    PyBuffer_Release(&br);
    u64 zero = 0;
    for (int i = 0; i < nl; i++) zero |= r[i];
    return zero != 0 && limbs_lt(r, self->c.q, nl);
}

/* x(z1·G + z2·Q) == r for a prepared Q: both terms from fixed-base tables. No Python. */
static int combine_prepared(CurveObject *self, KeyObject *key, int8_t *d1,
                            int8_t *d2, u64 *r) {
    if (self->c.nl == 4) {
        jac_4 acc;
        jac_set_inf_4(&self->c, &acc);
        add_fixed_4(&self->c, &acc, self->gtable, d1);
        add_fixed_4(&self->c, &acc, key->table, d2);
        return x_matches_4(&self->c, &acc, r);
    }
    jac_8 acc;
    jac_set_inf_8(&self->c, &acc);
    add_fixed_8(&self->c, &acc, self->gtable, d1);
    add_fixed_8(&self->c, &acc, key->table, d2);
    return x_matches_8(&self->c, &acc, r);
}

/* x(z1·G + z2·Q) == r for a one-off Q (NAF digits d2); *bad is set when Q has small order. */
static int combine_var(CurveObject *self, u64 *qx, u64 *qy, int8_t *d1,
                       int8_t *d2, u64 *r, int *bad) {
    if (self->c.nl == 4) {
        jac_4 acc;
        *bad = mul_var_4(&self->c, &acc, qx, qy, d2);
        if (*bad) return 0;
        add_fixed_4(&self->c, &acc, self->gtable, d1);
        return x_matches_4(&self->c, &acc, r);
    }
    jac_8 acc;
    *bad = mul_var_8(&self->c, &acc, qx, qy, d2);
    if (*bad) return 0;
    add_fixed_8(&self->c, &acc, self->gtable, d1);
    return x_matches_8(&self->c, &acc, r);
}

static PyObject *Curve_check_prepared(CurveObject *self, PyObject *args) {
    PyObject *z1o, *z2o, *ro, *ko;
    if (!PyArg_ParseTuple(args, "OOOO!:check_prepared", &z1o, &z2o, &ro, &KeyType, &ko))
        return NULL;
    KeyObject *key = (KeyObject *)ko;
    if (key->curve != self) {
        PyErr_SetString(PyExc_ValueError, "the key was prepared on another curve");
        return NULL;
    }
    int8_t d1[FIXED_ROWS(MAX_NL)], d2[FIXED_ROWS(MAX_NL)];
    u64 r[MAX_NL];
    int in_range = read_scalars(self, z1o, z2o, ro, d1, d2, 0, r);
    if (in_range < 0) return NULL;
    if (!in_range) Py_RETURN_FALSE;
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = combine_prepared(self, key, d1, d2, r);
    Py_END_ALLOW_THREADS
    return PyBool_FromLong(ok);
}

static PyObject *Curve_check(CurveObject *self, PyObject *args) {
    PyObject *z1o, *z2o, *ro, *xo, *yo;
    if (!PyArg_ParseTuple(args, "OOOOO:check", &z1o, &z2o, &ro, &xo, &yo)) return NULL;
    u64 qx[MAX_NL], qy[MAX_NL];
    if (read_point(self, xo, yo, qx, qy) < 0) return NULL;
    int8_t d1[FIXED_ROWS(MAX_NL)], d2[NAF_LEN(MAX_NL)];
    u64 r[MAX_NL];
    int in_range = read_scalars(self, z1o, z2o, ro, d1, d2, 1, r);
    if (in_range < 0) return NULL;
    if (!in_range) Py_RETURN_FALSE;
    int ok = 0, bad;
    Py_BEGIN_ALLOW_THREADS
    ok = combine_var(self, qx, qy, d1, d2, r, &bad);
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "point has small order");
        return NULL;
    }
    return PyBool_FromLong(ok);
}

/* The digest and the signature s||r of a full verification, checked for length. */
static int read_signed(CurveObject *self, PyObject *mo, PyObject *so, Py_buffer *bm,
                       Py_buffer *bs) {
    if (get_fixed(mo, bm, self->nbytes, "digest") < 0) return -1;
    if (get_fixed(so, bs, 2 * self->nbytes, "signature") < 0) {
        PyBuffer_Release(bm);
        return -1;
    }
    return 0;
}

static PyObject *Curve_verify_prepared(CurveObject *self, PyObject *args) {
    PyObject *mo, *so, *ko;
    if (!PyArg_ParseTuple(args, "OOO!:verify_prepared", &mo, &so, &KeyType, &ko)) return NULL;
    KeyObject *key = (KeyObject *)ko;
    if (key->curve != self) {
        PyErr_SetString(PyExc_ValueError, "the key was prepared on another curve");
        return NULL;
    }
    Py_buffer bm, bs;
    if (read_signed(self, mo, so, &bm, &bs) < 0) return NULL;
    int8_t d1[FIXED_ROWS(MAX_NL)], d2[FIXED_ROWS(MAX_NL)];
    u64 r[MAX_NL];
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = scalars_from_signature(self, bm.buf, bs.buf, d1, d2, 0, r);
    if (ok) {
        ok = combine_prepared(self, key, d1, d2, r);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&bm);
    PyBuffer_Release(&bs);
    return PyBool_FromLong(ok);
}

static PyObject *Curve_verify(CurveObject *self, PyObject *args) {
    PyObject *mo, *so, *xo, *yo;
    if (!PyArg_ParseTuple(args, "OOOO:verify", &mo, &so, &xo, &yo)) return NULL;
    u64 qx[MAX_NL], qy[MAX_NL];
    if (read_point(self, xo, yo, qx, qy) < 0) return NULL;
    Py_buffer bm, bs;
    if (read_signed(self, mo, so, &bm, &bs) < 0) return NULL;
    int8_t d1[FIXED_ROWS(MAX_NL)], d2[NAF_LEN(MAX_NL)];
    u64 r[MAX_NL];
    int ok, bad = 0;
    Py_BEGIN_ALLOW_THREADS
    ok = scalars_from_signature(self, bm.buf, bs.buf, d1, d2, 1, r);
    if (ok) {
        ok = combine_var(self, qx, qy, d1, d2, r, &bad);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&bm);
    PyBuffer_Release(&bs);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "point has small order");
        return NULL;
    }
    return PyBool_FromLong(ok && !bad);
}

static PyObject *Curve_on_curve(CurveObject *self, PyObject *args) {
    PyObject *xo, *yo;
    if (!PyArg_ParseTuple(args, "OO:on_curve", &xo, &yo)) return NULL;
    u64 x[MAX_NL], y[MAX_NL];
    if (read_point(self, xo, yo, x, y) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) return NULL;
        PyErr_Clear();
        Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

static PyObject *Curve_get_size(CurveObject *self, void *closure) {
    (void)closure;
    return PyLong_FromSsize_t(self->nbytes);
}

static PyMethodDef Curve_methods[] = {
    {"prepare", (PyCFunction)Curve_prepare, METH_VARARGS,
     "prepare(x, y) -> PreparedKey: the fixed-base table of a public key (big-endian\n"
     "coordinates, checked below p and on the curve)."},
    {"verify_prepared", (PyCFunction)Curve_verify_prepared, METH_VARARGS,
     "verify_prepared(digest, signature, key) -> bool: GOST R 34.10-2012 6.2 in full: the\n"
     "digest read little-endian, the signature s||r big-endian (X.509, PKCS#11), the public\n"
     "key a PreparedKey of this curve; False when r or s is not in 1..q-1."},
    {"verify", (PyCFunction)Curve_verify, METH_VARARGS,
     "verify(digest, signature, x, y) -> bool: as verify_prepared for a point (x, y), big-\n"
     "endian, without a table (checked below p and on the curve)."},
    {"check_prepared", (PyCFunction)Curve_check_prepared, METH_VARARGS,
     "check_prepared(z1, z2, r, key) -> bool: 6.2 steps 6-7 alone: C = z1*G + z2*Q is finite\n"
     "and x_C mod q == r; z1, z2, r big-endian of the curve's size (tests of the special\n"
     "cases); False when r is not in 1..q-1."},
    {"check", (PyCFunction)Curve_check, METH_VARARGS,
     "check(z1, z2, r, x, y) -> bool: as check_prepared for a point without a table."},
    {"on_curve", (PyCFunction)Curve_on_curve, METH_VARARGS,
     "on_curve(x, y) -> bool: True if (x, y) (big-endian, below p) is a point of the curve."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Curve_getset[] = {
    {"size", (getter)Curve_get_size, NULL, "bytes per coordinate and scalar: 32 or 64", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject CurveType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "atlas_ca.gost._ecverify.Curve",
    .tp_basicsize = sizeof(CurveObject),
    .tp_dealloc = (destructor)Curve_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Curve(p, a, b, q, x, y): y^2 = x^3 + a*x + b over GF(p) with base point (x, y) of\n"
              "prime order q, all big-endian bytes of 32 or 64; builds the base point's\n"
              "fixed-base table.\n"
              "Verification arithmetic only: not constant time.",
    .tp_methods = Curve_methods,
    .tp_getset = Curve_getset,
    .tp_new = Curve_new,
};

static void Key_dealloc(KeyObject *self) {
    PyMem_RawFree(self->table);
    Py_XDECREF(self->curve);
    PyObject_Free(self);
}

static PyTypeObject KeyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "atlas_ca.gost._ecverify.PreparedKey",
    .tp_basicsize = sizeof(KeyObject),
    .tp_dealloc = (destructor)Key_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A public key's fixed-base table, made by Curve.prepare.",
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "atlas_ca.gost._ecverify",
    .m_doc = "GOST R 34.10-2012 verification arithmetic (z1*G + z2*Q); not constant time.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__ecverify(void) {
    if (PyType_Ready(&CurveType) < 0 || PyType_Ready(&KeyType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&CurveType);
    if (PyModule_AddObject(m, "Curve", (PyObject *)&CurveType) < 0) {
        Py_DECREF(&CurveType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&KeyType);
    if (PyModule_AddObject(m, "PreparedKey", (PyObject *)&KeyType) < 0) {
        Py_DECREF(&KeyType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
