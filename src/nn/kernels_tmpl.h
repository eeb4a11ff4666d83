/* nn/kernels_tmpl.h - the child model's kernels, written once over a scalar
 * type and compiled twice by kernels.c: REAL = float (training, prefix
 * taml_kernel_) and REAL = double (the double-precision gradient checks, prefix
 * taml_kerneld_). One source for both means the gradient checks test the very code
 * that trains, not a second copy of it. No include guard: included twice.
 *
 * Conventions: plain functions over REAL pointers with explicit sizes; every
 * tensor pointer has its shape in a comment; matrices are row-major. Parameter
 * gradients and dense-layer input gradients are ADDED into (zeroing is an
 * explicit call); the element-wise backward kernels (activation, dropout,
 * normalisation) WRITE their input gradient and may run in place (dx == dy),
 * which saves a pass and a buffer per layer in the hot path.
 *
 * Needs before inclusion: REAL, KF(name) (the function name), GEMM (a function
 * with taml_blas_sgemm's contract over REAL), EXP, SQRT, HOT (attributes of the
 * loops that matter for speed: see kernels.c).
 */

/* out = in @ w + b. */
void KF(dense_forward)(REAL *out /* (B, Out) */, const REAL *in /* (B, In) */,
                       const REAL *w /* (In, Out) */, const REAL *b /* (Out) */, int B,
                       int In, int Out)
{
    for (int i = 0; i < B; i++) memcpy(out + (size_t)i * Out, b, (size_t)Out * sizeof(REAL));
    GEMM(0, 0, B, Out, In, 1, in, In, w, Out, 1, out, Out);
}

/* dw += in^T dout; db += column sums of dout; din += dout w^T (din may be NULL:
 * the input needs no gradient). */
HOT void KF(dense_backward)(REAL *din /* (B, In) or NULL */, REAL *dw /* (In, Out) */,
                        REAL *db /* (Out) */, const REAL *dout /* (B, Out) */,
                        const REAL *in /* (B, In) */, const REAL *w /* (In, Out) */, int B,
                        int In, int Out)
{
    GEMM(1, 0, In, Out, B, 1, in, In, dout, Out, 1, dw, Out);
    for (int i = 0; i < B; i++) {
        const REAL *d = dout + (size_t)i * Out;
        for (int j = 0; j < Out; j++) db[j] += d[j];
    }
    if (din) GEMM(0, 1, B, In, Out, 1, dout, Out, w, Out, 1, din, In);
}

/* y = relu(x) or swish(x) = x * sigmoid(x); y may be x. */
HOT void KF(act_forward)(REAL *y /* (n) */, const REAL *x /* (n) */, size_t n, int act)
{
    if (act == 0) {
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
    } else {
        for (size_t i = 0; i < n; i++) y[i] = x[i] / (1 + EXP(-x[i]));
    }
}

/* dx = dy * act'(x), x the activation's input; dx may be dy. */
HOT void KF(act_backward)(REAL *dx /* (n) */, const REAL *dy /* (n) */, const REAL *x /* (n) */,
                      size_t n, int act)
{
    if (act == 0) {
        for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
    } else {
        for (size_t i = 0; i < n; i++) {
            REAL s = 1 / (1 + EXP(-x[i]));
            dx[i] = dy[i] * s * (1 + x[i] * (1 - s));
        }
    }
}

/* Inverted dropout with a given mask: mask holds 0 (dropped) or 1/(1-p), so
 * y = x * mask and evaluation needs no rescaling. The forward and the
 * backward are the same product; y (dx) may be x (dy). */
HOT void KF(dropout_apply)(REAL *y /* (n) */, const REAL *x /* (n) */, const REAL *mask /* (n) */,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] * mask[i];
}

/* Batch norm in training: per column h, mean[h] and var[h] (biased) of the
 * batch; xhat = (x - mean) / sqrt(var + eps); y = gamma xhat + beta. */
HOT void KF(batchnorm_forward_train)(REAL *y /* (B, H) */, REAL *xhat /* (B, H) */,
                                 REAL *mean /* (H) */, REAL *var /* (H) */,
                                 const REAL *x /* (B, H) */, const REAL *gamma /* (H) */,
                                 const REAL *beta /* (H) */, int B, int H, REAL eps)
{
    for (int j = 0; j < H; j++) mean[j] = var[j] = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < H; j++) mean[j] += x[(size_t)i * H + j];
    for (int j = 0; j < H; j++) mean[j] /= B;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < H; j++) {
            REAL d = x[(size_t)i * H + j] - mean[j];
            var[j] += d * d;
        }
    for (int j = 0; j < H; j++) var[j] /= B;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < H; j++) {
            size_t k = (size_t)i * H + j;
            xhat[k] = (x[k] - mean[j]) / SQRT(var[j] + eps);
            y[k] = gamma[j] * xhat[k] + beta[j];
        }
}

/* Batch norm in evaluation: the running averages instead of batch statistics. */
void KF(batchnorm_forward_eval)(REAL *y /* (B, H) */, const REAL *x /* (B, H) */,
                                const REAL *gamma /* (H) */, const REAL *beta /* (H) */,
                                const REAL *rmean /* (H) */, const REAL *rvar /* (H) */, int B,
                                int H, REAL eps)
{
    for (int i = 0; i < B; i++)
        for (int j = 0; j < H; j++) {
            size_t k = (size_t)i * H + j;
            y[k] = gamma[j] * (x[k] - rmean[j]) / SQRT(rvar[j] + eps) + beta[j];
        }
}

/* Running averages after a training step: r = (1 - m) r + m batch, with the
 * unbiased batch variance (var * B / (B - 1)), as PyTorch and TF's fused batch
 * norm do; m = 0.01 is TF's momentum 0.99. */
void KF(batchnorm_update_running)(REAL *rmean /* (H) */, REAL *rvar /* (H) */,
                                  const REAL *mean /* (H) */, const REAL *var /* (H) */, int B,
                                  int H, REAL m)
{
    REAL bessel = B > 1 ? (REAL)B / (REAL)(B - 1) : 1;
    for (int j = 0; j < H; j++) {
        rmean[j] = (1 - m) * rmean[j] + m * mean[j];
        rvar[j] = (1 - m) * rvar[j] + m * var[j] * bessel;
    }
}

/* dx = d(loss)/dx through batch-norm training statistics (written; dx may be
 * dy); dgamma, dbeta added. */
HOT void KF(batchnorm_backward)(REAL *dx /* (B, H) */, REAL *dgamma /* (H) */, REAL *dbeta /* (H) */,
                            REAL *colsum /* (2 H) scratch */, const REAL *dy /* (B, H) */,
                            const REAL *xhat /* (B, H) */, const REAL *gamma /* (H) */,
                            const REAL *var /* (H) */, int B, int H, REAL eps)
{
    REAL *sd = colsum, *sdx = colsum + H; /* sums of dxhat and dxhat * xhat */
    for (int j = 0; j < H; j++) sd[j] = sdx[j] = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < H; j++) {
            size_t k = (size_t)i * H + j;
            dgamma[j] += dy[k] * xhat[k];
            dbeta[j] += dy[k];
            REAL g = dy[k] * gamma[j];
            sd[j] += g;
            sdx[j] += g * xhat[k];
        }
    for (int i = 0; i < B; i++)
        for (int j = 0; j < H; j++) {
            size_t k = (size_t)i * H + j;
            REAL istd = 1 / SQRT(var[j] + eps);
            dx[k] = istd / B * (B * dy[k] * gamma[j] - sd[j] - xhat[k] * sdx[j]);
        }
}

/* Layer norm: per row, statistics over its H values; y = gamma xhat + beta. */
HOT void KF(layernorm_forward)(REAL *y /* (B, H) */, REAL *xhat /* (B, H) */, REAL *rstd /* (B) */,
                           const REAL *x /* (B, H) */, const REAL *gamma /* (H) */,
                           const REAL *beta /* (H) */, int B, int H, REAL eps)
{
    for (int i = 0; i < B; i++) {
        const REAL *xi = x + (size_t)i * H;
        REAL mean = 0, var = 0;
        for (int j = 0; j < H; j++) mean += xi[j];
        mean /= H;
        for (int j = 0; j < H; j++) var += (xi[j] - mean) * (xi[j] - mean);
        var /= H;
        REAL r = 1 / SQRT(var + eps);
        rstd[i] = r;
        for (int j = 0; j < H; j++) {
            size_t k = (size_t)i * H + j;
            xhat[k] = (xi[j] - mean) * r;
            y[k] = gamma[j] * xhat[k] + beta[j];
        }
    }
}

/* dx written (may be dy); dgamma, dbeta added. */
HOT void KF(layernorm_backward)(REAL *dx /* (B, H) */, REAL *dgamma /* (H) */, REAL *dbeta /* (H) */,
                            const REAL *dy /* (B, H) */, const REAL *xhat /* (B, H) */,
                            const REAL *rstd /* (B) */, const REAL *gamma /* (H) */, int B, int H)
{
    for (int i = 0; i < B; i++) {
        REAL sd = 0, sdx = 0;
        for (int j = 0; j < H; j++) {
            size_t k = (size_t)i * H + j;
            dgamma[j] += dy[k] * xhat[k];
            dbeta[j] += dy[k];
            REAL g = dy[k] * gamma[j];
            sd += g;
            sdx += g * xhat[k];
        }
        for (int j = 0; j < H; j++) {
            size_t k = (size_t)i * H + j;
            dx[k] = rstd[i] / H * (H * dy[k] * gamma[j] - sd - xhat[k] * sdx);
        }
    }
}

/* Softmax cross-entropy summed over the batch: returns the loss (in double,
 * whatever REAL is) and adds p - onehot(label) to dlogits. A non-finite logit
 * gives a non-finite loss, which the caller treats as divergence. */
HOT double KF(softmax_xent)(REAL *dlogits /* (B, C) */, const REAL *logits /* (B, C) */,
                        const int32_t *labels /* (B) */, int B, int C)
{
    double loss = 0;
    for (int i = 0; i < B; i++) {
        const REAL *z = logits + (size_t)i * C;
        REAL *d = dlogits + (size_t)i * C;
        REAL mx = z[0];
        for (int j = 1; j < C; j++) mx = z[j] > mx ? z[j] : mx;
        REAL s = 0;
        for (int j = 0; j < C; j++) s += EXP(z[j] - mx);
        loss += (double)(mx - z[labels[i]]) + log((double)s);
        for (int j = 0; j < C; j++) d[j] += EXP(z[j] - mx) / s - (j == labels[i]);
    }
    return loss;
}

/* A sparse gradient: the rows of a (n_rows, width) table touched by a batch,
 * each once (duplicate ids summed into the same slot), as TF's sparse apply
 * sees them after it sums duplicates. Storage is carved by the caller. */
/* KF(sparse) (declared in kernels.h): slot (n_rows) slot of each table row,
 * -1 when untouched; rows (cap) table row of each slot, in first-touch order;
 * g (cap, width) gradient of each slot. */

/* The gradient row of table row r, zeroed on first touch. */
static inline REAL *KF(sparse_row)(KF(sparse) *s, int32_t r)
{
    int32_t k = s->slot[r];
    if (k < 0) {
        TAML_ASSERT(s->n < s->cap);
        k = s->slot[r] = s->n++;
        s->rows[k] = r;
        memset(s->g + (size_t)k * s->width, 0, (size_t)s->width * sizeof(REAL));
    }
    return s->g + (size_t)k * s->width;
}

/* Forgets the touched rows (the explicit zeroing of a sparse gradient). */
void KF(sparse_clear)(KF(sparse) *s)
{
    for (int32_t k = 0; k < s->n; k++) s->slot[s->rows[k]] = -1;
    s->n = 0;
}

/* Mean bag of embeddings: out[b] = mean of table rows ids[off[e] .. off[e+1])
 * with e = ex[b] (the batch's example ids); no ids gives the zero vector. */
HOT void KF(embed_mean_forward)(REAL *out /* (B, D) */, const REAL *table /* (R, D) */,
                            const int64_t *off /* (n + 1) */, const int32_t *ids /* (off[n]) */,
                            const int32_t *ex /* (B) */, int B, int D)
{
    for (int b = 0; b < B; b++) {
        REAL *o = out + (size_t)b * D;
        memset(o, 0, (size_t)D * sizeof(REAL));
        int64_t lo = off[ex[b]], hi = off[ex[b] + 1];
        if (b + 2 < B) { /* the id slice of the example after next (a random slice) */
            __builtin_prefetch(ids + off[ex[b + 2]]);
            __builtin_prefetch(ids + off[ex[b + 2]] + 16);
        }
        for (int64_t t = lo; t < hi; t++) {
            /* random rows of a table that rarely fits in cache: every line of
             * the row three tokens ahead */
            if (t + 3 < hi) {
                const char *p = (const char *)(table + (size_t)ids[t + 3] * D);
                for (size_t j = 0; j < (size_t)D * sizeof(REAL); j += 64) __builtin_prefetch(p + j);
            }
            const REAL *row = table + (size_t)ids[t] * D;
            for (int j = 0; j < D; j++) o[j] += row[j];
        }
        if (hi > lo) {
            REAL inv = (REAL)1 / (REAL)(hi - lo);
            for (int j = 0; j < D; j++) o[j] *= inv;
        }
    }
}

/* Adds dout[b] / count to the gradient row of each id of example ex[b]. */
HOT void KF(embed_mean_backward)(KF(sparse) *g, const REAL *dout /* (B, D) */,
                             const int64_t *off, const int32_t *ids, const int32_t *ex, int B,
                             int D)
{
    for (int b = 0; b < B; b++) {
        int64_t lo = off[ex[b]], hi = off[ex[b] + 1];
        if (hi == lo) continue;
        REAL inv = (REAL)1 / (REAL)(hi - lo);
        const REAL *d = dout + (size_t)b * D;
        for (int64_t t = lo; t < hi; t++) {
            REAL *gr = KF(sparse_row)(g, ids[t]);
            for (int j = 0; j < D; j++) gr[j] += d[j] * inv;
        }
    }
}

/* The wide tower's per-example loops, written once over the class count C
 * and inlined with C a constant for the common small counts (the sums then
 * stay in registers instead of going through memory once per token). */
static inline __attribute__((always_inline)) void KF(wide_fwd_ex)(REAL *o, const REAL *table,
                                                                  const REAL *bias,
                                                                  const int32_t *ids, int64_t lo,
                                                                  int64_t hi, int C)
{
    REAL s[16];
    for (int j = 0; j < C; j++) s[j] = o[j] + bias[j];
    for (int64_t t = lo; t < hi; t++) {
        /* rows are random reads of a table that may not fit in cache */
        if (t + 4 < hi) __builtin_prefetch(table + (size_t)ids[t + 4] * C);
        const REAL *row = table + (size_t)ids[t] * C;
        for (int j = 0; j < C; j++) s[j] += row[j];
    }
    for (int j = 0; j < C; j++) o[j] = s[j];
}

static inline __attribute__((always_inline)) void KF(wide_bwd_ex)(KF(sparse) *g, REAL *dbias,
                                                                  const REAL *d,
                                                                  const int32_t *ids, int64_t lo,
                                                                  int64_t hi, int C)
{
    for (int j = 0; j < C; j++) dbias[j] += d[j];
    for (int64_t t = lo; t < hi; t++) {
        REAL *gr = KF(sparse_row)(g, ids[t]);
        for (int j = 0; j < C; j++) gr[j] += d[j];
    }
}

/* C = 2 .. 8 each get their own copy of LOOP(C); larger counts the generic one. */
#define WIDE_BY_C(C, LOOP)                \
    switch (C) {                          \
    case 2: LOOP(2); break;               \
    case 3: LOOP(3); break;               \
    case 4: LOOP(4); break;               \
    case 5: LOOP(5); break;               \
    case 6: LOOP(6); break;               \
    case 7: LOOP(7); break;               \
    case 8: LOOP(8); break;               \
    default: LOOP(C); break;              \
    }

/* Wide tower: out[b] += bias + sum of table rows ids[off[e] .. off[e+1]) (a
 * linear layer on the bag-of-tokens count vector, as a lookup-and-sum). */
HOT void KF(wide_forward)(REAL *out /* (B, C) */, const REAL *table /* (V, C) */,
                      const REAL *bias /* (C) */, const int64_t *off, const int32_t *ids,
                      const int32_t *ex /* (B) */, int B, int C)
{
    if (C > 16) { /* more classes than the register copy holds: sums in place */
        for (int b = 0; b < B; b++) {
            REAL *o = out + (size_t)b * C;
            for (int j = 0; j < C; j++) o[j] += bias[j];
            for (int64_t t = off[ex[b]]; t < off[ex[b] + 1]; t++) {
                if (t + 4 < off[ex[b] + 1]) __builtin_prefetch(table + (size_t)ids[t + 4] * C);
                const REAL *row = table + (size_t)ids[t] * C;
                for (int j = 0; j < C; j++) o[j] += row[j];
            }
        }
        return;
    }
    /* each example's ids are a random slice of the task's id list: fetch the
     * slice of the example after next while this one is summed */
#define FWD(CC)                                                                                 \
    for (int b = 0; b < B; b++) {                                                               \
        if (b + 2 < B) {                                                                        \
            __builtin_prefetch(ids + off[ex[b + 2]]);                                           \
            __builtin_prefetch(ids + off[ex[b + 2]] + 16);                                      \
        }                                                                                       \
        KF(wide_fwd_ex)(out + (size_t)b * (CC), table, bias, ids, off[ex[b]], off[ex[b] + 1],   \
                        (CC));                                                                  \
    }
    WIDE_BY_C(C, FWD)
#undef FWD
}

/* Adds dout[b] to the gradient row of each id of example ex[b] (a repeated
 * token adds once per occurrence) and the column sums of dout to dbias. */
HOT void KF(wide_backward)(KF(sparse) *g, REAL *dbias /* (C) */, const REAL *dout /* (B, C) */,
                       const int64_t *off, const int32_t *ids, const int32_t *ex, int B, int C)
{
#define BWD(CC)                                                                                 \
    for (int b = 0; b < B; b++)                                                                 \
    KF(wide_bwd_ex)(g, dbias, dout + (size_t)b * (CC), ids, off[ex[b]], off[ex[b] + 1], (CC))
    WIDE_BY_C(C, BWD)
#undef BWD
}

/* ---- the n-gram wide tower and the subword deep input (beyond the paper) ---- */

/* The weight of a feature seen c >= 1 times in an example: c (count),
 * 1 (binary) or 1 + ln c (log, sklearn's sublinear tf; tfidf multiplies it
 * by the feature's idf and the example's scale, see wide_part_forward). */
static inline REAL KF(term_weight)(int32_t c, int weighting)
{
    if (weighting == 1 || c == 1) return 1;
    return weighting >= 2 ? 1 + LOG((REAL)c) : (REAL)c;
}

/* The weight of entry t of an example whose scale is sc (tfidf only). */
static inline REAL KF(entry_weight)(const int32_t *ids, const int32_t *cnt, const float *idf,
                                    int64_t t, REAL sc, int weighting)
{
    REAL w = KF(term_weight)(cnt[t], weighting);
    if (idf) w = w * (REAL)idf[ids[t]] * sc;
    return w;
}

static inline __attribute__((always_inline)) void KF(part_fwd_ex)(REAL *o, const REAL *table,
                                                                  const int32_t *ids,
                                                                  const int32_t *cnt,
                                                                  const float *idf, REAL sc,
                                                                  int64_t lo, int64_t hi,
                                                                  int weighting, int C)
{
    REAL s[16];
    for (int j = 0; j < C; j++) s[j] = o[j];
    if (weighting == 1) {
        for (int64_t t = lo; t < hi; t++) {
            if (t + 4 < hi) __builtin_prefetch(table + (size_t)ids[t + 4] * C);
            const REAL *row = table + (size_t)ids[t] * C;
            for (int j = 0; j < C; j++) s[j] += row[j];
        }
    } else {
        for (int64_t t = lo; t < hi; t++) {
            if (t + 4 < hi) __builtin_prefetch(table + (size_t)ids[t + 4] * C);
            const REAL *row = table + (size_t)ids[t] * C;
            REAL w = KF(entry_weight)(ids, cnt, idf, t, sc, weighting);
            for (int j = 0; j < C; j++) s[j] += w * row[j];
        }
    }
    for (int j = 0; j < C; j++) o[j] = s[j];
}

/* One part of the n-gram wide tower: out[b] += sum over example ex[b]'s
 * features (ids, each once, seen cnt times) of their weight times the table
 * row base + id. tfidf (weighting 3): the weight is (1 + ln cnt) idf[id]
 * scale[ex[b]] (idf and scale NULL for the other weightings). The bias is
 * the caller's (added once over all parts). */
HOT void KF(wide_part_forward)(REAL *out /* (B, C) */, const REAL *table /* (V, C) */,
                               const int64_t *off, const int32_t *ids, const int32_t *cnt,
                               const float *idf /* (rows) */, const float *scale /* (n) */,
                               int32_t base, int weighting, const int32_t *ex /* (B) */, int B,
                               int C)
{
    const REAL *tab = table + (size_t)base * C;
    if (C > 16) {
        for (int b = 0; b < B; b++) {
            REAL *o = out + (size_t)b * C, sc = scale ? (REAL)scale[ex[b]] : 1;
            for (int64_t t = off[ex[b]]; t < off[ex[b] + 1]; t++) {
                const REAL *row = tab + (size_t)ids[t] * C;
                REAL w = KF(entry_weight)(ids, cnt, idf, t, sc, weighting);
                for (int j = 0; j < C; j++) o[j] += w * row[j];
            }
        }
        return;
    }
#define FWD(CC)                                                                                 \
    for (int b = 0; b < B; b++) {                                                               \
        if (b + 2 < B) {                                                                        \
            __builtin_prefetch(ids + off[ex[b + 2]]);                                           \
            __builtin_prefetch(cnt + off[ex[b + 2]]);                                           \
        }                                                                                       \
        KF(part_fwd_ex)(out + (size_t)b * (CC), tab, ids, cnt, idf,                             \
                        scale ? (REAL)scale[ex[b]] : 1, off[ex[b]], off[ex[b] + 1], weighting,  \
                        (CC));                                                                  \
    }
    WIDE_BY_C(C, FWD)
#undef FWD
}

static inline __attribute__((always_inline)) void KF(part_bwd_ex)(KF(sparse) *g, const REAL *d,
                                                                  const int32_t *ids,
                                                                  const int32_t *cnt,
                                                                  const float *idf, REAL sc,
                                                                  int64_t lo, int64_t hi,
                                                                  int32_t base, int weighting,
                                                                  int C)
{
    for (int64_t t = lo; t < hi; t++) {
        int32_t r = base + ids[t], k = g->slot[r];
        if (t + 4 < hi) __builtin_prefetch(g->slot + base + ids[t + 4]);
        REAL *gr;
        if (k < 0) { /* first touch: the row's gradient is this one (as sparse_row, unrolled) */
            TAML_ASSERT(g->n < g->cap);
            k = g->slot[r] = g->n++;
            g->rows[k] = r;
            gr = g->g + (size_t)k * C;
            for (int j = 0; j < C; j++) gr[j] = 0;
        } else {
            gr = g->g + (size_t)k * C;
        }
        if (weighting == 1 || (cnt[t] == 1 && !idf)) {
            for (int j = 0; j < C; j++) gr[j] += d[j];
        } else {
            REAL w = KF(entry_weight)(ids, cnt, idf, t, sc, weighting);
            for (int j = 0; j < C; j++) gr[j] += w * d[j];
        }
    }
}

/* Adds each feature's weight times dout[b] to the gradient row base + id of
 * example ex[b]'s features (the bias's gradient is the caller's). */
HOT void KF(wide_part_backward)(KF(sparse) *g, const REAL *dout /* (B, C) */, const int64_t *off,
                                const int32_t *ids, const int32_t *cnt, const float *idf,
                                const float *scale, int32_t base, int weighting,
                                const int32_t *ex, int B, int C)
{
    TAML_ASSERT(g->width == C);
#define BWD(CC)                                                                                 \
    for (int b = 0; b < B; b++)                                                                 \
    KF(part_bwd_ex)(g, dout + (size_t)b * (CC), ids, cnt, idf, scale ? (REAL)scale[ex[b]] : 1,  \
                    off[ex[b]], off[ex[b] + 1], base, weighting, (CC))
    WIDE_BY_C(C, BWD)
#undef BWD
}

/* The deep input with subwords: out[b] is the mean, over example ex[b]'s
 * tokens that have a vector, of the token vectors: a module row table[id]
 * for the rows ids[off[e] ..) of the tokens the module knows, and for each
 * token words[soff[e] ..) it lacks, the mean of its n-gram vectors
 * sub[wrows[woff[w] .. woff[w+1])]. No such token gives the zero vector.
 * table may be NULL when no example has a module row. */
HOT void KF(subword_mean_forward)(REAL *out /* (B, D) */, const REAL *table /* (R, D) */,
                                  const int64_t *off, const int32_t *ids,
                                  const REAL *sub /* (S, D) */, const int64_t *soff,
                                  const int32_t *words, const int64_t *woff,
                                  const int32_t *wrows, const int32_t *ex, int B, int D)
{
    for (int b = 0; b < B; b++) {
        REAL *o = out + (size_t)b * D;
        memset(o, 0, (size_t)D * sizeof(REAL));
        int e = ex[b];
        for (int64_t t = off[e]; t < off[e + 1]; t++) {
            const REAL *row = table + (size_t)ids[t] * D;
            for (int j = 0; j < D; j++) o[j] += row[j];
        }
        for (int64_t k = soff[e]; k < soff[e + 1]; k++) {
            int32_t w = words[k];
            REAL inv = (REAL)1 / (REAL)(woff[w + 1] - woff[w]);
            for (int64_t q = woff[w]; q < woff[w + 1]; q++) {
                const REAL *row = sub + (size_t)wrows[q] * D;
                for (int j = 0; j < D; j++) o[j] += inv * row[j];
            }
        }
        int64_t n = (off[e + 1] - off[e]) + (soff[e + 1] - soff[e]);
        if (n > 0) {
            REAL inv = (REAL)1 / (REAL)n;
            for (int j = 0; j < D; j++) o[j] *= inv;
        }
    }
}

/* The gradients of subword_mean_forward: dout[b] / n to the module rows
 * (gemb; NULL when the module is frozen) and dout[b] / (n m) to each n-gram
 * row of a token with m of them (gsub). */
HOT void KF(subword_mean_backward)(KF(sparse) *gemb, KF(sparse) *gsub, const REAL *dout /* (B, D) */,
                                   const int64_t *off, const int32_t *ids, const int64_t *soff,
                                   const int32_t *words, const int64_t *woff,
                                   const int32_t *wrows, const int32_t *ex, int B, int D)
{
    for (int b = 0; b < B; b++) {
        int e = ex[b];
        int64_t n = (off[e + 1] - off[e]) + (soff[e + 1] - soff[e]);
        if (n == 0) continue;
        REAL inv = (REAL)1 / (REAL)n;
        const REAL *d = dout + (size_t)b * D;
        if (gemb)
            for (int64_t t = off[e]; t < off[e + 1]; t++) {
                REAL *gr = KF(sparse_row)(gemb, ids[t]);
                for (int j = 0; j < D; j++) gr[j] += d[j] * inv;
            }
        for (int64_t k = soff[e]; k < soff[e + 1]; k++) {
            int32_t w = words[k];
            REAL s = inv / (REAL)(woff[w + 1] - woff[w]);
            for (int64_t q = woff[w]; q < woff[w + 1]; q++) {
                REAL *gr = KF(sparse_row)(gsub, wrows[q]);
                for (int j = 0; j < D; j++) gr[j] += d[j] * s;
            }
        }
    }
}
