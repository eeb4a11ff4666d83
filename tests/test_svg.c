/* tests/test_svg.c - the SVG plots (report/svg.h): well-formed output,
 * the expected elements, escaping of user text, and bad input. */
#include <math.h>
#include <stdlib.h>

#include "report/svg.h"
#include "test.h"
#include "xml_check.h"

/* Fails the test with the checker's message when svg is not well formed. */
#define CHECK_XML(doc, html)                                                   \
    do {                                                                       \
        char m_[256];                                                          \
        CHECK_MSG(xml_check((doc), (html), m_, sizeof m_) == 0, "not well formed: %s", m_); \
    } while (0)

TEST(svg_escape_turns_markup_and_bad_bytes_into_entities)
{
    taml_svg_buf b;
    taml_svg_buf_init(&b);
    taml_svg_escape(&b, "a<b & \"c\" 'd'>");
    CHECK_STR(b.data, "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
    taml_svg_buf_deinit(&b);
    /* A control byte, a stray 0xff, an overlong '/' and a surrogate each
     * become U+FFFD; valid UTF-8 (e acute, an emoji) passes through. */
    taml_svg_escape(&b, "x\x01y\xffz\xc0\xaf\xed\xa0\x80|\xc3\xa9\xf0\x9f\x98\x80\tend");
    CHECK_STR(b.data, "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                      "\xef\xbf\xbd|\xc3\xa9\xf0\x9f\x98\x80\tend");
    char *s = taml_svg_buf_take(&b);
    CHECK(b.data == NULL && b.len == 0);
    free(s);
    s = taml_svg_buf_take(&b); /* an empty buffer gives "" */
    CHECK_STR(s, "");
    free(s);
}

TEST(svg_lines_draws_series_bands_legend_and_percent_ticks)
{
    double y1[5] = {0.6, 0.7, NAN, 0.8, 0.9}, band[5] = {0.02, 0.02, 0.02, 0.01, 0.01};
    double y2[5] = {0.55, 0.6, 0.65, 0.7, 0.72};
    taml_svg_series s[2] = {
        {.name = "T-AML <valid> & co", .y = y1, .band = band, .n = 5, .color = 0},
        {.name = "RS 'test'", .y = y2, .n = 5, .color = 1, .dashed = 1},
    };
    taml_svg_plot p = {.title = "accuracy-top10: \"sst\"", .xlabel = "trials",
                       .ylabel = "accuracy", .ymin = 0.5, .ymax = 1, .y_percent = 1};
    taml_svg_buf b;
    taml_svg_buf_init(&b);
    taml_err err;
    CHECK_EQ_INT(taml_svg_lines(&b, &p, s, 2, &err), 0);
    CHECK_XML(b.data, 0);
    CHECK(!strncmp(b.data, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
    CHECK_EQ_INT(count_of(b.data, "class=\"series\""), 2);
    CHECK_EQ_INT(count_of(b.data, "class=\"band\""), 1);
    CHECK_EQ_INT(count_of(b.data, "stroke-dasharray"), 2); /* dashed line + its legend swatch */
    CHECK_CONTAINS(b.data, ">T-AML &lt;valid&gt; &amp; co</text>");
    CHECK_CONTAINS(b.data, ">RS &#39;test&#39;</text>");
    CHECK_CONTAINS(b.data, "accuracy-top10: &quot;sst&quot;");
    CHECK(!strstr(b.data, "<valid>"));
    /* y from 50% to 100% in steps of 10%, x ticks at whole trials. */
    CHECK_CONTAINS(b.data, ">50%</text>");
    CHECK_CONTAINS(b.data, ">100%</text>");
    CHECK_CONTAINS(b.data, ">trials</text>");
    /* The NaN at trial 3 breaks the first line into two sub-paths: one "M"
     * for a run plus one for the second run, in the series path. */
    const char *first = strstr(b.data, "class=\"series\"");
    const char *d = strstr(first, " d=\"");
    const char *end = strchr(d + 4, '"');
    size_t moves = 0;
    for (const char *q = d + 4; q < end; q++) moves += *q == 'M';
    CHECK_EQ_INT(moves, 2);
    CHECK(!strstr(b.data, "nan") && !strstr(b.data, "inf"));
    taml_svg_buf_deinit(&b);
}

/* Accuracies (unit_interval): a band wider than the value (2 s.e.m. of few
 * trials) stops at 0% and 100% instead of stretching the axis to -20%. */
TEST(svg_lines_clip_bands_and_the_range_to_the_unit_interval)
{
    double y[4] = {0.1, 0.3, 0.9, 0.95}, band[4] = {0.3, 0.2, 0.2, 0.1};
    taml_svg_series s = {.name = "rs", .y = y, .band = band, .n = 4};
    for (int unit = 0; unit < 2; unit++) {
        taml_svg_plot p = {.title = "t", .ymin = NAN, .ymax = NAN, .y_percent = 1,
                           .unit_interval = unit};
        taml_svg_buf b;
        taml_svg_buf_init(&b);
        CHECK_EQ_INT(taml_svg_lines(&b, &p, &s, 1, NULL), 0);
        CHECK_XML(b.data, 0);
        if (unit) {
            CHECK(!strstr(b.data, ">-")); /* no negative tick label */
            CHECK(!strstr(b.data, ">120%<"));
            CHECK_CONTAINS(b.data, ">0%</text>");
            CHECK_CONTAINS(b.data, ">100%</text>");
        } else {
            CHECK_CONTAINS(b.data, ">-"); /* without it the band reaches -20% */
        }
        taml_svg_buf_deinit(&b);
    }
}

TEST(svg_lines_writes_a_long_flat_curve_as_few_points)
{
    enum { N = 2000 };
    double *y = taml_malloc(N * sizeof *y);
    for (int i = 0; i < N; i++) y[i] = i < N / 2 ? 0.5 : 0.75; /* one step */
    taml_svg_series s = {.name = "step", .y = y, .n = N};
    taml_svg_plot p = {.title = "flat", .ymin = NAN, .ymax = NAN};
    taml_svg_buf b;
    taml_svg_buf_init(&b);
    CHECK_EQ_INT(taml_svg_lines(&b, &p, &s, 1, NULL), 0);
    const char *d = strstr(strstr(b.data, "class=\"series\""), " d=\"");
    const char *end = strchr(d + 4, '"');
    size_t lines = 0;
    for (const char *q = d + 4; q < end; q++) lines += *q == 'L';
    /* flat, rise, flat: a handful of points instead of 2000. */
    CHECK_MSG(lines >= 2 && lines <= 4, "%zu segments", lines);
    CHECK(b.len < 6000);
    taml_svg_buf_deinit(&b);
    free(y);
}

TEST(svg_lines_without_finite_points_says_no_data_and_null_y_is_refused)
{
    double y[2] = {NAN, NAN};
    taml_svg_series s = {.name = "failed", .y = y, .n = 2};
    taml_svg_plot p = {.title = "empty", .ymin = NAN, .ymax = NAN};
    taml_svg_buf b;
    taml_svg_buf_init(&b);
    CHECK_EQ_INT(taml_svg_lines(&b, &p, &s, 1, NULL), 0);
    CHECK_XML(b.data, 0);
    CHECK_CONTAINS(b.data, ">no data</text>");
    taml_svg_buf_deinit(&b);
    taml_err err;
    s.y = NULL;
    CHECK_EQ_INT(taml_svg_lines(&b, &p, &s, 1, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "series 0 (failed) has 2 points but no y");
    taml_svg_buf_deinit(&b);
}

TEST(svg_heatmap_colours_cells_labels_them_and_marks_nan)
{
    const double v[9] = {1, -1, NAN, -1, 1, 0, NAN, 0, 1};
    const char *labels[3] = {"sst", "a&b", "a very long task name that goes on and on"};
    taml_svg_buf b;
    taml_svg_buf_init(&b);
    taml_err err;
    CHECK_EQ_INT(taml_svg_heatmap(&b, "task similarity", labels, 3, v, -1, 1, &err), 0);
    CHECK_XML(b.data, 0);
    CHECK_EQ_INT(count_of(b.data, "</title></rect>"), 9);
    CHECK_EQ_INT(count_of(b.data, ": n/a</title>"), 2);
    CHECK_CONTAINS(b.data, "fill=\"#b40426\""); /* +1: the red end */
    CHECK_CONTAINS(b.data, "fill=\"#3b4cc0\""); /* -1: the blue end */
    CHECK_CONTAINS(b.data, "fill=\"#f2f2f2\""); /* 0: the middle */
    CHECK_CONTAINS(b.data, ">1.00</text>");
    CHECK_CONTAINS(b.data, ">-1.00</text>");
    CHECK_CONTAINS(b.data, "a&amp;b / sst: -1.000");
    /* The long name is cut to 24 characters with an ellipsis. */
    CHECK_CONTAINS(b.data, ">a very long task name t\xe2\x80\xa6</text>");
    /* The colour scale: ticks from -1 to 1. */
    CHECK_CONTAINS(b.data, "class=\"colour-scale\"");
    CHECK_CONTAINS(b.data, ">-0.5</text>");
    CHECK_CONTAINS(b.data, ">0.5</text>");
    taml_svg_buf_deinit(&b);
    CHECK_EQ_INT(taml_svg_heatmap(&b, "x", labels, 0, v, -1, 1, &err), TAML_EINVAL);
    CHECK_EQ_INT(taml_svg_heatmap(&b, "x", labels, 3, v, 1, 1, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "range [1, 1] is empty");
    taml_svg_buf_deinit(&b);
}

TEST(svg_stacked_piles_shares_and_refuses_unequal_series)
{
    double a[4] = {1, 0.5, NAN, 0.2}, c[4] = {0, 0.5, NAN, 0.8};
    taml_svg_series s[2] = {{.name = "glove", .y = a, .n = 4, .color = 0},
                            {.name = "fasttext", .y = c, .n = 4, .color = 1}};
    taml_svg_plot p = {.title = "embedding", .xlabel = "trial", .ylabel = "probability",
                       .ymin = NAN, .ymax = NAN};
    taml_svg_buf b;
    taml_svg_buf_init(&b);
    taml_err err;
    CHECK_EQ_INT(taml_svg_stacked(&b, &p, s, 2, &err), 0);
    CHECK_XML(b.data, 0);
    CHECK_EQ_INT(count_of(b.data, "class=\"share\""), 2);
    CHECK_CONTAINS(b.data, ">glove</title>");
    CHECK_CONTAINS(b.data, ">1.0</text>"); /* y axis 0..1 */
    CHECK(!strstr(b.data, "nan"));
    taml_svg_buf_deinit(&b);
    s[1].n = 3;
    CHECK_EQ_INT(taml_svg_stacked(&b, &p, s, 2, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "series 1 has 3 points, series 0 has 4");
    taml_svg_buf_deinit(&b);
}

TEST(svg_bars_draw_grouped_bars_error_bars_and_a_zero_line)
{
    const char *cats[3] = {"sst", "spam", "news"};
    double g1[3] = {0.02, -0.01, NAN}, e1[3] = {0.01, 0.005, 0.01};
    double g2[3] = {0.03, 0.01, 0.04};
    taml_svg_series s[2] = {{.name = "T-AML", .y = g1, .band = e1, .n = 3, .color = 0},
                            {.name = "RS", .y = g2, .n = 3, .color = 1}};
    taml_svg_plot p = {.title = "valid - test gap of the top 10", .ylabel = "gap",
                       .ymin = NAN, .ymax = NAN};
    taml_svg_buf b;
    taml_svg_buf_init(&b);
    taml_err err;
    CHECK_EQ_INT(taml_svg_bars(&b, &p, cats, 3, s, 2, &err), 0);
    CHECK_XML(b.data, 0);
    CHECK_EQ_INT(count_of(b.data, "class=\"bar\""), 5); /* the NaN bar is left out */
    CHECK_EQ_INT(count_of(b.data, "class=\"errbar\""), 2);
    CHECK_CONTAINS(b.data, "spam, T-AML: -0.01");
    CHECK_CONTAINS(b.data, ">news</text>");
    taml_svg_buf_deinit(&b);
    CHECK_EQ_INT(taml_svg_bars(&b, &p, cats, 0, s, 2, &err), TAML_EINVAL);
    s[1].n = 2;
    CHECK_EQ_INT(taml_svg_bars(&b, &p, cats, 3, s, 2, &err), TAML_EINVAL);
    CHECK_CONTAINS(err.msg, "bar series 1 has 2 values for 3 categories");
    taml_svg_buf_deinit(&b);
}

TEST(xml_check_catches_what_it_must)
{
    /* The checker itself must fail on broken input, or the tests above prove
     * nothing. */
    char m[256];
    CHECK(xml_check("<a><b></a></b>", 0, m, sizeof m) < 0);
    CHECK(xml_check("<a x=1></a>", 0, m, sizeof m) < 0);
    CHECK(xml_check("<a>&nope</a>", 0, m, sizeof m) < 0);
    CHECK(xml_check("<a>x < y</a>", 0, m, sizeof m) < 0);
    CHECK(xml_check("<a title=\"<\"></a>", 0, m, sizeof m) < 0);
    CHECK(xml_check("<a>", 0, m, sizeof m) < 0);
    CHECK(xml_check("<a>&amp;&#39;&#x2026;<b/></a>", 0, m, sizeof m) == 0);
    CHECK(xml_check("<p><meta charset=\"utf-8\"><style>a > b {}</style></p>", 1, m, sizeof m) == 0);
}
