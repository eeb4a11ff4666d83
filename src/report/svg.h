/* report/svg.h - plots as SVG text, written by hand (no external tool).
 *
 * The report layer draws every figure of `taml report` with these functions
 * and inlines the SVG in one HTML file, so a report opens in any browser
 * with nothing else installed. Four kinds of figure cover the paper's:
 *   taml_svg_lines    several series over trials, optional +-band (Fig. 2, 4)
 *   taml_svg_stacked  shares stacked to 1 over trials (Fig. 5)
 *   taml_svg_heatmap  a labelled square matrix with a colour scale (Fig. 6)
 *   taml_svg_bars     grouped bars with error bars per category (Fig. 4's gap)
 * Every piece of text (titles, labels, legend names: they come from task and
 * study names, i.e. from users) goes through taml_svg_escape, so the output
 * stays well-formed XML whatever the names hold. Non-finite values are never
 * written as coordinates: they break a line, or show as "n/a".
 */
#ifndef TAML_REPORT_SVG_H
#define TAML_REPORT_SVG_H

#include <stdarg.h>
#include <stddef.h>

#include "core/err.h"

/* A growable NUL-terminated text buffer (caller's storage). */
typedef struct taml_svg_buf {
    char *data; /* NUL-terminated once anything was written; NULL before */
    size_t len;
    size_t cap;
} taml_svg_buf;

void taml_svg_buf_init(taml_svg_buf *b);
void taml_svg_buf_deinit(taml_svg_buf *b);
void taml_svg_buf_puts(taml_svg_buf *b, const char *s);
void taml_svg_buf_printf(taml_svg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the text out of the buffer (heap string, never NULL; caller frees)
 * and leaves the buffer empty. */
char *taml_svg_buf_take(taml_svg_buf *b);

/* Appends s escaped for XML/HTML text and attribute values: & < > " ' become
 * entities; control characters other than tab and newline, and bytes that
 * are not valid UTF-8, become U+FFFD (XML 1.0 forbids them). NULL appends
 * nothing. */
void taml_svg_escape(taml_svg_buf *b, const char *s);

/* One line (or one stacked share, or one group of bars). */
typedef struct taml_svg_series {
    const char *name;   /* legend text */
    const double *x;    /* (n) x values, increasing; NULL means 1, 2, ..., n */
    const double *y;    /* (n); a non-finite y breaks the line there */
    const double *band; /* (n) or NULL: half-width of a shaded band (lines) or an error bar (bars) */
    size_t n;
    int color;  /* palette index (taken modulo the palette); equal = same method */
    int dashed; /* draw the line dashed (e.g. the test curve beside the valid one) */
} taml_svg_series;

/* The frame of a plot. */
typedef struct taml_svg_plot {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    int width, height; /* pixels; 0 gives 560 x 340 */
    double ymin, ymax; /* the y range; NaN (either) picks it from the data */
    int y_percent;     /* tick labels as percentages (values are fractions) */
    int unit_interval; /* the values lie in [0, 1] (accuracies): bands and the picked y
                        * range are clipped to it, so a wide band never shows -20% */
} taml_svg_plot;

/* The palette colour (a "#rrggbb" literal) of index i. */
const char *taml_svg_color(int i);

/* Line plot of ns series with a legend, axes, ticks and labels. A plot with
 * no finite point says "no data" in its frame. Errors: TAML_EINVAL for a
 * series with n > 0 and a NULL y. */
int taml_svg_lines(taml_svg_buf *out, const taml_svg_plot *plot, const taml_svg_series *s,
                   size_t ns, taml_err *err);

/* Stacked areas: at each x the series' y values (shares, e.g. choice
 * probabilities) are piled bottom-up in series order over y in [0, 1]. All
 * series must share their n and x (the first series' x is used). A point
 * where any share is non-finite is left as a gap. Errors: TAML_EINVAL for
 * unequal n or a NULL y. */
int taml_svg_stacked(taml_svg_buf *out, const taml_svg_plot *plot, const taml_svg_series *s,
                     size_t ns, taml_err *err);

/* A k x k matrix (row-major values) with row and column labels, each cell
 * coloured on a diverging blue-white-red scale from vmin to vmax and showing
 * its value; NaN cells are grey and say "n/a". A colour bar with ticks sits
 * at the right. Errors: TAML_EINVAL for k == 0 or vmin >= vmax. */
int taml_svg_heatmap(taml_svg_buf *out, const char *title, const char *const *labels, size_t k,
                     const double *values, double vmin, double vmax, taml_err *err);

/* Grouped bars: ncat categories along x (labels under them), one bar per
 * series in each (series y and band are (ncat): the value and the error-bar
 * half-width); the y axis always includes 0. Non-finite values leave the
 * bar out. Errors: TAML_EINVAL for ncat == 0 or a series with n != ncat. */
int taml_svg_bars(taml_svg_buf *out, const taml_svg_plot *plot, const char *const *categories,
                  size_t ncat, const taml_svg_series *s, size_t ns, taml_err *err);

#endif
