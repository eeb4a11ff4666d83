/* nn/net_tmpl.h - body of the two-tower net (contract in net.h), compiled
 * twice by net.c. Needs REAL, NF(name) (net function), KF(name) (kernel), NET
 * (the struct type), SUBT (its subword struct type), GEMM. No include guard. */

#define BN_EPS 1e-3
#define LN_EPS 1e-3
#define BN_MOMENTUM 0.01 /* TF's momentum 0.99 */

/* Walks the layout: with block NULL only counts bytes. One function for both
 * so size and carve cannot disagree. */
static size_t NF(layout)(NET *n, const taml_net_shape *s, char *block)
{
    size_t off = 0;
#define TAKE(ptr, count, type)                                                                 \
    do {                                                                                       \
        size_t bytes_ = taml_align_up((size_t)(count) * sizeof(type), 64);                             \
        if (block) (ptr) = (type *)(void *)(block + off);                                      \
        off += bytes_;                                                                         \
    } while (0)
    int B = s->B, D = s->D, L = s->L, H = s->H, C = s->C;
    size_t n_deep = 0;
    if (D > 0) {
        for (int l = 0; l < L; l++)
            n_deep += (size_t)(l ? H : D) * H + H + (s->norm ? 2 * (size_t)H : 0);
        n_deep += (size_t)H * C + C;
    }
    REAL *deep = NULL, *ddeep = NULL;
    TAKE(deep, n_deep, REAL);
    TAKE(ddeep, n_deep, REAL);
    if (block) {
        n->s = *s;
        n->deep = deep;
        n->ddeep = ddeep;
        n->n_deep = n_deep;
        size_t p = 0;
        for (int l = 0; D > 0 && l <= L; l++) {
            size_t in = l == 0 ? (size_t)D : (size_t)H, out = l == L ? (size_t)C : (size_t)H;
            n->w[l] = deep + p, n->dw[l] = ddeep + p, p += in * out;
            n->b[l] = deep + p, n->db[l] = ddeep + p, p += out;
            if (l < L && s->norm) {
                n->gam[l] = deep + p, n->dgam[l] = ddeep + p, p += out;
                n->bet[l] = deep + p, n->dbet[l] = ddeep + p, p += out;
            }
        }
        TAML_ASSERT(p == n_deep);
    }
    if (s->wide_rows > 0) {
        TAKE(n->wide, C, REAL);
        TAKE(n->dwide, C, REAL);
        TAKE(n->wtab, s->wide_rows * C, REAL);
        TAKE(n->gwide.slot, s->wide_rows, int32_t);
        TAKE(n->gwide.rows, s->wide_cap, int32_t);
        TAKE(n->gwide.g, (size_t)s->wide_cap * C, REAL);
        if (block) n->n_wide = (size_t)C;
    } else if (s->wide_dense > 0) {
        size_t nw = (size_t)C + (size_t)s->wide_dense * C;
        TAKE(n->wide, nw, REAL);
        TAKE(n->dwide, nw, REAL);
        TAKE(n->xw, (size_t)B * s->wide_dense, REAL);
        if (block) n->n_wide = nw;
    }
    if (D > 0) {
        size_t BH = (size_t)L * B * H;
        TAKE(n->x0, (size_t)B * D, REAL);
        if (s->emb_rows > 0) {
            TAKE(n->emb, s->emb_rows * D, REAL);
            TAKE(n->gemb.slot, s->emb_rows, int32_t);
            TAKE(n->gemb.rows, s->emb_cap, int32_t);
            TAKE(n->gemb.g, (size_t)s->emb_cap * D, REAL);
            TAKE(n->dx0, (size_t)B * D, REAL);
        } else if (s->sub_rows > 0) {
            TAKE(n->dx0, (size_t)B * D, REAL);
        }
        TAKE(n->z, BH, REAL);
        TAKE(n->a, BH, REAL);
        if (s->dropout) {
            TAKE(n->d, BH, REAL);
            TAKE(n->mask, BH, REAL);
        }
        if (s->norm) {
            TAKE(n->h, BH, REAL);
            TAKE(n->xhat, BH, REAL);
        }
        if (s->norm == TAML_NORM_BATCH) {
            TAKE(n->mean, (size_t)L * H, REAL);
            TAKE(n->var, (size_t)L * H, REAL);
            TAKE(n->rmean, (size_t)L * H, REAL);
            TAKE(n->rvar, (size_t)L * H, REAL);
        }
        if (s->norm == TAML_NORM_LAYER) TAKE(n->rstd, (size_t)L * B, REAL);
        size_t wmax = (size_t)(H > C ? H : C);
        TAKE(n->g1, (size_t)B * wmax, REAL);
        TAKE(n->g2, (size_t)B * wmax, REAL);
        TAKE(n->colsum, 2 * (size_t)H, REAL);
        if (s->sub_rows > 0) {
            TAKE(n->sub, 1, SUBT);
            TAKE(n->sub->table, (size_t)s->sub_rows * D, REAL);
            TAKE(n->sub->g.slot, s->sub_rows, int32_t);
            TAKE(n->sub->g.rows, s->sub_cap, int32_t);
            TAKE(n->sub->g.g, (size_t)s->sub_cap * D, REAL);
        }
    }
    TAKE(n->logits, (size_t)B * C, REAL);
    TAKE(n->dlogits, (size_t)B * C, REAL);
#undef TAKE
    return off;
}

size_t NF(size)(const taml_net_shape *s)
{
    NET tmp;
    return NF(layout)(&tmp, s, NULL);
}

void NF(init)(NET *n, const taml_net_shape *s, void *block)
{
    memset(n, 0, sizeof *n);
    size_t bytes = NF(layout)(n, s, NULL);
    memset(block, 0, bytes);
    NF(layout)(n, s, (char *)block);
    if (s->wide_rows > 0) {
        for (int64_t r = 0; r < s->wide_rows; r++) n->gwide.slot[r] = -1;
        n->gwide.cap = s->wide_cap;
        n->gwide.width = s->C;
    }
    if (s->emb_rows > 0) {
        for (int64_t r = 0; r < s->emb_rows; r++) n->gemb.slot[r] = -1;
        n->gemb.cap = s->emb_cap;
        n->gemb.width = s->D;
    }
    if (n->sub) {
        for (int r = 0; r < s->sub_rows; r++) n->sub->g.slot[r] = -1;
        n->sub->g.cap = s->sub_cap;
        n->sub->g.width = s->D;
    }
    if (s->D > 0 && s->norm == TAML_NORM_BATCH)
        for (size_t i = 0; i < (size_t)s->L * s->H; i++) n->rvar[i] = 1;
    if (s->D > 0 && s->norm)
        for (int l = 0; l < s->L; l++)
            for (int j = 0; j < s->H; j++) n->gam[l][j] = 1;
}

void NF(zero_grad)(NET *n)
{
    if (n->n_deep) memset(n->ddeep, 0, n->n_deep * sizeof(REAL));
    if (n->n_wide) memset(n->dwide, 0, n->n_wide * sizeof(REAL));
    if (n->s.wide_rows > 0) KF(sparse_clear)(&n->gwide);
    if (n->s.emb_rows > 0) KF(sparse_clear)(&n->gemb);
    if (n->sub) KF(sparse_clear)(&n->sub->g);
}

double NF(forward)(NET *n, const taml_net_batch *bt, int train)
{
    const taml_net_shape *s = &n->s;
    int B = bt->B, D = s->D, H = s->H, C = s->C;
    TAML_ASSERT(B > 0 && B <= s->B);
    n->train = train;
    if (D > 0) {
        if (s->sub_rows > 0)
            KF(subword_mean_forward)(n->x0, s->emb_rows > 0 ? n->emb : n->sub->frozen, bt->deep_off,
                                     bt->deep_ids, n->sub->table, bt->sub_off, bt->sub_words,
                                     bt->sub_woff, bt->sub_wrows, bt->ex, B, D);
        else if (s->emb_rows > 0)
            KF(embed_mean_forward)(n->x0, n->emb, bt->deep_off, bt->deep_ids, bt->ex, B, D);
        const REAL *in = n->x0;
        for (int l = 0; l < s->L; l++) {
            size_t o = (size_t)l * s->B * H, BH = (size_t)B * H;
            REAL *z = n->z + o, *a = n->a + o;
            KF(dense_forward)(z, in, n->w[l], n->b[l], B, l ? H : D, H);
            KF(act_forward)(a, z, BH, s->act);
            const REAL *cur = a;
            if (train && s->dropout) {
                KF(dropout_apply)(n->d + o, a, n->mask + o, BH);
                cur = n->d + o;
            }
            if (s->norm == TAML_NORM_BATCH) {
                REAL *mean = n->mean + (size_t)l * H, *var = n->var + (size_t)l * H;
                if (train)
                    KF(batchnorm_forward_train)(n->h + o, n->xhat + o, mean, var, cur, n->gam[l],
                                                n->bet[l], B, H, (REAL)BN_EPS);
                else
                    KF(batchnorm_forward_eval)(n->h + o, cur, n->gam[l], n->bet[l],
                                               n->rmean + (size_t)l * H, n->rvar + (size_t)l * H,
                                               B, H, (REAL)BN_EPS);
                cur = n->h + o;
            } else if (s->norm == TAML_NORM_LAYER) {
                KF(layernorm_forward)(n->h + o, n->xhat + o, n->rstd + (size_t)l * s->B, cur,
                                      n->gam[l], n->bet[l], B, H, (REAL)LN_EPS);
                cur = n->h + o;
            }
            n->out[l] = cur;
            in = cur;
        }
        KF(dense_forward)(n->logits, in, n->w[s->L], n->b[s->L], B, H, C);
    } else {
        memset(n->logits, 0, (size_t)B * C * sizeof(REAL));
    }
    if (s->wide_rows > 0 && s->wide_parts == 0)
        KF(wide_forward)(n->logits, n->wtab, n->wide, bt->wide_off, bt->wide_ids, bt->ex, B, C);
    if (s->wide_rows > 0 && s->wide_parts > 0) {
        for (int i = 0; i < B; i++)
            for (int j = 0; j < C; j++) n->logits[(size_t)i * C + j] += n->wide[j];
        for (int k = 0; k < s->wide_parts; k++)
            KF(wide_part_forward)(n->logits, n->wtab, bt->parts[k].off, bt->parts[k].ids,
                                  bt->parts[k].cnt, bt->parts[k].idf, bt->wide_scale,
                                  bt->parts[k].base, s->weighting, bt->ex, B, C);
    }
    if (s->wide_dense > 0) {
        for (int i = 0; i < B; i++)
            for (int j = 0; j < C; j++) n->logits[(size_t)i * C + j] += n->wide[j];
        GEMM(0, 0, B, C, s->wide_dense, 1, n->xw, s->wide_dense, n->wide + C, C, 1, n->logits, C);
    }
    if (!bt->labels) return 0;
    memset(n->dlogits, 0, (size_t)B * C * sizeof(REAL));
    return KF(softmax_xent)(n->dlogits, n->logits, bt->labels, B, C);
}

/* The running averages move only after a step is known to be good (the
 * caller calls this after its divergence check), so a diverged child keeps
 * the statistics of its last good weights. */
void NF(update_running)(NET *n)
{
    const taml_net_shape *s = &n->s;
    if (s->D > 0 && s->norm == TAML_NORM_BATCH)
        for (int l = 0; l < s->L; l++)
            KF(batchnorm_update_running)(n->rmean + (size_t)l * s->H, n->rvar + (size_t)l * s->H,
                                         n->mean + (size_t)l * s->H, n->var + (size_t)l * s->H,
                                         s->B, s->H, (REAL)BN_MOMENTUM);
}

void NF(backward)(NET *n, const taml_net_batch *bt)
{
    const taml_net_shape *s = &n->s;
    int B = bt->B, D = s->D, H = s->H, C = s->C, L = s->L;
    TAML_ASSERT(n->train);
    if (s->wide_rows > 0 && s->wide_parts == 0)
        KF(wide_backward)(&n->gwide, n->dwide, n->dlogits, bt->wide_off, bt->wide_ids, bt->ex, B, C);
    if (s->wide_rows > 0 && s->wide_parts > 0) {
        for (int i = 0; i < B; i++)
            for (int j = 0; j < C; j++) n->dwide[j] += n->dlogits[(size_t)i * C + j];
        for (int k = 0; k < s->wide_parts; k++)
            KF(wide_part_backward)(&n->gwide, n->dlogits, bt->parts[k].off, bt->parts[k].ids,
                                   bt->parts[k].cnt, bt->parts[k].idf, bt->wide_scale,
                                   bt->parts[k].base, s->weighting, bt->ex, B, C);
    }
    if (s->wide_dense > 0)
        KF(dense_backward)(NULL, n->dwide + C, n->dwide, n->dlogits, n->xw, n->wide + C, B,
                           s->wide_dense, C);
    if (D == 0) return;
    REAL *g = n->g1, *gnext = n->g2;
    size_t BH = (size_t)B * H;
    memset(g, 0, BH * sizeof(REAL));
    KF(dense_backward)(g, n->dw[L], n->db[L], n->dlogits, n->out[L - 1], n->w[L], B, H, C);
    for (int l = L - 1; l >= 0; l--) {
        size_t o = (size_t)l * s->B * H;
        if (s->norm == TAML_NORM_BATCH)
            KF(batchnorm_backward)(g, n->dgam[l], n->dbet[l], n->colsum, g, n->xhat + o, n->gam[l],
                                   n->var + (size_t)l * H, B, H, (REAL)BN_EPS);
        else if (s->norm == TAML_NORM_LAYER)
            KF(layernorm_backward)(g, n->dgam[l], n->dbet[l], g, n->xhat + o,
                                   n->rstd + (size_t)l * s->B, n->gam[l], B, H);
        if (s->dropout) KF(dropout_apply)(g, g, n->mask + o, BH);
        KF(act_backward)(g, g, n->z + o, BH, s->act);
        REAL *din = NULL;
        if (l > 0) din = gnext;
        else if (s->emb_rows > 0 || s->sub_rows > 0) din = n->dx0;
        if (din) memset(din, 0, (size_t)B * (l ? H : D) * sizeof(REAL));
        KF(dense_backward)(din, n->dw[l], n->db[l], g, l ? n->out[l - 1] : n->x0, n->w[l], B,
                           l ? H : D, H);
        REAL *t = g;
        g = gnext;
        gnext = t;
    }
    if (s->sub_rows > 0)
        KF(subword_mean_backward)(s->emb_rows > 0 ? &n->gemb : NULL, &n->sub->g, n->dx0,
                                  bt->deep_off, bt->deep_ids, bt->sub_off, bt->sub_words,
                                  bt->sub_woff, bt->sub_wrows, bt->ex, B, D);
    else if (s->emb_rows > 0)
        KF(embed_mean_backward)(&n->gemb, n->dx0, bt->deep_off, bt->deep_ids, bt->ex, B, D);
}
