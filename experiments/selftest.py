#!/usr/bin/python3
"""experiments/selftest.py - checks the experiment scripts on the small
fixture tasks of tests/fixtures (no fetched data, no network, seconds):

  - tasks.py splits and tokenises exactly as taml does (`taml data info`),
    also texts without tokens (the sentinel keeps lines aligned);
  - metrics.py gives the numbers `taml status --against` gives on real
    random and AML studies, and follows metrics.h's rules on hand-made cases;
  - run-study runs, skips a complete study, continues an incomplete one and
    tells with CHECK=1;
  - tpe.py (Optuna TPE and the Python random search) runs, resumes and scores
    trials-to-target against a taml random study, and stops at the target;
    with --pruner, Optuna's pruner stops trials at taml's rungs;
  - figures.py copies the chosen plots out of a taml report;
  - baselines.py (TF-IDF + LR; fastText too with TAML_EXP_FASTTEXT=1) on a fixture;
  - space.py writes the paper's space with the capped samples.

Run from the repository root (make test runs it through tests/test_experiments.c):
    /usr/bin/python3 experiments/selftest.py
Needs build/taml ($TAML_BIN), python3-sklearn and python3-optuna (scripts/setup extra).
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import metrics as M  # noqa: E402
import tasks as T  # noqa: E402
import tables  # noqa: E402
import tpe  # noqa: E402

TAML = os.environ.get("TAML_BIN", os.path.join(ROOT, "build", "taml"))
os.environ["TAML_BIN"] = os.path.abspath(TAML)
FIX = os.path.join(ROOT, "tests", "fixtures", "tasks")
TOPICS = os.path.join(FIX, "child-topics")
# A small space: the paper's decisions, cheap choices only, so a trial takes
# milliseconds; both towers can be disabled (invalid trials are covered).
SPACE = {"embedding": ["random-8", "random-16"], "fine_tune": [False, True], "layers": [1, 2],
         "hidden_size": [8, 16], "activation": ["relu", "swish"],
         "normalization": ["none", "layer_norm"], "dropout": [0.0, 0.1],
         "deep_lr": [0.03, 0.3], "deep_l2": [0, "disable"], "wide_lr": [0.03, 0.3],
         "wide_l1": [0, "disable"], "samples": [300, 1000]}


def run(cmd, env=None, check=True):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode,
                                                       p.stdout.decode(), p.stderr.decode()))
    return p


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="taml-exp-selftest-")
        cls.space = os.path.join(cls.tmp, "space.json")
        with open(cls.space, "w") as f:
            json.dump(SPACE, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def search(self, name, method, trials, seed=1, extra=()):
        path = os.path.join(self.tmp, name)
        run([TAML, "search", "--study", path, "--task", TOPICS, "--method", method, "--trials",
             str(trials), "--workers", "1", "--seed", str(seed), "--space", self.space] + list(extra))
        return path


class TestTasks(Base):
    def test_splits_and_tokens_match_taml_data_info(self):
        for name in ("film-mini", "child-topics", "udhr-mini"):
            d = os.path.join(FIX, name)
            info = json.loads(run([TAML, "data", "info", d, "--json"]).stdout)
            sp = T.tokenised_splits(d)
            self.assertEqual([len(sp[s]) for s in ("train", "valid", "test")],
                             [info["train"], info["valid"], info["test"]], name)
            toks = [tk for s in ("train", "valid", "test") for _, tk in sp[s]]
            self.assertEqual(sum(len(t) for t in toks), info["tokens"], name)
            self.assertEqual(len({w for t in toks for w in t}), info["dictionary"], name)
            self.assertEqual(len({l for s in sp.values() for l, _ in s}), info["classes"], name)

    def test_texts_without_tokens_keep_their_line(self):
        texts = ["Hello, World!", "", "!!! ...", "Don't STOP-me 3.14", "Ñandú Straße"]
        want = [["hello", "world"], [], [], ["don", "t", "stop", "me", "3", "14"], ["ñandú", "straße"]]
        self.assertEqual(T.tokenise(texts, TAML), want)
        self.assertEqual(T.tokenise(texts, "/nonexistent/taml"), want)  # the reference rule

    def test_bad_task_lines_are_refused(self):
        d = os.path.join(self.tmp, "notab")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "all.tsv"), "w") as f:
            f.write("a\tok\nno tab here\n" + "b\tx\n" * 10)
        with self.assertRaisesRegex(ValueError, "all.tsv:2: expected LABEL<TAB>TEXT"):
            T.load_splits(d)
        with self.assertRaisesRegex(ValueError, "not a text task"):
            T.load_splits(os.path.join(FIX, "u8-mini"))


class TestMetrics(Base):
    def test_rules_by_hand(self):
        nan = float("nan")
        # Ties go to the earlier trial; NaN (failed) spends a trial, is never ranked.
        valid = [0.5, 0.7, nan, 0.7, 0.6]
        test = [0.4, 0.1, nan, 0.9, 0.5]
        c = M.topn_curve(valid, test, top=2)
        self.assertEqual([p["count"] for p in c], [1, 2, 2, 2, 2])
        self.assertAlmostEqual(c[3]["valid"], 0.7)  # 0.7 (trial 2) and 0.7 (trial 4)
        self.assertAlmostEqual(c[3]["test"], 0.5)   # their tests 0.1 and 0.9
        self.assertAlmostEqual(c[4]["test"], 0.5)   # 0.6 does not displace either 0.7
        self.assertTrue(math.isnan(c[0]["valid_sem"]))
        self.assertEqual(M.trials_to_target(valid, 0.7, top=2), 4)
        self.assertEqual(M.trials_to_target(valid, 0.71, top=2), 0)
        self.assertAlmostEqual(M.target(valid, 2, top=2), 0.6)
        with self.assertRaisesRegex(ValueError, "fewer than the 2"):
            M.target(valid, 1, top=2)
        with self.assertRaisesRegex(ValueError, "fewer than the budget"):
            M.target(valid, 6, top=2)
        with self.assertRaisesRegex(ValueError, "outside"):
            M.topn_curve([1.5])
        # tables.py compares with taml status: a task with no accuracy is NaN
        # here and null there, and the two must agree.
        self.assertTrue(tables.close(float("nan"), None))
        self.assertFalse(tables.close(0.5, None))
        self.assertFalse(tables.close(0.5, 0.5 + 1e-9))

    def test_equal_taml_status_on_real_studies(self):
        rs = self.search("rs.db", "random", 24)
        aml = self.search("aml.db", "aml", 24, seed=2)
        rtr = tables.checked(rs)["child-topics"]   # fails itself if metrics.py != status
        atr = tables.checked(aml)["child-topics"]
        self.assertEqual(len(rtr[0]), 24)
        st = json.loads(run([TAML, "status", aml, "--against", rs, "--budget", "20", "--json"]).stdout)["tasks"][0]
        tgt = M.target(rtr[0], 20)
        self.assertEqual(tgt, st["target"])
        self.assertEqual(M.trials_to_target(rtr[0][:20], tgt) or None, st["random_trials_to_target"])
        self.assertEqual(M.trials_to_target(atr[0], tgt) or None, st.get("trials_to_target"))
        p = M.at_budget(atr[0], atr[1], 0)
        self.assertAlmostEqual(2 * p["test_sem"], st["top_test_2sem"], places=12)
        self.assertAlmostEqual(2 * p["valid_sem"], st["top_valid_2sem"], places=12)


class TestTables(Base):
    def test_similarity_is_read_from_the_report_and_set_against_winners(self):
        path = os.path.join(self.tmp, "mt.db")
        run([TAML, "search", "--study", path, "--task", TOPICS, "--task", os.path.join(FIX, "film-mini"),
             "--method", "multitask", "--trials", "8", "--workers", "1", "--seed", "1", "--space", self.space])
        rep = os.path.join(self.tmp, "mt.html")
        run([TAML, "report", path, "-o", rep])
        sim = tables.report_similarity(rep)
        self.assertEqual(set(sim), {(a, b) for a in ("child-topics", "film-mini") for b in ("child-topics", "film-mini")})
        self.assertEqual(sim[("child-topics", "child-topics")], 1.0)
        self.assertEqual(sim[("child-topics", "film-mini")], sim[("film-mini", "child-topics")])
        self.assertTrue(-1 <= sim[("child-topics", "film-mini")] <= 1)
        a = [{"x": 1, "y": "p"}, {"x": 2, "y": "p"}]
        self.assertEqual(tables.overlap(a, a, ["x", "y"]), 1.0)
        self.assertEqual(tables.overlap(a, [{"x": 3, "y": "q"}], ["x", "y"]), 0.0)
        self.assertEqual(tables.overlap(a, [{"x": 1, "y": "p"}], ["x", "y"]), 0.75)  # x: 1/2, y: 1
        self.assertEqual(tables.ranks([3, 1, 3, 2]), [2.5, 0.0, 2.5, 1.0])
        self.assertAlmostEqual(tables.pearson([1, 2, 3], [2, 4, 7]), 0.9933992677987827)

    def test_tables_from_studies_and_not_yet_run_sections(self):
        out = os.path.join(self.tmp, "out")
        os.makedirs(os.path.join(out, "pretrain"))
        rs = self.search("tab-rs.db", "random", 12)
        os.replace(rs, os.path.join(out, "pretrain", "random.db"))
        p = run([sys.executable, os.path.join(HERE, "tables.py"), "--out", out, "--pre-trials", "11",
                 "--t", "20", "--fixed", "10", "--pretrain", "child-topics", "--heldout", "x y",
                 "--data", FIX])
        text = p.stdout.decode()
        v, t, _ = tables.study_trials(os.path.join(out, "pretrain", "random.db"))["child-topics"]
        want = M.at_budget(v, t, 11)  # the first 11 of its 12 trials
        self.assertIn("| child-topics | 11 | %.1f ± %.1f (%.1f) | - | - |  |" % (
            100 * want["test"], 200 * want["test_sem"], 100 * want["valid"]), text)
        self.assertIn("Not run yet (`make -C experiments heldout`).", text)
        best = max(range(len(v)), key=lambda i: (v[i], -i))  # ties: the earlier trial
        self.assertIn("| child-topics | - | - | %.1f (valid %.1f; random.db) |" % (100 * t[best], 100 * v[best]),
                      text)  # no baseline results yet: only taml's best model
        with open(os.path.join(out, "tables.md")) as f:
            self.assertEqual(f.read() + "\n", text)  # the file is what was printed


class TestRunStudy(Base):
    def test_runs_skips_continues_and_checks(self):
        env = dict(os.environ, TAML=TAML, SPACE=self.space, WORKERS="2")
        rs = os.path.join(self.tmp, "steps", "r.db")
        script = os.path.join(HERE, "run-study")
        out = run([script, rs, "random", "3", "1", "-", TOPICS], env).stdout.decode()
        self.assertIn("3 trials", out)
        self.assertIn("skipped", run([script, rs, "random", "3", "1", "-", TOPICS], env).stdout.decode())
        p = run([script, rs, "random", "5", "1", "-", TOPICS], dict(env, CHECK="1"), check=False)
        self.assertEqual(p.returncode, 3)
        out = run([script, rs, "random", "5", "1", "-", TOPICS], env).stdout.decode()
        self.assertIn("5 trials", out)
        with open(rs + ".time") as f:
            self.assertEqual([l.split()[1] for l in f.read().splitlines()], ["3", "5"])
        p = run([script, rs, "random", "5", "1", "-", os.path.join(self.tmp, "nope")],
                dict(env, CHECK="1"), check=False)
        self.assertEqual(p.returncode, 0)  # complete: the task list is not looked at
        p = run([script, os.path.join(self.tmp, "steps", "x.db"), "random", "5", "1", "-",
                 os.path.join(self.tmp, "nope")], env, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no task directory", p.stderr.decode())


class TestTpe(Base):
    def test_tpe_runs_resumes_and_scores_against_a_taml_random_study(self):
        out = os.path.join(self.tmp, "t.jsonl")
        script = os.path.join(HERE, "tpe.py")
        run([sys.executable, script, "run", "--task", TOPICS, "--space", self.space, "--trials", "3", "--out", out])
        run([sys.executable, script, "run", "--task", TOPICS, "--space", self.space, "--trials", "5", "--out", out])
        trials = tpe.read_trials(out)
        self.assertEqual([t["trial"] for t in trials], list(range(1, 6)))
        for t in trials:
            self.assertEqual(set(t["config"]), set(SPACE))
            self.assertIn(t["state"], ("done", "diverged", "invalid"))
            self.assertTrue(0 <= t["valid_acc"] <= 1 and 0 <= t["test_acc"] <= 1)
        # A trial replays alone with taml train: same config and seed, same accuracy.
        t = trials[3]
        again = tpe.run_child(TAML, TOPICS, t["config"], t["seed"], os.environ)
        self.assertEqual(again["valid_acc"], t["valid_acc"])
        rs = self.search("rs-for-tpe.db", "random", 12)
        res = json.loads(run([sys.executable, script, "ttt", out, "--against-study", rs, "--json"]).stdout)
        st = json.loads(run([TAML, "status", rs, "--against", rs, "--json"]).stdout)["tasks"][0]
        self.assertEqual(res["target"], st["target"])
        v, _ = tpe.accs(trials)
        self.assertEqual(res["to_target"], M.trials_to_target(v, st["target"]) or None)
        p = run([sys.executable, script, "run", "--task", os.path.join(FIX, "film-mini"), "--space",
                 self.space, "--trials", "6", "--out", out], check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("holds tpe trials on child-topics", p.stderr.decode())

    def test_stop_at_target_stops_once_reached_and_past_the_minimum(self):
        script = os.path.join(HERE, "tpe.py")
        rs = self.search("rs-for-stop.db", "random", 12)
        st = json.loads(run([TAML, "status", rs, "--against", rs, "--budget", "10", "--json"]).stdout)["tasks"][0]
        out = os.path.join(self.tmp, "stop.jsonl")
        base = [sys.executable, script, "run", "--task", TOPICS, "--space", self.space, "--method",
                "random-py", "--out", out, "--stop-at-target", rs, "--budget", "10"]
        p = run(base + ["--trials", "40", "--min-trials", "11"])
        v, _ = tpe.accs(tpe.read_trials(out))
        n = M.trials_to_target(v, st["target"])
        if n:  # reached: stopped at the first count that both reached and ran 11
            self.assertEqual(len(v), max(n, 11))
            self.assertIn("reached", p.stderr.decode())
        else:  # never reached: ran the whole budget
            self.assertEqual(len(v), 40)
        # Resuming a search that already stopped runs nothing more.
        run(base + ["--trials", "40", "--min-trials", "11"])
        self.assertEqual(len(tpe.read_trials(out)), len(v))

    def test_tpe_with_a_pruner_stops_trials_at_taml_rungs_and_resumes(self):
        out = os.path.join(self.tmp, "pruned.jsonl")
        script = os.path.join(HERE, "tpe.py")
        args = [sys.executable, script, "run", "--task", TOPICS, "--space", self.space, "--out", out,
                "--pruner", "asha", "--prune-min", "300", "--prune-warmup", "1"]
        run(args + ["--trials", "8"])
        run(args + ["--trials", "12"])
        trials = tpe.read_trials(out)
        self.assertEqual([t["trial"] for t in trials], list(range(1, 13)))
        pruned = [t for t in trials if t["state"] == "pruned"]
        self.assertTrue(pruned)
        for t in trials:
            self.assertEqual(t["pruner"], "asha")
            want = len([r for r in (300, 900) if r < t["config"]["samples"]])  # taml's rungs
            if t["state"] == "pruned":
                self.assertIsNone(t["valid_acc"])
                self.assertLessEqual(len(t["rungs"]), want)
                self.assertEqual(t["rungs"][0][0], 300)
            elif t["state"] == "done":  # an invalid one trains nothing, a diverged one may stop
                self.assertEqual(len(t["rungs"]), want)
        # a rung's value is what taml train --rungs prints: the accuracy after 300 samples
        t = pruned[0]
        short = dict(t["config"], samples=300)
        self.assertEqual(tpe.run_child(TAML, TOPICS, short, t["seed"], os.environ)["valid_acc"], t["rungs"][0][1])
        p = run([sys.executable, script, "run", "--task", TOPICS, "--space", self.space, "--out", out,
                 "--trials", "13"], check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("holds trials with pruner asha, not none", p.stderr.decode())

    def test_python_random_search_resumes_as_if_never_stopped(self):
        script = os.path.join(HERE, "tpe.py")
        a, b = os.path.join(self.tmp, "a.jsonl"), os.path.join(self.tmp, "b.jsonl")
        base = [sys.executable, script, "run", "--task", TOPICS, "--space", self.space, "--method", "random-py"]
        run(base + ["--trials", "4", "--out", a])
        run(base + ["--trials", "2", "--out", b])
        with open(b, "a") as f:
            f.write('{"trial": 3, "method": "rand')  # a line torn by a kill
        run(base + ["--trials", "4", "--out", b])
        strip = lambda ts: [(t["config"], t["seed"], t["valid_acc"]) for t in ts]  # noqa: E731
        self.assertEqual(strip(tpe.read_trials(a)), strip(tpe.read_trials(b)))


class TestFigures(Base):
    def test_plots_are_copied_out_of_a_taml_report(self):
        rs = self.search("fig-rs.db", "random", 12)
        aml = self.search("fig-aml.db", "aml", 12)
        html_path = os.path.join(self.tmp, "fig.html")
        run([TAML, "report", rs, aml, "-o", html_path])
        script = os.path.join(HERE, "figures.py")
        outdir = os.path.join(self.tmp, "figs")
        p = run([sys.executable, script, html_path, outdir, "--prefix", "t", "--match", "validation accuracy-top10"])
        files = p.stdout.decode().split()
        self.assertEqual(files, [os.path.join(outdir, "t-child-topics-validation-accuracy-top10.svg")])
        p = run([sys.executable, script, html_path, outdir, "--prefix", "t", "--match", "embedding",
                 "--study", "aml", "--kind", "probabilities"])
        files = p.stdout.decode().split()
        self.assertEqual(files, [os.path.join(outdir, "t-child-topics-aml-probabilities-embedding.svg")])
        with open(files[0], encoding="utf-8") as f:
            svg = f.read()
        self.assertTrue(svg.startswith("<svg ") and svg.rstrip().endswith("</svg>"))
        with open(html_path, encoding="utf-8") as f:
            self.assertIn(svg.rstrip(), f.read())  # copied byte for byte
        p = run([sys.executable, script, html_path, outdir, "--prefix", "t", "--match", "no such plot"], check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no plot matches", p.stderr.decode())


class TestBaselines(Base):
    def test_tfidf_and_fasttext_on_a_fixture(self):
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        os.symlink(TOPICS, os.path.join(data, "child-topics"))
        out = os.path.join(self.tmp, "bl")
        cmd = [sys.executable, os.path.join(HERE, "baselines.py"), "--out", out, "--data", data,
               "--ft-duration", "1", "child-topics"]
        # fastText's autotune is budgeted in wall time and may pick models of
        # hundreds of MB: too heavy for every `make test` on a shared machine.
        # TAML_EXP_FASTTEXT=1 includes it (the real runs exercise it anyway).
        with_ft = os.environ.get("TAML_EXP_FASTTEXT") == "1" and shutil.which("fasttext")
        if not with_ft:
            cmd[2:2] = ["--only", "tfidf"]
        text = run(cmd).stdout.decode()
        with open(os.path.join(out, "baselines", "child-topics.tfidf.json")) as f:
            r = json.load(f)
        self.assertEqual((r["n_train"], r["n_valid"], r["n_test"], r["classes"]), (480, 60, 60, 4))
        self.assertIn(r["settings"]["C"], [0.01, 0.1, 1.0, 10.0, 100.0])
        self.assertEqual(r["valid_acc"], max(r["settings"]["valid_by_C"].values()))
        self.assertGreater(r["test_acc"], r["test_majority"])  # the fixture's topics are learnable
        self.assertIn("| child-topics | 4 | 480 / 60 / 60 |", text)
        if with_ft:
            with open(os.path.join(out, "baselines", "child-topics.fasttext.json")) as f:
                ft = json.load(f)
            self.assertTrue(0 <= ft["test_acc"] <= 1)
        self.assertIn("skipped", run(cmd).stdout.decode())  # resumable: done is done


class TestSpace(Base):
    def test_paper_space_with_capped_samples_is_accepted_by_taml(self):
        out = os.path.join(self.tmp, "paper.json")
        run([sys.executable, os.path.join(HERE, "space.py"), "--module", "random-8", "-o", out])
        with open(out) as f:
            s = json.load(f)
        self.assertEqual(list(s), ["embedding", "fine_tune", "layers", "hidden_size", "activation",
                                   "normalization", "dropout", "deep_lr", "deep_l2", "wide_lr",
                                   "wide_l1", "samples"])
        self.assertEqual(s["samples"], [1000, 3000, 10000, 30000, 100000])
        self.assertEqual(len(s["dropout"]) * len(s["deep_l2"]) * len(s["deep_lr"]), 9 * 7 * 8)
        run([sys.executable, os.path.join(HERE, "space.py"), "--module", "random-8", "--paper-samples", "-o", out])
        with open(out) as f:
            self.assertEqual(json.load(f)["samples"][-1], 1000000)
        p = run([sys.executable, os.path.join(HERE, "space.py"), "--modules", self.tmp, "-o", out], check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no modules", p.stderr.decode())


if __name__ == "__main__":
    unittest.main(verbosity=1)
