/* tests/test_report.c - `taml report`: the HTML of a small study built here
 * (content, well-formedness, self-containedness), the command, and a render
 * in headless Chromium whose screenshot is decoded and checked for the
 * plots' colours (skipped, saying so, when chromium is not installed). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <zlib.h>

#include "core/util.h"
#include "ctrl/bundle.h"
#include "ctrl/controller.h"
#include "space/space.h"
#include "report/policy.h"
#include "report/report.h"
#include "report/status.h"
#include "report/svg.h"
#include "study_fixture.h"
#include "test.h"
#include "testutil.h"
#include "xml_check.h"

/* The report of the fixture (rs.db, aml.db with a checkpoint), as a heap
 * string; its path in *path_out when not NULL. */
static char *fixture_report(char **html_path)
{
    char *rp, *ap;
    make_fixture(&rp, &ap, 1);
    taml_report_study *s[2];
    taml_err err;
    CHECK_EQ_INT(taml_report_study_load(&s[0], ap, &err), 0);
    CHECK_EQ_INT(taml_report_study_load(&s[1], rp, &err), 0);
    char *html;
    taml_report_opts o = {.title = "fixture <report>", .window = 4, .best = 3};
    CHECK_MSG(taml_report_html(s, 2, &o, &html, &err) == 0, "%s", err.msg);
    taml_report_study_free(s[0]);
    taml_report_study_free(s[1]);
    if (html_path) {
        *html_path = taml_path_join(taml_test_tmpdir(), "report.html");
        CHECK(taml_write_file_atomic(*html_path, html, strlen(html), NULL) == 0);
    }
    free(rp);
    free(ap);
    return html;
}

TEST(report_html_is_self_contained_well_formed_and_has_every_figure)
{
    char *html = fixture_report(NULL);
    char m[256];
    CHECK_MSG(xml_check(html, 1, m, sizeof m) == 0, "not well formed: %s", m);
    CHECK(!strncmp(html, "<!DOCTYPE html>", 15));
    /* Nothing to fetch: no scripts, links, images or remote URLs. */
    CHECK(!strstr(html, "<script"));
    CHECK(!strstr(html, "<link"));
    CHECK(!strstr(html, "<img"));
    CHECK(!strstr(html, "src="));
    CHECK(!strstr(html, "href=\"http"));
    CHECK(!strstr(html, "url("));
    /* The title and the task name with markup in it are escaped. */
    CHECK_CONTAINS(html, "<title>fixture &lt;report&gt;</title>");
    CHECK_CONTAINS(html, "Task gamma &amp; &lt;co&gt;</h2>");
    CHECK(!strstr(html, "<co>"));
    /* Plots: the gap bars (1), two curves per task (3 tasks: 6), the choices
     * of aml's alpha and beta (2 decisions each: 4; gamma has no trial),
     * and aml's task similarity (1). */
    CHECK_EQ_INT(count_of(html, "<svg "), 12);
    CHECK_EQ_INT(count_of(html, "class=\"share\""), 4 * 2 + 0 + 0 + 2 * 1 + 0);
    /* Table 2: random search's target for alpha is 66.50, aml reaches it at
     * trial 12 and random search at its 12th. */
    CHECK_CONTAINS(html, "<td class=\"num\">66.50</td><td class=\"num\">12</td>");
    CHECK_CONTAINS(html, "<td class=\"num\">66.60 &#177; 1.20</td>");
    CHECK_CONTAINS(html, "fewer than the 10 a top-10 target needs");
    /* The best configuration of aml's alpha, first in its table. */
    CHECK_CONTAINS(html, "<td class=\"num\">12</td><td>done</td><td class=\"num\">72.00</td>"
                         "<td class=\"num\">70.00</td><td class=\"cfg\">layers=3 "
                         "activation=swish</td>");
    /* Figure 5 from the actions, labelled with the space's choices. */
    CHECK_CONTAINS(html, "moving window of 4 trials");
    CHECK_CONTAINS(html, ">swish</text>");
    /* The checkpoint's policy through the controller. */
    CHECK_CONTAINS(html, "policy of the last checkpoint (after update 14)");
    /* Figure 6: alpha . beta = -1, alpha . gamma = 0. */
    CHECK_CONTAINS(html, "alpha / beta: -1.000");
    CHECK_CONTAINS(html, "alpha / gamma &amp; &lt;co&gt;: 0.000");
    CHECK_CONTAINS(html, "beta / beta: 1.000");
    CHECK_CONTAINS(html, "random search has no controller");
    CHECK(!strstr(html, "nan") && !strstr(html, "inf\""));
    free(html);
}

TEST(report_refuses_no_study_and_notes_an_unreadable_checkpoint)
{
    char *html;
    taml_err err;
    CHECK_EQ_INT(taml_report_html(NULL, 0, NULL, &html, &err), TAML_EINVAL);
    CHECK(html == NULL);
    char *rp, *ap;
    make_fixture(&rp, &ap, 0);
    taml_report_study *s;
    CHECK_EQ_INT(taml_report_study_load(&s, ap, &err), 0);
    /* A checkpoint that is not one: the curves still come, with a note. */
    s->ckpt = taml_strdup("garbage");
    s->ckpt_size = 7;
    CHECK_EQ_INT(taml_report_html(&s, 1, NULL, &html, &err), 0);
    CHECK_CONTAINS(html, "the last controller checkpoint could not be read");
    CHECK_CONTAINS(html, "No random-search study was given");
    CHECK_EQ_INT(count_of(html, "<svg "), 1 + 6 + 4);
    free(html);
    taml_report_study_free(s);
    free(rp);
    free(ap);
}

/* An aml checkpoint as the search writes it: a controller bundle
 * (ctrl/bundle.h) of one single-task controller per task. cut > 0 drops
 * that many bytes from the end. */
static void *aml_bundle(size_t *size, size_t cut)
{
    static const char *names[2] = {"alpha", "beta"};
    taml_space *sp;
    CHECK(taml_space_from_json(&sp, "{\"layers\":[1,2,3],\"activation\":[\"relu\",\"swish\"]}",
                               "t", NULL) == 0);
    taml_ctrl *c[2];
    for (int k = 0; k < 2; k++) {
        taml_ctrl_opts o;
        taml_ctrl_opts_default(&o);
        o.seed = (uint64_t)k + 1;
        CHECK(taml_ctrl_new(&c[k], sp, &o, NULL) == 0);
        CHECK(taml_ctrl_add_task(c[k], names[k], NULL) == 0);
    }
    void *b;
    size_t n;
    taml_ctrl_bundle_save(c, 2, &b, &n);
    for (int k = 0; k < 2; k++) taml_ctrl_free(c[k]);
    taml_space_free(sp);
    *size = n - cut;
    return b;
}

TEST(report_reads_aml_checkpoints_one_controller_per_task)
{
    char *rp, *ap, *html;
    make_fixture(&rp, &ap, 0);
    taml_report_study *s;
    taml_err err;
    CHECK_EQ_INT(taml_report_study_load(&s, ap, &err), 0);
    s->ckpt = aml_bundle(&s->ckpt_size, 0);
    CHECK_EQ_INT(taml_report_html(&s, 1, NULL, &html, &err), 0);
    /* Each task with a controller gets its policy; no similarity map, as the
     * embeddings of separate controllers are not comparable. */
    CHECK_EQ_INT(count_of(html, "policy of the last checkpoint"), 2);
    CHECK_CONTAINS(html, "single-task AML trains one controller per task");
    CHECK(!strstr(html, "colour-scale"));
    free(html);
    free(s->ckpt);
    s->ckpt = aml_bundle(&s->ckpt_size, 5);
    CHECK_EQ_INT(taml_report_html(&s, 1, NULL, &html, &err), 0);
    CHECK_CONTAINS(html, "the last controller checkpoint could not be read");
    CHECK_EQ_INT(count_of(html, "policy of the last checkpoint"), 0);
    free(html);
    taml_report_study_free(s);
    free(rp);
    free(ap);
}

/* Runs a shell command line; returns its exit status. */
static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(report_command_writes_the_file_and_fails_clearly)
{
    const char *bin = getenv("TAML_BIN");
    CHECK_MSG(bin && *bin, "TAML_BIN is not set (run the tests with `make test`)");
    char *rp, *ap;
    make_fixture(&rp, &ap, 1);
    const char *dir = taml_test_tmpdir();
    char *cmd = taml_asprintf("%s report '%s' '%s' -o '%s/r.html' >'%s/out' 2>&1", bin, rp, ap,
                              dir, dir);
    CHECK_EQ_INT(sh(cmd), 0);
    free(cmd);
    char *path = taml_path_join(dir, "r.html"), *html;
    CHECK(taml_read_file(path, &html, NULL, NULL) == 0);
    CHECK_CONTAINS(html, "Trials to reach random search");
    free(html);
    free(path);
    cmd = taml_asprintf("%s report '%s/none.db' -o '%s/x.html' 2>'%s/err'", bin, dir, dir, dir);
    CHECK_EQ_INT(sh(cmd), 1);
    free(cmd);
    path = taml_path_join(dir, "err");
    char *msg;
    CHECK(taml_read_file(path, &msg, NULL, NULL) == 0);
    CHECK_CONTAINS(msg, "none.db");
    free(msg);
    free(path);
    cmd = taml_asprintf("%s report '%s' --window 0 2>/dev/null", bin, ap);
    CHECK_EQ_INT(sh(cmd), 2);
    free(cmd);
    cmd = taml_asprintf("%s report 2>/dev/null", bin);
    CHECK_EQ_INT(sh(cmd), 2);
    free(cmd);
    free(rp);
    free(ap);
}

/* ---- the render in headless Chromium ------------------------------------ */

/* A decoded 8-bit RGB or RGBA PNG (what Chromium's screenshots are). */
typedef struct image {
    uint32_t w, h, channels;
    unsigned char *px; /* (h, w, channels) */
} image;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decodes a non-interlaced 8-bit RGB/RGBA PNG; 0 on success. */
static int png_decode(const unsigned char *d, size_t n, image *im)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10};
    if (n < 8 || memcmp(d, sig, 8)) return -1;
    unsigned char *z = NULL;
    size_t zn = 0, pos = 8;
    int ok = 0;
    memset(im, 0, sizeof *im);
    while (pos + 12 <= n) {
        uint32_t len = be32(d + pos);
        const unsigned char *type = d + pos + 4, *body = d + pos + 8;
        if (pos + 12 + len > n) break;
        if (!memcmp(type, "IHDR", 4)) {
            im->w = be32(body);
            im->h = be32(body + 4);
            if (body[8] != 8 || (body[9] != 2 && body[9] != 6) || body[12] != 0) break;
            im->channels = body[9] == 6 ? 4 : 3;
        } else if (!memcmp(type, "IDAT", 4)) {
            z = taml_realloc(z, zn + len);
            memcpy(z + zn, body, len);
            zn += len;
        } else if (!memcmp(type, "IEND", 4)) {
            ok = 1;
            break;
        }
        pos += 12 + len;
    }
    if (!ok || !im->channels || !z) {
        free(z);
        return -1;
    }
    size_t stride = (size_t)im->w * im->channels;
    uLongf rawn = (uLongf)((stride + 1) * im->h);
    unsigned char *raw = taml_malloc(rawn);
    int zr = uncompress(raw, &rawn, z, (uLong)zn);
    free(z);
    if (zr != Z_OK || rawn != (stride + 1) * im->h) {
        free(raw);
        return -1;
    }
    im->px = taml_malloc(stride * im->h);
    size_t bpp = im->channels;
    for (uint32_t y = 0; y < im->h; y++) {
        unsigned char f = raw[y * (stride + 1)];
        const unsigned char *in = raw + y * (stride + 1) + 1;
        unsigned char *out = im->px + y * stride, *up = y ? out - stride : NULL;
        for (size_t x = 0; x < stride; x++) {
            int a = x >= bpp ? out[x - bpp] : 0, b = up ? up[x] : 0;
            int c = up && x >= bpp ? up[x - bpp] : 0;
            int v = in[x];
            switch (f) {
            case 0: break;
            case 1: v += a; break;
            case 2: v += b; break;
            case 3: v += (a + b) / 2; break;
            case 4: v += paeth(a, b, c); break;
            default: free(raw); return -1;
            }
            out[x] = (unsigned char)v;
        }
    }
    free(raw);
    return 0;
}

/* Pixels within +-tol of the colour "#rrggbb". */
static size_t pixels_of(const image *im, const char *hex, int tol)
{
    unsigned r, g, b;
    sscanf(hex + 1, "%02x%02x%02x", &r, &g, &b);
    size_t n = 0;
    for (size_t i = 0; i < (size_t)im->w * im->h; i++) {
        const unsigned char *p = im->px + i * im->channels;
        n += abs(p[0] - (int)r) <= tol && abs(p[1] - (int)g) <= tol && abs(p[2] - (int)b) <= tol;
    }
    return n;
}

TEST(report_renders_in_headless_chromium_with_its_plots_visible)
{
    if (sh("command -v chromium >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP report_renders_in_headless_chromium: chromium is not installed "
                        "(scripts/setup extra installs it); the HTML checks above still ran\n");
        return;
    }
    char *html_path;
    char *html = fixture_report(&html_path);
    free(html);
    const char *dir = taml_test_tmpdir();
    char *png = taml_path_join(dir, "shot.png");
    char *cmd = taml_asprintf(
        "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic "
        "--no-first-run --disable-background-networking --disable-component-update "
        "--disable-sync --hide-scrollbars --user-data-dir='%s/profile' --window-size=1280,3600 "
        "--screenshot='%s' 'file://%s' >'%s/chromium.log' 2>&1",
        dir, png, html_path, dir);
    int st = sh(cmd);
    free(cmd);
    CHECK_MSG(st == 0, "chromium exited with %d (log in %s/chromium.log)", st, dir);
    char *data;
    size_t n;
    CHECK(taml_read_file(png, &data, &n, NULL) == 0);
    /* Keep a copy for a look by eye (build/ is git-ignored). */
    taml_write_file_atomic("build/report-test.png", data, n, NULL);
    image im;
    CHECK_MSG(png_decode((const unsigned char *)data, n, &im) == 0, "not a PNG Chromium writes");
    free(data);
    CHECK_EQ_INT(im.w, 1280);
    CHECK_EQ_INT(im.h, 3600);
    /* The plots were drawn: the first study's colour (curves, bars,
     * swatches), the second's, and the heat map's two ends (cosine 1 and -1
     * cells, 56 px squares). A page that failed to render, or an SVG the
     * browser refused, has none of them. */
    size_t c0 = pixels_of(&im, taml_svg_color(0), 6), c1 = pixels_of(&im, taml_svg_color(1), 6);
    size_t red = pixels_of(&im, "#b40426", 4), blue = pixels_of(&im, "#3b4cc0", 4);
    CHECK_MSG(c0 > 2000, "%zu pixels of the first study's colour", c0);
    CHECK_MSG(c1 > 1000, "%zu pixels of the second study's colour", c1);
    CHECK_MSG(red > 4 * 40 * 40, "%zu pixels of the similarity +1 colour", red);
    CHECK_MSG(blue > 2 * 40 * 40, "%zu pixels of the similarity -1 colour", blue);
    free(im.px);
    free(png);
    free(html_path);
}

/* ---- the policy replayed over updates ----------------------------------- */

/* Runs a small `taml search` with the fake child (taml-fake, TAML_FAKE_CHILD)
 * into dir/name; returns its exit status. */
static int fake_search(const char *dir, const char *name, const char *method)
{
    const char *bin = taml_test_fake_bin();
    char *space = taml_path_join(dir, "space.json");
    const char *text = "{\"embedding\":[\"m1\",\"m2\"],\"layers\":[1,2,3],"
                       "\"activation\":[\"relu\",\"swish\"],\"wide_l1\":[0,0.01,\"disable\"]}";
    CHECK(taml_write_file_atomic(space, text, strlen(text), NULL) == 0);
    char *ta = taml_path_join(dir, "task-a"), *tb = taml_path_join(dir, "task-b");
    CHECK(taml_mkdirs(ta, NULL) == 0 && taml_mkdirs(tb, NULL) == 0);
    char *cmd = taml_asprintf("TAML_FAKE_CHILD=0 %s search --study '%s/%s' --task '%s' --task "
                              "'%s' --method %s --trials 40 --workers 1 --seed 5 --space '%s' "
                              "--deterministic >/dev/null 2>&1",
                              bin, dir, name, ta, tb, method, space);
    int st = sh(cmd);
    free(cmd);
    free(space);
    free(ta);
    free(tb);
    return st;
}

/* The replay's last point equals the newest checkpoint's policy bit for
 * bit, for each task: the report rebuilds exactly the controller the
 * search had. */
static void check_replay_matches_last(const char *path)
{
    taml_report_study *s;
    taml_err err;
    CHECK_EQ_INT(taml_report_study_load(&s, path, &err), 0);
    CHECK(s->first && s->ckpt);
    taml_space *sp;
    CHECK_EQ_INT(taml_space_from_json(&sp, s->space_json, "study", &err), 0);
    taml_report_policy *pc;
    char *note;
    CHECK_EQ_INT(taml_report_policy_replay(s, sp, 7, &pc, &note, &err), 0);
    CHECK_MSG(pc, "no replay: %s", note ? note : "?");
    taml_report_ctrls last;
    CHECK_EQ_INT(taml_report_ctrls_load(&last, sp, s->ckpt, s->ckpt_size, "last", &err), 0);
    size_t total = (size_t)taml_space_total_choices(sp);
    double *want = taml_malloc(total * sizeof *want);
    for (size_t k = 0; k < s->n_tasks; k++) {
        const taml_report_policy *p = &pc[k];
        size_t applied = 0;
        for (size_t i = 0; i < s->tasks[k].n; i++) applied += s->tasks[k].seq[i] > 0;
        CHECK(applied > 10);
        /* At most 7 points, from 0 to every reward applied. */
        CHECK(p->n >= 2 && p->n <= 7);
        CHECK_NEAR(p->x[0], 0, 0);
        CHECK_NEAR(p->x[p->n - 1], (double)applied, 0);
        int tid;
        taml_ctrl *c = taml_report_ctrls_find(&last, s, k, &tid);
        CHECK(c);
        taml_ctrl_probabilities(c, tid, NULL, NULL, want);
        CHECK(!memcmp(want, p->p + (p->n - 1) * total, total * sizeof *want));
        /* The policy moved: the first point differs from the last. */
        CHECK(memcmp(p->p, p->p + (p->n - 1) * total, total * sizeof *want) != 0);
        /* Each decision's probabilities sum to 1 at every point. */
        for (size_t j = 0; j < p->n; j++)
            for (int d = 0; d < taml_space_decisions(sp); d++) {
                double sum = 0;
                for (int ch = 0; ch < taml_space_choices(sp, d); ch++)
                    sum += p->p[j * total + (size_t)(taml_space_offset(sp, d) + ch)];
                CHECK_NEAR(sum, 1, 1e-9);
            }
    }
    free(want);
    taml_report_ctrls_deinit(&last);
    taml_report_policy_free(pc, s->n_tasks);
    taml_space_free(sp);
    taml_report_study_free(s);
}

TEST(report_policy_replay_ends_at_the_newest_checkpoint_multitask_and_aml)
{
    const char *dir = taml_test_tmpdir();
    CHECK_EQ_INT(fake_search(dir, "mt.db", "multitask"), 0);
    CHECK_EQ_INT(fake_search(dir, "aml.db", "aml"), 0);
    char *mt = taml_path_join(dir, "mt.db"), *aml = taml_path_join(dir, "aml.db");
    check_replay_matches_last(mt);
    check_replay_matches_last(aml);
    /* The report draws it: one stacked plot per decision and task. */
    taml_report_study *s;
    taml_err err;
    CHECK_EQ_INT(taml_report_study_load(&s, mt, &err), 0);
    char *html;
    CHECK_EQ_INT(taml_report_html(&s, 1, NULL, &html, &err), 0);
    CHECK_EQ_INT(count_of(html, "the controller's probabilities over trials"), 2);
    CHECK_CONTAINS(html, ">rewards applied</text>");
    char m[256];
    CHECK_MSG(xml_check(html, 1, m, sizeof m) == 0, "not well formed: %s", m);
    free(html);
    taml_report_study_free(s);
    free(mt);
    free(aml);
}

/* Every usage rule of `taml report`, one case each (exit 2, the usage shown). */
TEST(report_cli_usage_errors_name_themselves_and_exit_2)
{
    static const taml_test_usage_case cases[] = {
        {"report", "taml report: STUDY is required"},
        {"report -o r.html", "taml report: STUDY is required"},
        {"report a.db --window 0", "--window: 0 is not a whole number in 1..1000000"},
        {"report a.db --window 1000001", "--window: 1000001 is not a whole number in 1..1000000"},
        {"report a.db --best 0", "--best: 0 is not a whole number in 1..1000000"},
        {"report a.db --best five", "--best: five is not a whole number in 1..1000000"},
        {"report a.db --title", "taml report: --title needs a value"},
        {"report a.db -o", "taml report: -o needs a value"},
        {"report a.db --colour", "taml report: unknown option '--colour'"},
    };
    taml_test_cli_usage_errors(cases, sizeof cases / sizeof cases[0]);
    taml_test_cli_says("report --help 2>/dev/null", 0, "usage: taml report STUDY...");
}
