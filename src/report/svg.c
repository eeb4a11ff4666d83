/* report/svg.c - hand-written SVG plots for the HTML report (see svg.h).
 *
 * Layout is computed from estimated text widths (0.6 em per character for
 * the sans-serif font at 11 px), so labels and legends get room without a
 * font engine. No element carries an id: several plots are inlined into one
 * HTML document, where ids would have to be unique; colour bars are drawn as
 * rectangles rather than gradients for the same reason.
 */
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* ---- text buffer -------------------------------------------------------- */

void taml_svg_buf_init(taml_svg_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void taml_svg_buf_deinit(taml_svg_buf *b)
{
    free(b->data);
    taml_svg_buf_init(b);
}

static void buf_reserve(taml_svg_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->data = taml_realloc(b->data, cap);
    b->cap = cap;
}

static void buf_putn(taml_svg_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void taml_svg_buf_puts(taml_svg_buf *b, const char *s)
{
    buf_putn(b, s, strlen(s));
}

void taml_svg_buf_printf(taml_svg_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    TAML_ASSERT(n >= 0);
    buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

char *taml_svg_buf_take(taml_svg_buf *b)
{
    char *s = b->data ? b->data : taml_strdup("");
    taml_svg_buf_init(b);
    return s;
}

/* Length of the UTF-8 sequence at s (len bytes left) if it is well-formed
 * and an XML character, else 0: U+FFFE and U+FFFF are not XML characters. */
static size_t xml_char_len(const unsigned char *s, size_t len)
{
    int32_t cp;
    int n = taml_utf8_decode(s, len, &cp);
    return n > 0 && cp != 0xfffe && cp != 0xffff ? (size_t)n : 0;
}

void taml_svg_escape(taml_svg_buf *b, const char *s)
{
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    while (*p) {
        switch (*p) {
        case '&': taml_svg_buf_puts(b, "&amp;"); p++; continue;
        case '<': taml_svg_buf_puts(b, "&lt;"); p++; continue;
        case '>': taml_svg_buf_puts(b, "&gt;"); p++; continue;
        case '"': taml_svg_buf_puts(b, "&quot;"); p++; continue;
        case '\'': taml_svg_buf_puts(b, "&#39;"); p++; continue;
        default: break;
        }
        if (*p < 0x20 && *p != '\t' && *p != '\n') {
            taml_svg_buf_puts(b, "\xef\xbf\xbd");
            p++;
            continue;
        }
        size_t n = xml_char_len(p, (size_t)(end - p));
        if (n == 0) {
            taml_svg_buf_puts(b, "\xef\xbf\xbd");
            p++;
            continue;
        }
        buf_putn(b, (const char *)p, n);
        p += n;
    }
}

/* ---- shared drawing helpers --------------------------------------------- */

static const char *const PALETTE[] = {"#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1",
                                      "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"};
#define NPALETTE (sizeof PALETTE / sizeof PALETTE[0])

const char *taml_svg_color(int i)
{
    size_t k = (size_t)(i < 0 ? -i : i) % NPALETTE;
    return PALETTE[k];
}

#define FONT 11.0
#define CHAR_W (0.6 * FONT)

/* Estimated width in pixels of s at the body font (code points, not bytes). */
static double text_w(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        if ((*p & 0xc0) != 0x80) n++;
    return (double)n * CHAR_W;
}

/* <text> with escaped content; anchor "start", "middle" or "end". */
static void text_at(taml_svg_buf *b, double x, double y, const char *anchor, const char *cls,
                    const char *s)
{
    taml_svg_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s%s>", x, y, anchor,
                        cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    taml_svg_escape(b, s);
    taml_svg_buf_puts(b, "</text>\n");
}

static void svg_open(taml_svg_buf *b, double w, double h, const char *title)
{
    taml_svg_buf_printf(b,
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"taml-plot\" "
                        "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                        "font-family=\"sans-serif\" font-size=\"%.0f\" role=\"img\" "
                        "aria-label=\"",
                        w, h, w, h, FONT);
    taml_svg_escape(b, title ? title : "plot");
    taml_svg_buf_puts(b, "\">\n<title>");
    taml_svg_escape(b, title ? title : "plot");
    taml_svg_buf_printf(b, "</title>\n<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
                           "fill=\"#ffffff\"/>\n", w, h);
    if (title) {
        taml_svg_buf_printf(b, "<text x=\"%.1f\" y=\"18\" text-anchor=\"middle\" "
                               "font-size=\"13\" font-weight=\"bold\">", w / 2);
        taml_svg_escape(b, title);
        taml_svg_buf_puts(b, "</text>\n");
    }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about `want`
 * ticks over range; at least min_step (1 for trial counts). */
static double nice_step(double range, int want, double min_step)
{
    if (!(range > 0)) range = 1;
    double raw = range / want;
    double mag = pow(10, floor(log10(raw)));
    double r = raw / mag;
    double step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
    return step < min_step ? min_step : step;
}

/* The multiples of step within [lo, hi]: first index and count, at most
 * 200 (integer counting, so a step tiny against its values cannot loop). */
static long ticks(double lo, double hi, double step, long *first)
{
    double a = ceil(lo / step - 1e-9), b = floor(hi / step + 1e-9);
    *first = (long)a;
    if (!(b >= a) || !isfinite(a) || !isfinite(b)) return 0;
    return b - a >= 199 ? 200 : (long)(b - a) + 1;
}

/* Tick label of v on an axis with the given step. */
static void tick_label(char *out, size_t size, double v, double step, int percent)
{
    if (percent) {
        v *= 100;
        step *= 100;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) < step * 1e-6) v = 0; /* no "-0" */
    snprintf(out, size, "%.*f%s", dec, v, percent ? "%" : "");
}

/* Plot frame: area (x0, y0)-(x1, y1) in pixels for data ranges. */
typedef struct frame {
    double x0, y0, x1, y1;
    double xlo, xhi, ylo, yhi;
} frame;

static double fx(const frame *f, double x)
{
    return f->x0 + (x - f->xlo) / (f->xhi - f->xlo) * (f->x1 - f->x0);
}

/* y in pixels, clamped into the frame so nothing is drawn outside it. */
static double fy(const frame *f, double y)
{
    double p = f->y1 - (y - f->ylo) / (f->yhi - f->ylo) * (f->y1 - f->y0);
    return p < f->y0 ? f->y0 : p > f->y1 ? f->y1 : p;
}

/* Grid, ticks, tick labels and axis labels of a frame. x ticks are skipped
 * when xticks is 0 (category axes draw their own). */
static void draw_axes(taml_svg_buf *b, const frame *f, const taml_svg_plot *p, int xticks,
                      double xstep, double ystep)
{
    char lab[64];
    taml_svg_buf_puts(b, "<g class=\"axes\" stroke=\"#dddddd\" stroke-width=\"1\">\n");
    long y0, ny = ticks(f->ylo, f->yhi, ystep, &y0), x0, nx = ticks(f->xlo, f->xhi, xstep, &x0);
    for (long i = 0; i < ny; i++) {
        double v = (double)(y0 + i) * ystep;
        taml_svg_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f->x0,
                            fy(f, v), f->x1, fy(f, v));
    }
    taml_svg_buf_puts(b, "</g>\n<g class=\"ticks\" fill=\"#333333\">\n");
    for (long i = 0; i < ny; i++) {
        double v = (double)(y0 + i) * ystep;
        tick_label(lab, sizeof lab, v, ystep, p->y_percent);
        text_at(b, f->x0 - 5, fy(f, v) + 4, "end", NULL, lab);
    }
    if (xticks) {
        for (long i = 0; i < nx; i++) {
            double v = (double)(x0 + i) * xstep;
            tick_label(lab, sizeof lab, v, xstep, 0);
            taml_svg_buf_printf(b,
                                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                                "stroke=\"#333333\"/>\n",
                                fx(f, v), f->y1, fx(f, v), f->y1 + 4);
            text_at(b, fx(f, v), f->y1 + 16, "middle", NULL, lab);
        }
    }
    taml_svg_buf_puts(b, "</g>\n");
    taml_svg_buf_printf(b,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                        "fill=\"none\" stroke=\"#333333\"/>\n",
                        f->x0, f->y0, f->x1 - f->x0, f->y1 - f->y0);
    if (p->xlabel && xticks) text_at(b, (f->x0 + f->x1) / 2, f->y1 + 32, "middle", NULL, p->xlabel);
    if (p->ylabel) {
        taml_svg_buf_printf(b,
                            "<text transform=\"translate(13,%.1f) rotate(-90)\" "
                            "text-anchor=\"middle\">",
                            (f->y0 + f->y1) / 2);
        taml_svg_escape(b, p->ylabel);
        taml_svg_buf_puts(b, "</text>\n");
    }
}

/* Legend rows needed for ns entries in a given width. */
static int legend_rows(const taml_svg_series *s, size_t ns, double width)
{
    int rows = ns ? 1 : 0;
    double x = 0;
    for (size_t i = 0; i < ns; i++) {
        double w = 30 + text_w(s[i].name) + 16;
        if (x > 0 && x + w > width) {
            rows++;
            x = 0;
        }
        x += w;
    }
    return rows;
}

/* Legend entries from (x0, y) wrapping at x0 + width. kind 0: a line
 * swatch (dashed as the series), 1: a filled square. */
static void draw_legend(taml_svg_buf *b, const taml_svg_series *s, size_t ns, double x0,
                        double y, double width, int kind)
{
    double x = 0;
    taml_svg_buf_puts(b, "<g class=\"legend\">\n");
    for (size_t i = 0; i < ns; i++) {
        double w = 30 + text_w(s[i].name) + 16;
        if (x > 0 && x + w > width) {
            y += 16;
            x = 0;
        }
        const char *c = taml_svg_color(s[i].color);
        if (kind == 0)
            taml_svg_buf_printf(b,
                                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                                "stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                                x0 + x, y - 4, x0 + x + 24, y - 4, c,
                                s[i].dashed ? " stroke-dasharray=\"5,3\"" : "");
        else
            taml_svg_buf_printf(b,
                                "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" "
                                "fill=\"%s\"/>\n",
                                x0 + x + 6, y - 9, c);
        text_at(b, x0 + x + 30, y, "start", NULL, s[i].name);
        x += w;
    }
    taml_svg_buf_puts(b, "</g>\n");
}

/* Points in pixels, simplified before they are written. */
typedef struct pts {
    double *x, *y;
    size_t n, cap;
} pts;

static void pts_add(pts *p, double x, double y)
{
    x = round(x * 10) / 10;
    y = round(y * 10) / 10;
    if (p->n && p->x[p->n - 1] == x && p->y[p->n - 1] == y) return;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->x = taml_realloc(p->x, p->cap * sizeof *p->x);
        p->y = taml_realloc(p->y, p->cap * sizeof *p->y);
    }
    p->x[p->n] = x;
    p->y[p->n] = y;
    p->n++;
}

/* Drops points that lie on the straight segment between their kept
 * neighbours (a flat accuracy-topN run of thousands of trials is two
 * points): the drawing is the same, the file far smaller. */
static void pts_simplify(pts *p)
{
    if (p->n < 3) return;
    size_t k = 1;
    for (size_t i = 1; i + 1 < p->n; i++) {
        double ax = p->x[k - 1], ay = p->y[k - 1];
        double bx = p->x[i], by = p->y[i], cx = p->x[i + 1], cy = p->y[i + 1];
        double cross = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
        double dot = (bx - ax) * (cx - bx) + (by - ay) * (cy - by);
        double len = hypot(cx - ax, cy - ay);
        if (fabs(cross) <= 0.05 * len && dot >= 0) continue;
        p->x[k] = bx;
        p->y[k] = by;
        k++;
    }
    p->x[k] = p->x[p->n - 1];
    p->y[k] = p->y[p->n - 1];
    p->n = k + 1;
}

static void pts_write(taml_svg_buf *b, const pts *p, int start)
{
    for (size_t i = 0; i < p->n; i++)
        taml_svg_buf_printf(b, "%s%.1f,%.1f", i == 0 && start ? "M" : "L", p->x[i], p->y[i]);
}

static void pts_free(pts *p)
{
    free(p->x);
    free(p->y);
}

static double sx(const taml_svg_series *s, size_t i)
{
    return s->x ? s->x[i] : (double)(i + 1);
}

static int check_series(const taml_svg_series *s, size_t ns, taml_err *err)
{
    for (size_t i = 0; i < ns; i++)
        if (s[i].n > 0 && !s[i].y)
            return taml_err_set(err, TAML_EINVAL, "svg: series %zu (%s) has %zu points but no y",
                                i, s[i].name ? s[i].name : "unnamed", s[i].n);
    return 0;
}

static double clip01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* Ranges over the finite points (y widened by the bands, within [0, 1] when
 * unit). Returns the number
 * of finite points. */
static size_t data_range(const taml_svg_series *s, size_t ns, int unit, double *xlo,
                         double *xhi, double *ylo, double *yhi)
{
    size_t n = 0;
    *xlo = *ylo = INFINITY;
    *xhi = *yhi = -INFINITY;
    for (size_t k = 0; k < ns; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            double x = sx(&s[k], i), y = s[k].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            double bd = s[k].band && isfinite(s[k].band[i]) ? fabs(s[k].band[i]) : 0;
            n++;
            if (x < *xlo) *xlo = x;
            if (x > *xhi) *xhi = x;
            double lo = y - bd, hi = y + bd;
            if (unit) lo = clip01(lo), hi = clip01(hi);
            if (lo < *ylo) *ylo = lo;
            if (hi > *yhi) *yhi = hi;
        }
    return n;
}

static void no_data(taml_svg_buf *b, const frame *f)
{
    taml_svg_buf_printf(b,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#888888\" "
                        "class=\"no-data\">no data</text>\n",
                        (f->x0 + f->x1) / 2, (f->y0 + f->y1) / 2);
}

/* Sets the frame's pixel box from the plot size and the legend rows;
 * returns the total height. */
static double layout(frame *f, const taml_svg_plot *p, double w, double h, int rows,
                     double bottom_extra)
{
    double legend_h = rows * 16.0;
    f->x0 = 62;
    f->x1 = w - 18;
    f->y0 = p->title ? 30 : 12;
    double min_plot = 120;
    if (h - f->y0 - 40 - bottom_extra - legend_h < min_plot)
        h = f->y0 + min_plot + 40 + bottom_extra + legend_h;
    f->y1 = h - 40 - bottom_extra - legend_h - 4;
    return h;
}

/* y range: explicit, or the data's padded to whole steps. */
static void y_range(frame *f, const taml_svg_plot *p, double ylo, double yhi, double *ystep)
{
    if (!isnan(p->ymin) && !isnan(p->ymax) && p->ymax > p->ymin) {
        f->ylo = p->ymin;
        f->yhi = p->ymax;
        *ystep = nice_step(f->yhi - f->ylo, 5, 0);
        return;
    }
    /* A flat curve (or one whose ends differ by rounding only) gets a
     * visible range around its value, not a step of 1e-17. */
    if (!(yhi - ylo > 1e-9 * fmax(1.0, fabs(yhi)))) {
        double pad = fabs(ylo) > 0 ? fabs(ylo) * 0.05 : 0.05;
        ylo -= pad;
        yhi += pad;
    }
    /* A little air, so a curve at its extreme does not run along the frame. */
    double air = 0.02 * (yhi - ylo);
    ylo -= air;
    yhi += air;
    *ystep = nice_step(yhi - ylo, 5, 0);
    f->ylo = floor(ylo / *ystep + 1e-9) * *ystep;
    f->yhi = ceil(yhi / *ystep - 1e-9) * *ystep;
    if (p->unit_interval) { /* 0 and 1 are multiples of every step this range gets */
        f->ylo = fmax(f->ylo, 0);
        f->yhi = fmin(f->yhi, 1);
        if (f->yhi <= f->ylo) f->ylo = fmax(0, f->yhi - *ystep), f->yhi = f->ylo + *ystep;
    }
    if (f->yhi <= f->ylo) f->yhi = f->ylo + *ystep;
}

static void x_range(frame *f, double xlo, double xhi, double *xstep)
{
    if (!(xhi - xlo > 1e-9 * fmax(1.0, fabs(xhi)))) {
        xlo -= 0.5;
        xhi += 0.5;
    }
    f->xlo = xlo;
    f->xhi = xhi;
    *xstep = nice_step(xhi - xlo, 6, 1);
}

/* ---- line plot ---------------------------------------------------------- */

int taml_svg_lines(taml_svg_buf *out, const taml_svg_plot *plot, const taml_svg_series *s,
                   size_t ns, taml_err *err)
{
    int rc = check_series(s, ns, err);
    if (rc < 0) return rc;
    double w = plot->width > 0 ? plot->width : 560, h = plot->height > 0 ? plot->height : 340;
    frame f;
    h = layout(&f, plot, w, h, legend_rows(s, ns, w - 40), 0);
    double xlo, xhi, ylo, yhi, xstep = 1, ystep = 0.1;
    size_t nfinite = data_range(s, ns, plot->unit_interval, &xlo, &xhi, &ylo, &yhi);
    if (nfinite == 0) {
        xlo = 0;
        xhi = 1;
        ylo = 0;
        yhi = 1;
    }
    x_range(&f, xlo, xhi, &xstep);
    y_range(&f, plot, ylo, yhi, &ystep);
    svg_open(out, w, h, plot->title);
    draw_axes(out, &f, plot, 1, xstep, ystep);
    if (nfinite == 0) no_data(out, &f);
    pts a = {0}, c = {0};
    for (size_t k = 0; k < ns; k++) {
        const taml_svg_series *se = &s[k];
        const char *col = taml_svg_color(se->color);
        /* Band first, under every line: one polygon per finite run. */
        if (se->band) {
            taml_svg_buf_printf(out, "<path class=\"band\" fill=\"%s\" fill-opacity=\"0.15\" "
                                     "stroke=\"none\" d=\"", col);
            size_t i = 0;
            while (i < se->n) {
                a.n = c.n = 0;
                for (; i < se->n; i++) {
                    double x = sx(se, i), y = se->y[i], bd = se->band[i];
                    if (!isfinite(x) || !isfinite(y) || !isfinite(bd)) break;
                    double hi = y + bd, lo = y - bd;
                    if (plot->unit_interval) hi = clip01(hi), lo = clip01(lo);
                    pts_add(&a, fx(&f, x), fy(&f, hi));
                    pts_add(&c, fx(&f, x), fy(&f, lo));
                }
                i++;
                if (a.n < 2) continue;
                pts_simplify(&a);
                pts_simplify(&c);
                pts_write(out, &a, 1);
                for (size_t j = c.n; j-- > 0;)
                    taml_svg_buf_printf(out, "L%.1f,%.1f", c.x[j], c.y[j]);
                taml_svg_buf_puts(out, "Z");
            }
            taml_svg_buf_puts(out, "\"/>\n");
        }
        taml_svg_buf_printf(out,
                            "<path class=\"series\" fill=\"none\" stroke=\"%s\" "
                            "stroke-width=\"1.8\" stroke-linejoin=\"round\"%s d=\"",
                            col, se->dashed ? " stroke-dasharray=\"5,3\"" : "");
        size_t i = 0;
        while (i < se->n) {
            a.n = 0;
            for (; i < se->n; i++) {
                double x = sx(se, i), y = se->y[i];
                if (!isfinite(x) || !isfinite(y)) break;
                pts_add(&a, fx(&f, x), fy(&f, y));
            }
            i++;
            if (a.n == 0) continue;
            if (a.n == 1) pts_add(&a, a.x[0] + 0.1, a.y[0]); /* a lone point stays visible */
            pts_simplify(&a);
            pts_write(out, &a, 1);
        }
        taml_svg_buf_puts(out, "\"><title>");
        taml_svg_escape(out, se->name);
        taml_svg_buf_puts(out, "</title></path>\n");
    }
    pts_free(&a);
    pts_free(&c);
    draw_legend(out, s, ns, 20, f.y1 + 52, w - 40, 0);
    taml_svg_buf_puts(out, "</svg>\n");
    return 0;
}

/* ---- stacked shares ----------------------------------------------------- */

int taml_svg_stacked(taml_svg_buf *out, const taml_svg_plot *plot, const taml_svg_series *s,
                     size_t ns, taml_err *err)
{
    int rc = check_series(s, ns, err);
    if (rc < 0) return rc;
    size_t n = ns ? s[0].n : 0;
    for (size_t k = 1; k < ns; k++)
        if (s[k].n != n)
            return taml_err_set(err, TAML_EINVAL,
                                "svg: stacked series %zu has %zu points, series 0 has %zu", k,
                                s[k].n, n);
    double w = plot->width > 0 ? plot->width : 560, h = plot->height > 0 ? plot->height : 340;
    frame f;
    h = layout(&f, plot, w, h, legend_rows(s, ns, w - 40), 0);
    double xlo = INFINITY, xhi = -INFINITY, xstep = 1, ystep = 0.2;
    for (size_t i = 0; i < n; i++) {
        double x = sx(&s[0], i);
        if (!isfinite(x)) continue;
        if (x < xlo) xlo = x;
        if (x > xhi) xhi = x;
    }
    if (!(xhi >= xlo)) xlo = 0, xhi = 1;
    x_range(&f, xlo, xhi, &xstep);
    taml_svg_plot p = *plot;
    p.ymin = 0;
    p.ymax = 1;
    y_range(&f, &p, 0, 1, &ystep);
    svg_open(out, w, h, plot->title);
    if (n == 0) no_data(out, &f);
    /* cum[i] = sum of the shares below the current series at point i. */
    double *cum = taml_calloc(n ? n : 1, sizeof *cum);
    pts lo = {0}, hi = {0};
    for (size_t k = 0; k < ns; k++) {
        taml_svg_buf_printf(out, "<path class=\"share\" fill=\"%s\" fill-opacity=\"0.85\" "
                                 "stroke=\"#ffffff\" stroke-width=\"0.5\" d=\"",
                            taml_svg_color(s[k].color));
        size_t i = 0;
        while (i < n) {
            lo.n = hi.n = 0;
            for (; i < n; i++) {
                int good = isfinite(sx(&s[0], i));
                for (size_t j = 0; j < ns && good; j++) good = isfinite(s[j].y[i]);
                if (!good) break;
                pts_add(&lo, fx(&f, sx(&s[0], i)), fy(&f, cum[i]));
                pts_add(&hi, fx(&f, sx(&s[0], i)), fy(&f, cum[i] + s[k].y[i]));
            }
            i++;
            if (hi.n < 1) continue;
            if (hi.n == 1) { /* a lone point: a sliver one pixel wide */
                pts_add(&hi, hi.x[0] + 1, hi.y[0]);
                pts_add(&lo, lo.x[0] + 1, lo.y[0]);
            }
            pts_simplify(&hi);
            pts_simplify(&lo);
            pts_write(out, &hi, 1);
            for (size_t j = lo.n; j-- > 0;)
                taml_svg_buf_printf(out, "L%.1f,%.1f", lo.x[j], lo.y[j]);
            taml_svg_buf_puts(out, "Z");
        }
        taml_svg_buf_puts(out, "\"><title>");
        taml_svg_escape(out, s[k].name);
        taml_svg_buf_puts(out, "</title></path>\n");
        for (size_t j = 0; j < n; j++)
            if (isfinite(s[k].y[j])) cum[j] += s[k].y[j];
    }
    pts_free(&lo);
    pts_free(&hi);
    free(cum);
    draw_axes(out, &f, plot, 1, xstep, ystep);
    draw_legend(out, s, ns, 20, f.y1 + 52, w - 40, 1);
    taml_svg_buf_puts(out, "</svg>\n");
    return 0;
}

/* ---- heat map ----------------------------------------------------------- */

/* Diverging blue - light grey - red scale (after Moreland's cool-warm) at
 * t in [0, 1]. */
static void diverging(double t, char *out, size_t size)
{
    static const double stops[3][3] = {{59, 76, 192}, {242, 242, 242}, {180, 4, 38}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    int seg = t < 0.5 ? 0 : 1;
    double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    int rgb[3];
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(stops[seg][c] + (stops[seg + 1][c] - stops[seg][c]) * u);
    snprintf(out, size, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

#define LABEL_MAX 24

/* Copy of s cut to LABEL_MAX code points with an ellipsis (heap). */
static char *short_label(const char *s)
{
    s = s ? s : "";
    size_t cps = 0, i = 0;
    for (; s[i]; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80 && ++cps > LABEL_MAX - 1) break;
    if (!s[i]) return taml_strdup(s);
    return taml_asprintf("%.*s\xe2\x80\xa6", (int)i, s);
}

int taml_svg_heatmap(taml_svg_buf *out, const char *title, const char *const *labels, size_t k,
                     const double *values, double vmin, double vmax, taml_err *err)
{
    if (k == 0) return taml_err_set(err, TAML_EINVAL, "svg: a heat map needs at least one row");
    if (!(vmax > vmin))
        return taml_err_set(err, TAML_EINVAL, "svg: heat map range [%g, %g] is empty", vmin,
                            vmax);
    char **lab = taml_malloc(k * sizeof *lab);
    double lw = 0;
    for (size_t i = 0; i < k; i++) {
        lab[i] = short_label(labels ? labels[i] : NULL);
        if (text_w(lab[i]) > lw) lw = text_w(lab[i]);
    }
    double cell = 360.0 / (double)k;
    cell = cell < 20 ? 20 : cell > 56 ? 56 : cell;
    double left = lw + 14, top = (title ? 30 : 10) + lw * 0.72 + 12;
    double grid = cell * (double)k;
    double bar_x = left + grid + 22;
    double w = bar_x + 14 + 44;
    double right_need = left + grid + lw * 0.72 + 10;
    if (right_need > w) w = right_need;
    double h = top + grid + 16;
    svg_open(out, w, h, title);
    char col[16];
    taml_svg_buf_puts(out, "<g class=\"cells\">\n");
    for (size_t r = 0; r < k; r++)
        for (size_t c = 0; c < k; c++) {
            double v = values[r * k + c];
            double x = left + cell * (double)c, y = top + cell * (double)r;
            int fin = isfinite(v);
            if (fin) diverging((v - vmin) / (vmax - vmin), col, sizeof col);
            else snprintf(col, sizeof col, "#bbbbbb");
            taml_svg_buf_printf(out,
                                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                "fill=\"%s\" stroke=\"#ffffff\"><title>",
                                x, y, cell, cell, col);
            taml_svg_escape(out, lab[r]);
            taml_svg_buf_puts(out, " / ");
            taml_svg_escape(out, lab[c]);
            if (fin) taml_svg_buf_printf(out, ": %.3f", v);
            else taml_svg_buf_puts(out, ": n/a");
            taml_svg_buf_puts(out, "</title></rect>\n");
            if (cell >= 26) {
                double t = fin ? (v - vmin) / (vmax - vmin) : 0.5;
                const char *ink = (t < 0.2 || t > 0.8) ? "#ffffff" : "#222222";
                char val[32];
                if (fin) snprintf(val, sizeof val, "%.2f", v);
                else snprintf(val, sizeof val, "n/a");
                taml_svg_buf_printf(out,
                                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                                    "font-size=\"%.0f\" fill=\"%s\">%s</text>\n",
                                    x + cell / 2, y + cell / 2 + 4, cell < 40 ? 9.0 : 11.0, ink,
                                    val);
            }
        }
    taml_svg_buf_puts(out, "</g>\n<g class=\"labels\">\n");
    for (size_t i = 0; i < k; i++) {
        text_at(out, left - 6, top + cell * ((double)i + 0.5) + 4, "end", NULL, lab[i]);
        taml_svg_buf_printf(out,
                            "<text transform=\"translate(%.1f,%.1f) rotate(-45)\" "
                            "text-anchor=\"start\">",
                            left + cell * ((double)i + 0.5), top - 6);
        taml_svg_escape(out, lab[i]);
        taml_svg_buf_puts(out, "</text>\n");
    }
    taml_svg_buf_puts(out, "</g>\n<g class=\"colour-scale\">\n");
    /* The colour bar: 24 bands from vmax (top) to vmin, then ticks. */
    for (int i = 0; i < 24; i++) {
        diverging(1 - (i + 0.5) / 24.0, col, sizeof col);
        taml_svg_buf_printf(out,
                            "<rect x=\"%.1f\" y=\"%.2f\" width=\"14\" height=\"%.2f\" "
                            "fill=\"%s\"/>\n",
                            bar_x, top + grid * i / 24.0, grid / 24.0 + 0.3, col);
    }
    taml_svg_buf_printf(out,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" "
                        "fill=\"none\" stroke=\"#333333\"/>\n",
                        bar_x, top, grid);
    double step = nice_step(vmax - vmin, 4, 0);
    char lab_s[64];
    long t0, nt = ticks(vmin, vmax, step, &t0);
    for (long i = 0; i < nt; i++) {
        double v = (double)(t0 + i) * step;
        double y = top + grid * (vmax - v) / (vmax - vmin);
        tick_label(lab_s, sizeof lab_s, v, step, 0);
        taml_svg_buf_printf(out,
                            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                            "stroke=\"#333333\"/>\n",
                            bar_x + 14, y, bar_x + 18, y);
        text_at(out, bar_x + 20, y + 4, "start", NULL, lab_s);
    }
    taml_svg_buf_puts(out, "</g>\n</svg>\n");
    for (size_t i = 0; i < k; i++) free(lab[i]);
    free(lab);
    return 0;
}

/* ---- grouped bars ------------------------------------------------------- */

int taml_svg_bars(taml_svg_buf *out, const taml_svg_plot *plot, const char *const *categories,
                  size_t ncat, const taml_svg_series *s, size_t ns, taml_err *err)
{
    if (ncat == 0) return taml_err_set(err, TAML_EINVAL, "svg: a bar chart needs a category");
    int rc = check_series(s, ns, err);
    if (rc < 0) return rc;
    for (size_t k = 0; k < ns; k++)
        if (s[k].n != ncat)
            return taml_err_set(err, TAML_EINVAL,
                                "svg: bar series %zu has %zu values for %zu categories", k,
                                s[k].n, ncat);
    double w = plot->width > 0 ? plot->width : 560, h = plot->height > 0 ? plot->height : 340;
    char **lab = taml_malloc(ncat * sizeof *lab);
    double lw = 0;
    for (size_t i = 0; i < ncat; i++) {
        lab[i] = short_label(categories ? categories[i] : NULL);
        if (text_w(lab[i]) > lw) lw = text_w(lab[i]);
    }
    double group = (w - 80) / (double)ncat;
    int rotate = lw > group - 4;
    double extra = rotate ? lw * 0.64 + 4 - 16 : 0;
    if (extra < 0) extra = 0;
    frame f;
    h = layout(&f, plot, w, h, legend_rows(s, ns, w - 40), extra);
    double ylo = 0, yhi = 0, ystep = 0.1;
    for (size_t k = 0; k < ns; k++)
        for (size_t i = 0; i < ncat; i++) {
            double y = s[k].y[i];
            if (!isfinite(y)) continue;
            double bd = s[k].band && isfinite(s[k].band[i]) ? fabs(s[k].band[i]) : 0;
            if (y - bd < ylo) ylo = y - bd;
            if (y + bd > yhi) yhi = y + bd;
        }
    if (!(yhi > ylo)) yhi = ylo + 0.01;
    f.xlo = 0;
    f.xhi = (double)ncat;
    y_range(&f, plot, ylo, yhi, &ystep);
    svg_open(out, w, h, plot->title);
    draw_axes(out, &f, plot, 0, 1, ystep);
    double gw = (f.x1 - f.x0) / (double)ncat;
    double bw = gw * 0.8 / (double)(ns ? ns : 1);
    taml_svg_buf_puts(out, "<g class=\"bars\">\n");
    for (size_t i = 0; i < ncat; i++) {
        for (size_t k = 0; k < ns; k++) {
            double y = s[k].y[i];
            if (!isfinite(y)) continue;
            double x = f.x0 + gw * (double)i + gw * 0.1 + bw * (double)k;
            double py = fy(&f, y), p0 = fy(&f, 0);
            taml_svg_buf_printf(out,
                                "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                                "height=\"%.1f\" fill=\"%s\"><title>",
                                x, py < p0 ? py : p0, bw * 0.92, fabs(p0 - py),
                                taml_svg_color(s[k].color));
            taml_svg_escape(out, lab[i]);
            taml_svg_buf_puts(out, ", ");
            taml_svg_escape(out, s[k].name);
            taml_svg_buf_printf(out, ": %.4g", y);
            if (s[k].band && isfinite(s[k].band[i]))
                taml_svg_buf_printf(out, " \xc2\xb1 %.2g", fabs(s[k].band[i]));
            taml_svg_buf_puts(out, "</title></rect>\n");
            if (s[k].band && isfinite(s[k].band[i])) {
                double bd = fabs(s[k].band[i]), cx = x + bw * 0.46;
                taml_svg_buf_printf(out,
                                    "<path class=\"errbar\" stroke=\"#222222\" fill=\"none\" "
                                    "d=\"M%.1f,%.1fL%.1f,%.1fM%.1f,%.1fL%.1f,%.1fM%.1f,%.1fL%.1f,"
                                    "%.1f\"/>\n",
                                    cx, fy(&f, y - bd), cx, fy(&f, y + bd), cx - 3, fy(&f, y - bd),
                                    cx + 3, fy(&f, y - bd), cx - 3, fy(&f, y + bd), cx + 3,
                                    fy(&f, y + bd));
            }
        }
    }
    if (f.ylo < 0 && f.yhi > 0)
        taml_svg_buf_printf(out,
                            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                            "stroke=\"#333333\"/>\n",
                            f.x0, fy(&f, 0), f.x1, fy(&f, 0));
    taml_svg_buf_puts(out, "</g>\n<g class=\"categories\">\n");
    for (size_t i = 0; i < ncat; i++) {
        double cx = f.x0 + gw * ((double)i + 0.5);
        if (rotate) {
            taml_svg_buf_printf(out,
                                "<text transform=\"translate(%.1f,%.1f) rotate(-40)\" "
                                "text-anchor=\"end\">",
                                cx, f.y1 + 14);
            taml_svg_escape(out, lab[i]);
            taml_svg_buf_puts(out, "</text>\n");
        } else {
            text_at(out, cx, f.y1 + 16, "middle", NULL, lab[i]);
        }
    }
    taml_svg_buf_puts(out, "</g>\n");
    if (plot->xlabel) text_at(out, (f.x0 + f.x1) / 2, f.y1 + 32 + extra, "middle", NULL, plot->xlabel);
    draw_legend(out, s, ns, 20, f.y1 + 52 + extra, w - 40, 1);
    taml_svg_buf_puts(out, "</svg>\n");
    for (size_t i = 0; i < ncat; i++) free(lab[i]);
    free(lab);
    return 0;
}
